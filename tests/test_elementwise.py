"""Elementwise ops with numpy broadcasting, checked against numpy over randomized shapes
(broadcasting, 0-d, size-1 and empty dims, non-contiguous inputs), Python operators and in-place
ops with the version counter."""
import numpy as np
import pytest

import ember
from conftest import check, make, to_np

SHAPE_PAIRS = [
    ((), ()),
    ((), (3,)),
    ((4,), ()),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (3, 1)),
    ((1,), (5,)),
    ((2, 1, 4), (2, 3, 1)),
    ((0,), (1,)),
    ((2, 0, 3), (3,)),
    ((5, 1, 1), (1, 6, 7)),
    ((1, 1), ()),
]


def _random_shape_pairs(rng, n=12):
    """Random broadcast-compatible shape pairs (up to 4 dims, sizes 0..4, some 1s)."""
    out = []
    for _ in range(n):
        nd = rng.integers(0, 5)
        full = [int(s) for s in rng.integers(0, 5, nd)]
        a = [s if rng.random() < 0.7 else 1 for s in full]
        b = [s if rng.random() < 0.7 else 1 for s in full]
        a = a[rng.integers(0, len(a) + 1):] if rng.random() < 0.3 else a
        out.append((tuple(a), tuple(b)))
    return out


ALL_PAIRS = SHAPE_PAIRS + _random_shape_pairs(np.random.default_rng(7))


