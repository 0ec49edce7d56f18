"""Finite-difference gradchecks (float64) for every core op with a backward, on randomized small
shapes including broadcasting, and each op's forward against numpy on the same inputs.

Shapes stay tiny: gradcheck costs one backward per output element and two forwards per input
element."""
import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from conftest import check

RNG_SEEDS = range(3)


def _t(arr, grad=True):
    return ember.tensor(np.ascontiguousarray(arr, dtype=np.float64), requires_grad=grad)


def _away(rng, shape, lo=0.3):
    """Random values at least `lo` away from 0 (for kinks at 0: abs, sign, division, log)."""
    v = rng.uniform(lo, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return np.asarray(v, dtype=np.float64)


def _broadcast_pair(rng):
    """A random broadcast-compatible pair of shapes (0-3 dims, sizes 1-3)."""
    nd = int(rng.integers(0, 4))
    full = [int(s) for s in rng.integers(1, 4, nd)]
    a = [s if rng.random() < 0.7 else 1 for s in full]
    b = [s if rng.random() < 0.7 else 1 for s in full]
    if rng.random() < 0.4 and a:
        a = a[int(rng.integers(0, len(a) + 1)):]
    return tuple(a), tuple(b)


def _both(fn, np_fn, arrays, grad=True, rtol=1e-10, atol=1e-12):
    """Forward vs numpy, then gradcheck of fn over `arrays` (all float64)."""
    ts = [_t(a, grad) for a in arrays]
    out = fn(*ts)
    check(out, np_fn(*arrays), rtol=rtol, atol=atol)
    assert out.dtype == ember.float64
    assert gradcheck(fn, [_t(a) for a in arrays])


# ----------------------------------------------------------------------------------- elementwise

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.true_divide),
    "maximum": (ember.maximum, np.maximum),
    "minimum": (ember.minimum, np.minimum),
    "pow": (lambda a, b: a ** b, np.power),
    "add_fn": (ember.add, np.add),
    "sub_fn": (ember.sub, np.subtract),
    "mul_fn": (ember.mul, np.multiply),
    "div_fn": (ember.div, np.true_divide),
    "pow_fn": (ember.pow, np.power),
}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", list(BINARY))
def test_binary(name, seed):
    rng = np.random.default_rng(seed)
    sa, sb = _broadcast_pair(rng)
    fn, nfn = BINARY[name]
    a, b = rng.standard_normal(sa), _away(rng, sb)
    if name.startswith("pow"):
        a, b = rng.uniform(0.5, 2.0, sa), rng.uniform(-2, 2, sb)
    if name in ("maximum", "minimum"):
        # keep a and b apart so the max/min choice does not flip under +-eps
        b = a.mean() + _away(rng, sb) if a.size else _away(rng, sb)
        diff = np.abs(np.broadcast_to(a, np.broadcast_shapes(sa, sb)) - np.broadcast_to(b, np.broadcast_shapes(sa, sb)))
        if diff.size and diff.min() < 1e-3:
            b = b + 0.01
    _both(fn, nfn, [a, b])


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_binary_with_python_scalars(seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, (2, 3))
    cases = [
        (lambda x: x + 2.5, lambda x: x + 2.5),
        (lambda x: 2.5 + x, lambda x: 2.5 + x),
        (lambda x: x - 1.5, lambda x: x - 1.5),
        (lambda x: 1.5 - x, lambda x: 1.5 - x),
        (lambda x: x * 3.0, lambda x: x * 3.0),
        (lambda x: 3.0 * x, lambda x: 3.0 * x),
        (lambda x: x / 2.0, lambda x: x / 2.0),
        (lambda x: 2.0 / x, lambda x: 2.0 / x),
        (lambda x: x ** 3, lambda x: x ** 3),
        (lambda x: x ** 0.5, lambda x: x ** 0.5),
        (lambda x: 2.0 ** x, lambda x: 2.0 ** x),
        (lambda x: -x, lambda x: -x),
    ]
    for fn, nfn in cases:
        _both(fn, nfn, [a])


UNARY = {
    "neg": (ember.neg, np.negative, "any"),
    "exp": (ember.exp, np.exp, "any"),
    "log": (ember.log, np.log, "pos"),
    "sqrt": (ember.sqrt, np.sqrt, "pos"),
    "abs": (ember.abs, np.abs, "away"),
    "sign": (ember.sign, np.sign, "away"),
    "method_exp": (lambda t: t.exp(), np.exp, "any"),
    "method_abs": (lambda t: t.abs(), np.abs, "away"),
}


@pytest.mark.parametrize("seed", RNG_SEEDS)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary(name, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 4, int(rng.integers(0, 4))))
    fn, nfn, dom = UNARY[name]
    x = {"any": rng.standard_normal(shape), "pos": rng.uniform(0.3, 3.0, shape), "away": _away(rng, shape)}[dom]
    _both(fn, nfn, [x])


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_clamp(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (3, 4))
    x[np.abs(np.abs(x) - 0.5) < 0.05] = 1.0  # keep values off the clamp edges
    _both(lambda t: ember.clamp(t, -0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [x])
    _both(lambda t: ember.clamp(t, min=-0.5), lambda a: np.maximum(a, -0.5), [x])
    _both(lambda t: ember.clamp(t, max=0.5), lambda a: np.minimum(a, 0.5), [x])
    _both(lambda t: t.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [x])


@pytest.mark.parametrize("seed", range(5))
def test_where(seed):
    rng = np.random.default_rng(seed)
    sa, sb = _broadcast_pair(rng)
    sc = np.broadcast_shapes(sa, sb)[1:] if rng.random() < 0.5 else np.broadcast_shapes(sa, sb)
    cond = rng.random(sc) < 0.5
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    c = ember.tensor(cond)
    _both(lambda x, y: ember.where(c, x, y), lambda x, y: np.where(cond, x, y), [a, b])


# ------------------------------------------------------------------------------------ reductions

def _dims_cases(rng, shape):
    """None plus a random dim, a negative dim and a tuple of dims, each with keepdim both ways."""
    nd = len(shape)
    dims = [None]
    if nd:
        dims += [int(rng.integers(0, nd)), -1]
    if nd >= 2:
        dims.append((0, nd - 1))
    return [(d, k) for d in dims for k in (False, True)]


def _np_axis(d):
    return d if d is None or isinstance(d, int) else tuple(d)


def _call_reduce(name, t, d, k, **kw):
    f = getattr(ember, name)
    if d is None:
        return f(t, **kw) if not k else f(t, dim=None, keepdim=True, **kw) if name != "logsumexp" else None
    return f(t, d, keepdim=k, **kw)


@pytest.mark.parametrize("seed", RNG_SEEDS)
@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "logsumexp"])
def test_reductions(name, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(2, 4, int(rng.integers(1, 4))))
    x = rng.standard_normal(shape)
    for d, k in _dims_cases(rng, shape):
        if name == "logsumexp" and d is None:
            continue  # torch's logsumexp needs dim
        ax = _np_axis(d)

        def fn(t, d=d, k=k):
            if d is None:
                return getattr(t, name)() if not k else getattr(ember, name)(t, dim=None, keepdim=True)
            return getattr(ember, name)(t, d, keepdim=k)

        def nfn(a, ax=ax, k=k):
            if name == "logsumexp":
                m = np.max(a, axis=ax, keepdims=True)
                r = np.log(np.sum(np.exp(a - m), axis=ax, keepdims=True)) + m
                return r if k else np.squeeze(r, axis=ax)
            if name in ("var", "std"):
                return getattr(np, name)(a, axis=ax, keepdims=k, ddof=1)
            return getattr(np, name)(a, axis=ax, keepdims=k)

        _both(fn, nfn, [x])


@pytest.mark.parametrize("unbiased", [True, False])
def test_var_std_correction(unbiased, rng):
    x = rng.standard_normal((3, 4))
    ddof = 1 if unbiased else 0
    _both(lambda t: ember.var(t, 1, unbiased=unbiased), lambda a: np.var(a, axis=1, ddof=ddof), [x])
    _both(lambda t: t.std(0, unbiased=unbiased, keepdim=True),
          lambda a: np.std(a, axis=0, ddof=ddof, keepdims=True), [x])