def _data(rng, shape, dtype, positive=False):
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype == np.int64:
        v = rng.integers(-5, 6, shape)
        return np.abs(v) + 1 if positive else v
    v = rng.standard_normal(shape).astype(dtype)
    return (np.abs(v) + 0.5).astype(dtype) if positive else v


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.true_divide),
    "maximum": (ember.maximum, np.maximum),
    "minimum": (ember.minimum, np.minimum),
    "pow": (lambda a, b: a ** b, np.power),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("pair", range(len(ALL_PAIRS)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_matches_numpy(name, pair, dtype, rng):
    sa, sb = ALL_PAIRS[pair]
    efn, nfn = BINARY[name]
    a = _data(rng, sa, dtype, positive=name == "pow")
    b = _data(rng, sb, dtype, positive=name == "div")
    if name == "pow":
        b = rng.uniform(-2, 2, sb).astype(dtype)
    for nc_a, nc_b in [(False, False), (True, False), (False, True)]:
        out = efn(make(a, nc_a), make(b, nc_b))
        check(out, nfn(a, b), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
        assert out.dtype == ember.tensor(np.zeros(1, dtype)).dtype


@pytest.mark.parametrize("name", ["add", "sub", "mul", "maximum", "minimum"])
def test_binary_int64(name, rng):
    efn, nfn = BINARY[name]
    a, b = _data(rng, (3, 4), np.int64), _data(rng, (4,), np.int64)
    check(efn(ember.tensor(a), ember.tensor(b)), nfn(a, b), dtype=ember.int64)


def test_int_pow_and_div():
    a = ember.tensor([2, -3, 0, 1])
    check(a ** 3, [8, -27, 0, 1], dtype=ember.int64)
    check(a ** ember.tensor([0, 2, 3, 5]), [1, 9, 0, 1], dtype=ember.int64)
    check(a / 2, [1.0, -1.5, 0.0, 0.5], dtype=ember.float32)
    with np.errstate(invalid="ignore"):
        check(a ** 0.5, np.array([2, -3, 0, 1]) ** 0.5, dtype=ember.float32)


UNARY = {
    "neg": (ember.neg, np.negative, False),
    "exp": (ember.exp, np.exp, False),
    "log": (ember.log, np.log, True),
    "sqrt": (ember.sqrt, np.sqrt, True),
    "abs": (ember.abs, np.abs, False),
    "sign": (ember.sign, np.sign, False),
    "sigmoid": (ember.sigmoid, lambda x: 1 / (1 + np.exp(-x)), False),
    "tanh": (ember.tanh, np.tanh, False),
    "relu": (ember.relu, lambda x: np.maximum(x, 0), False),
}


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", [(), (1,), (0,), (5,), (3, 4), (2, 0, 3), (2, 3, 4, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_matches_numpy(name, shape, dtype, rng):
    efn, nfn, positive = UNARY[name]
    a = _data(rng, shape, dtype, positive)
    for nc in (False, True):
        out = efn(make(a, nc))
        check(out, nfn(a), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
        assert out.dtype == getattr(ember, np.dtype(dtype).name)
    # method form
    check(getattr(make(a), name)(), nfn(a), rtol=1e-5, atol=1e-6)


def test_unary_on_ints():
    i = ember.tensor([-2, 0, 3])
    check(-i, [2, 0, -3], dtype=ember.int64)
    check(abs(i), [2, 0, 3], dtype=ember.int64)
    check(i.sign(), [-1, 0, 1], dtype=ember.int64)
    check(ember.exp(i), np.exp([-2.0, 0.0, 3.0]), dtype=ember.float32)  # ints promote to float32
    check(ember.sqrt(ember.tensor([4, 9])), [2.0, 3.0], dtype=ember.float32)


def test_special_values():
    x = ember.tensor([0.0, -1.0, np.inf, -np.inf, np.nan])
    with np.errstate(all="ignore"):
        e = np.array([0.0, -1.0, np.inf, -np.inf, np.nan], dtype=np.float32)
        for efn, nfn in [(ember.log, np.log), (ember.sqrt, np.sqrt), (ember.exp, np.exp), (ember.abs, np.abs),
                         (ember.tanh, np.tanh)]:
            check(efn(x), nfn(e))
    check(ember.sign(x), [0.0, -1.0, 1.0, -1.0, 0.0])  # sign(nan) = 0, as in torch
    check(ember.sigmoid(ember.tensor([-1e4, 1e4])), [0.0, 1.0])  # no overflow
    check(ember.maximum(ember.tensor([np.nan, 1.0]), ember.tensor([0.0, np.nan])), [np.nan, np.nan])
    check(ember.minimum(ember.tensor([np.nan, 1.0]), ember.tensor([0.0, np.nan])), [np.nan, np.nan])
    check(ember.clamp(ember.tensor([np.nan, 5.0]), 0.0, 1.0), [np.nan, 1.0])
    check(ember.tensor([1.0, -1.0, 0.0]) / ember.tensor([0.0, 0.0, 0.0]), [np.inf, -np.inf, np.nan])
    check(ember.isnan(x), [False, False, False, False, True])
    check(ember.isfinite(x), [True, True, False, False, False])


@pytest.mark.parametrize("lo, hi", [(-0.5, 0.5), (None, 0.0), (0.0, None), (0.3, -0.3)])
def test_clamp(lo, hi, rng):
    a = rng.standard_normal((4, 5))
    expected = a
    if lo is not None:
        expected = np.maximum(expected, lo)
    if hi is not None:
        expected = np.minimum(expected, hi)
    check(ember.clamp(ember.tensor(a), lo, hi), expected)
    check(ember.tensor(a).clamp(min=lo, max=hi), expected)
    check(ember.clamp(ember.tensor([-3, 0, 3]), -1, 1), [-1, 0, 1], dtype=ember.int64)
    with pytest.raises(ValueError, match="at least one"):
        ember.clamp(ember.tensor(a))


@pytest.mark.parametrize("pair", range(len(ALL_PAIRS)))
def test_where(pair, rng):
    sa, sb = ALL_PAIRS[pair]
    cshape = np.broadcast_shapes(sa, sb)[1:] if len(np.broadcast_shapes(sa, sb)) > 0 else ()
    c = rng.random(cshape) < 0.5
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check(ember.where(ember.tensor(c), make(a, True), ember.tensor(b)), np.where(c, a, b))
    check(ember.where(ember.tensor(c), ember.tensor(a), 0.0), np.where(c, a, 0.0))
    check(ember.where(ember.tensor(c), 1.0, ember.tensor(b)), np.where(c, 1.0, b))
    with pytest.raises(TypeError, match="condition must be a bool"):
        ember.where(ember.tensor(a), ember.tensor(a), ember.tensor(a))


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
@pytest.mark.parametrize("pair", range(len(SHAPE_PAIRS)))
def test_comparisons(op, pair, rng):
    sa, sb = SHAPE_PAIRS[pair]
    a, b = rng.integers(0, 3, sa).astype(np.float32), rng.integers(0, 3, sb).astype(np.float32)
    ea, eb = make(a, True), ember.tensor(b)
    out = getattr(ea, f"__{op}__")(eb)
    check(out, getattr(np, {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
                            "gt": "greater", "ge": "greater_equal"}[op])(a, b), dtype=ember.bool)


def test_comparisons_have_no_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    for r in (x > 1, x == x, x <= 1.5, x != 0):
        assert r.dtype == ember.bool and not r.requires_grad and r.grad_fn is None
    check(x > 1.5, [False, True])
    check(ember.tensor([1, 2]) == ember.tensor([1.0, 2.5]), [True, False])


def test_logical_ops():
    a, b = ember.tensor([True, True, False]), ember.tensor([True, False, False])
    check(a & b, [True, False, False])
    check(a | b, [True, True, False])
    check(~a, [False, False, True])
    check(ember.logical_not(ember.tensor([0.0, 2.0])), [True, False])


def test_python_operators_and_reflected():
    a_np = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    a = ember.tensor(a_np)
    check(a + 1, a_np + 1)
    check(1 + a, 1 + a_np)
    check(a - 1, a_np - 1)
    check(1 - a, 1 - a_np)
    check(a * 2, a_np * 2)
    check(2 * a, 2 * a_np)
    check(a / 2, a_np / 2)
    check(2 / a, 2 / a_np)
    check(a ** 2, a_np ** 2)
    check(2 ** a, 2 ** a_np)
    check(-a, -a_np)
    check(+a, a_np)
    check(abs(-a), a_np)
    check(a @ a, a_np @ a_np)
    check(a + [1.0, 2.0], a_np + [1.0, 2.0])  # array-likes go through ember.tensor
    check(a * np.array([1.0, 0.0]), a_np * np.array([1.0, 0.0]))
    check([[1.0, 0.0], [0.0, 1.0]] @ a, a_np)
    check(a + True, a_np + 1)
    check(ember.add(a, a, alpha=2), a_np + 2 * a_np)
    check(ember.sub(a, 1.0, alpha=3), a_np - 3)
    check(a.add(1).mul(2).div(4).sub(1), (a_np + 1) * 2 / 4 - 1)
    check(a.pow(3), a_np ** 3)
    check(ember.pow(a, a), a_np ** a_np)


def test_scalar_dtype_preserved():
    f = ember.tensor([1.0], dtype=ember.float64)
    assert (f * 2.5).dtype == ember.float64
    assert (2.5 - f).dtype == ember.float64
    h = ember.tensor([1.0])
    assert (h + 1e-3).dtype == ember.float32
    assert (ember.tensor([1]) + 2**40).tolist() == [1 + 2**40]
    with pytest.raises(ValueError, match="too large"):
        ember.tensor([1]) + 2**70


def test_inplace_operators():
    a = ember.tensor([1.0, 2.0, 3.0])
    ident = id(a)
    a += 1
    a *= ember.tensor([2.0, 2.0, 2.0])
    a -= 1
    a /= 2
    assert id(a) == ident
    check(a, ((np.array([1.0, 2.0, 3.0]) + 1) * 2 - 1) / 2)
    b = ember.zeros(2, 3)
    b += ember.tensor([1.0, 2.0, 3.0])  # broadcast the right side
    check(b, [[1, 2, 3], [1, 2, 3]])
    b.add_(ember.ones(3), alpha=2).sub_(1.0, alpha=0.5).mul_(2).div_(2)
    check(b, [[2.5, 3.5, 4.5], [2.5, 3.5, 4.5]])
    i = ember.tensor([1, 2])
    i += 1
    i *= 3
    check(i, [6, 9], dtype=ember.int64)
    with pytest.raises(TypeError, match="can't be cast"):
        i += 0.5
    with pytest.raises(TypeError):
        i /= 2
    with pytest.raises(ValueError, match="broadcast"):
        c = ember.zeros(3)
        c += ember.ones(2, 3)
    d = ember.tensor([1.0, 2.0])
    d += d  # aliasing
    check(d, [2.0, 4.0])
    e = ember.arange(4.0)
    e[1:] += e[:-1]
    check(e, [0.0, 1.0, 3.0, 5.0])


def test_inplace_into_broadcast_view_raises():
    t = ember.zeros(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="single memory location"):
        t += 1
    with pytest.raises(RuntimeError, match="single memory location"):
        t.copy_(ember.ones(2, 3))
    with pytest.raises(RuntimeError, match="single memory location"):
        t[:, 0] = 1.0  # the written-to view t[:, 0] repeats one element
    t[0] = ember.tensor([1.0, 2.0, 3.0])  # t[0] itself has distinct elements: allowed, as in torch
    check(t, [[1, 2, 3], [1, 2, 3]])
    t.fill_(4.0)  # one value everywhere is well defined
    check(t, np.full((2, 3), 4.0))


def test_version_counter_and_saved_tensor_check():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y  # saves y
    v = y._version
    y += 1
    assert y._version == v + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    # an in-place change not needed by backward is fine (add saves nothing)
    x2 = ember.tensor([1.0, 2.0], requires_grad=True)
    y2 = x2 * 2
    z2 = y2 + 1
    y2 *= 3
    z2.sum().backward()
    check(x2.grad, [2.0, 2.0])


def test_inplace_through_view_changes_base_version():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()  # saves its output
    with ember.no_grad():
        y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_autograd():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = ember.tensor([2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    y *= w
    y += w
    y /= 2
    y.sum().backward()
    check(x.grad, to_np(w) / 2)
    check(w.grad, (to_np(x) + 1) / 2)
    leaf = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf += 1
    with ember.no_grad():
        leaf += 1
    check(leaf, [2.0, 2.0])


def test_inplace_mixed_dtype_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)  # float32
    w = ember.tensor([3.0, 4.0], dtype=ember.float64, requires_grad=True)
    y = x * 1
    y *= w
    y.sum().backward()
    assert y.dtype == ember.float32
    assert x.grad.dtype == ember.float32 and w.grad.dtype == ember.float64
    check(x.grad, [3.0, 4.0])
    check(w.grad, [1.0, 2.0])


@pytest.mark.parametrize("op", ["mul_", "div_"])
def test_inplace_mixed_dtype_grad_into_leaf(op):
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([4.0, 8.0], dtype=ember.float64, requires_grad=True)
    y = x.clone()
    getattr(y, op)(w)
    y.sum().backward()
    assert x.grad.dtype == ember.float32 and w.grad.dtype == ember.float64
    check(x.grad, [4.0, 8.0] if op == "mul_" else [0.25, 0.125])
    check(w.grad, [1.0, 2.0] if op == "mul_" else [-1 / 16, -2 / 64])