@pytest.mark.parametrize("seed", RNG_SEEDS)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min(name, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(2, 4, int(rng.integers(1, 4))))
    x = rng.permutation(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) * 0.37  # distinct
    nfn = getattr(np, name)
    argf = getattr(np, "arg" + name)
    _both(lambda t: getattr(ember, name)(t), lambda a: nfn(a), [x])
    for d in range(-len(shape), len(shape)):
        for k in (False, True):
            vals, idx = getattr(ember, name)(_t(x), d, keepdim=k)
            check(vals, nfn(x, axis=d, keepdims=k))
            check(idx, np.expand_dims(argf(x, axis=d), d) if k else argf(x, axis=d))
            assert gradcheck(lambda t, d=d, k=k: getattr(ember, name)(t, d, keepdim=k)[0], [_t(x)])
            assert gradcheck(lambda t, d=d, k=k: getattr(t, name)(dim=d, keepdim=k).values, [_t(x)])


# ---------------------------------------------------------------------------------------- matmul

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3, 4)),
    ((2, 2, 3), (3, 2)),
    ((3,), (2, 3, 2)),
    ((2, 2, 3), (3,)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((1, 2, 3), (2, 3, 2)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes, rng):
    sa, sb = shapes
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    _both(ember.matmul, np.matmul, [a, b])
    _both(lambda x, y: x @ y, np.matmul, [a, b])


def test_matmul_transposed_views(rng):
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    _both(lambda x, y: x.t() @ y.t(), lambda x, y: x.T @ y.T, [a, b])


def _well_conditioned(rng, n, batch=()):
    return rng.standard_normal(batch + (n, n)) + 3 * np.eye(n)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_linalg(n, rng):
    A = _well_conditioned(rng, n)
    B = rng.standard_normal((n, 2))
    bv = rng.standard_normal((n,))
    _both(ember.linalg.inv, np.linalg.inv, [A], rtol=1e-9, atol=1e-10)
    _both(ember.linalg.det, np.linalg.det, [A], rtol=1e-9, atol=1e-10)
    _both(ember.linalg.solve, np.linalg.solve, [A, B], rtol=1e-9, atol=1e-10)
    _both(ember.linalg.solve, lambda x, y: np.linalg.solve(x, y[:, None])[:, 0], [A, bv], rtol=1e-9, atol=1e-10)


def test_linalg_batched(rng):
    A = _well_conditioned(rng, 2, (2,))
    B = rng.standard_normal((2, 2, 1))
    _both(ember.linalg.inv, np.linalg.inv, [A], rtol=1e-9, atol=1e-10)
    _both(ember.linalg.det, np.linalg.det, [A], rtol=1e-9, atol=1e-10)
    _both(ember.linalg.solve, np.linalg.solve, [A, B], rtol=1e-9, atol=1e-10)


def test_normal_equation_one_line(rng):
    X, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 1))
    _both(lambda X, y: ember.linalg.inv(X.t() @ X) @ X.t() @ y,
          lambda X, y: np.linalg.inv(X.T @ X) @ X.T @ y, [X, y], rtol=1e-9, atol=1e-10)


# -------------------------------------------------------------------------------------- indexing

BASIC_INDICES = [
    (1,),
    (-1,),
    (slice(1, None),),
    (slice(None, None, 2),),
    (slice(1, None), slice(None, None, 2)),
    (Ellipsis, 0),
    (None, 1, slice(0, 2)),
    (slice(None), None, -1),
    (slice(None, None, -1),),
    (0, 1, 2),
]


@pytest.mark.parametrize("key", range(len(BASIC_INDICES)))
def test_basic_indexing(key, rng):
    k = BASIC_INDICES[key]
    x = rng.standard_normal((3, 4, 3))
    if any(isinstance(s, slice) and s.step is not None and s.step < 0 for s in k):
        with pytest.raises((ValueError, IndexError)):
            _t(x)[k]  # torch rejects negative steps; so does ember
        return
    _both(lambda t: t[k], lambda a: a[k], [x])


ADV_INDICES = [
    lambda: (np.array([0, 2, 0]),),
    lambda: (np.array([[1, 0], [2, 2]]),),
    lambda: (slice(None), np.array([3, 0, 3])),
    lambda: (np.array([0, 1]), np.array([2, 3])),
    lambda: (np.array([-1, 0]), slice(1, 3)),
    lambda: (Ellipsis, np.array([1, 1, 0])),
]


@pytest.mark.parametrize("key", range(len(ADV_INDICES)))
def test_advanced_indexing(key, rng):
    k = ADV_INDICES[key]()
    ek = tuple(ember.tensor(i) if isinstance(i, np.ndarray) else i for i in k)
    x = rng.standard_normal((3, 4, 3))
    _both(lambda t: t[ek], lambda a: a[k], [x])


def test_boolean_mask_indexing(rng):
    x = rng.standard_normal((3, 4))
    mask = rng.random((3, 4)) < 0.5
    rows = np.array([True, False, True])
    _both(lambda t: t[ember.tensor(mask)], lambda a: a[mask], [x])
    _both(lambda t: t[ember.tensor(rows)], lambda a: a[rows], [x])
    _both(lambda t: t[:, ember.tensor(np.array([True, False, False, True]))],
          lambda a: a[:, np.array([True, False, False, True])], [x])


SETITEM_KEYS = [
    lambda: (1,),
    lambda: (slice(0, 2), slice(1, 3)),
    lambda: (np.array([2, 0]),),
    lambda: (np.array([[True, False, True, False]] * 3),),
]


@pytest.mark.parametrize("key", range(len(SETITEM_KEYS)))
def test_index_assignment(key, rng):
    k = SETITEM_KEYS[key]()
    ek = tuple(ember.tensor(i) if isinstance(i, np.ndarray) else i for i in k)
    x = rng.standard_normal((3, 4))
    vshape = np.zeros((3, 4))[k].shape
    v = rng.standard_normal(vshape)

    def fn(a, b):
        out = a * 1.0  # a non-leaf copy: in-place writes into leaves are refused
        out[ek] = b
        return out

    def nfn(a, b):
        out = a.copy()
        out[k] = b
        return out

    _both(fn, nfn, [x, v])

    def fn_scalar(a):
        out = a * 2.0
        out[ek] = 0.5
        return out

    _both(fn_scalar, lambda a: np.where(np.isin(np.arange(12).reshape(3, 4), np.arange(12).reshape(3, 4)[k]), 0.5, 2 * a), [x])


def test_index_assignment_broadcast_value(rng):
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((4,))

    def fn(a, b):
        out = a + 0.0
        out[1:] = b
        return out

    def nfn(a, b):
        out = a.copy()
        out[1:] = b
        return out

    _both(fn, nfn, [x, v])


# ---------------------------------------------------------------------------------- shape / views

VIEW_OPS = {
    "reshape": (lambda t: t.reshape(4, 3), lambda a: a.reshape(4, 3)),
    "reshape_fn": (lambda t: ember.Tensor.reshape(t, (-1,)), lambda a: a.reshape(-1)),
    "view": (lambda t: t.view(2, 6), lambda a: a.reshape(2, 6)),
    "transpose": (lambda t: t.transpose(0, 1), lambda a: a.swapaxes(0, 1)),
    "t": (lambda t: t.t(), lambda a: a.T),
    "T_reshape": (lambda t: t.t().reshape(-1), lambda a: a.T.reshape(-1)),  # reshape of a non-contiguous view
    "permute": (lambda t: t.reshape(2, 3, 2).permute(2, 0, 1), lambda a: a.reshape(2, 3, 2).transpose(2, 0, 1)),
    "squeeze": (lambda t: t.reshape(1, 3, 1, 4).squeeze(), lambda a: a.reshape(3, 4)),
    "squeeze_dim": (lambda t: t.reshape(1, 3, 1, 4).squeeze(2), lambda a: a.reshape(1, 3, 4)),
    "unsqueeze": (lambda t: t.unsqueeze(1), lambda a: a[:, None]),
    "unsqueeze_neg": (lambda t: t.unsqueeze(-1), lambda a: a[..., None]),
    "expand": (lambda t: t[:1].expand(2, 4), lambda a: np.broadcast_to(a[:1], (2, 4))),
    "expand_new_dims": (lambda t: t.reshape(3, 1, 4).expand(2, 3, 2, -1),
                        lambda a: np.broadcast_to(a.reshape(3, 1, 4), (2, 3, 2, 4))),
    "broadcast_to": (lambda t: ember.broadcast_to(t[:, :1], (2, 3, 4)),
                     lambda a: np.broadcast_to(a[:, :1], (2, 3, 4))),
    "flatten": (lambda t: t.reshape(3, 2, 2).flatten(), lambda a: a.reshape(-1)),
    "flatten_range": (lambda t: t.reshape(3, 2, 2).flatten(1), lambda a: a.reshape(3, 4)),
    "contiguous": (lambda t: t.t().contiguous(), lambda a: np.ascontiguousarray(a.T)),
    "strided_slice": (lambda t: t[:, ::2].contiguous() * 2, lambda a: a[:, ::2] * 2),
}


@pytest.mark.parametrize("name", list(VIEW_OPS))
def test_view_ops(name, rng):
    fn, nfn = VIEW_OPS[name]
    _both(fn, nfn, [rng.standard_normal((3, 4))])


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_cat_stack(seed):
    rng = np.random.default_rng(seed)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((1, 3)), rng.standard_normal((2, 3))
    _both(lambda x, y: ember.cat([x, y]), lambda x, y: np.concatenate([x, y]), [a, b])
    _both(lambda x, y: ember.cat([x.t(), y.t()], dim=-1), lambda x, y: np.concatenate([x.T, y.T], -1), [a, b])
    _both(lambda x, y: ember.stack([x, y]), lambda x, y: np.stack([x, y]), [a, c])
    _both(lambda x, y: ember.stack((x, y), dim=2), lambda x, y: np.stack([x, y], 2), [a, c])
    _both(lambda x, y: ember.stack([x, y], dim=-1), lambda x, y: np.stack([x, y], -1), [a, c])


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_split_chunk(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 3))
    # each piece combined with a different weight, so a mixed-up gradient shows
    w = [1.0, -2.0, 3.0]

    def comb(parts):
        return ember.cat([p * w[i % 3] for i, p in enumerate(parts)])

    def ncomb(parts):
        return np.concatenate([p * w[i % 3] for i, p in enumerate(parts)])

    _both(lambda t: comb(ember.split(t, 2)), lambda a: ncomb(np.split(a, [2, 4])), [x])
    _both(lambda t: comb(t.split([1, 4])), lambda a: ncomb(np.split(a, [1])), [x])
    _both(lambda t: comb(ember.chunk(t, 3)), lambda a: ncomb(np.array_split(a, [2, 4])), [x])
    _both(lambda t: ember.cat([p * 2 for p in t.chunk(2, dim=1)], dim=1), lambda a: a * 2, [x])
    # a single piece used alone: the other pieces get zero gradient
    _both(lambda t: ember.split(t, 2)[1], lambda a: a[2:4], [x])


def test_masked_fill_index_select(rng):
    x = rng.standard_normal((3, 4))
    mask = rng.random((3, 4)) < 0.4
    row_mask = rng.random((4,)) < 0.5
    _both(lambda t: ember.masked_fill(t, ember.tensor(mask), -1.5), lambda a: np.where(mask, -1.5, a), [x])
    _both(lambda t: t.masked_fill(ember.tensor(row_mask), 0.0), lambda a: np.where(row_mask, 0.0, a), [x])
    idx = np.array([2, 0, 2, 1])
    _both(lambda t: ember.index_select(t, 0, ember.tensor(idx)), lambda a: a[idx], [x])
    _both(lambda t: t.index_select(1, ember.tensor(idx[:3])), lambda a: a[:, idx[:3]], [x])
    _both(lambda t: ember.index_select(t, -1, ember.tensor(np.array([3]))), lambda a: a[:, [3]], [x])


def test_composite_chain(rng):
    """Many ops in one graph: checks that the pieces' gradients compose."""
    a, b = rng.standard_normal((2, 3)), rng.uniform(0.5, 1.5, (3,))

    def fn(x, y):
        z = (x * y + ember.exp(x / 3)).reshape(3, 2).t()
        z = ember.cat([z, ember.sqrt(y).reshape(1, 3)], 0)
        return ember.logsumexp(z, 1) * ember.mean(z ** 2)

    def nfn(x, y):
        z = (x * y + np.exp(x / 3)).reshape(3, 2).T
        z = np.concatenate([z, np.sqrt(y).reshape(1, 3)], 0)
        m = z.max(1, keepdims=True)
        return (np.log(np.exp(z - m).sum(1)) + m[:, 0]) * np.mean(z ** 2)

    _both(fn, nfn, [a, b])
