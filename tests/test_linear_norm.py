"""The layer ops of nn.functional: linear, batch_norm, layer_norm, dropout, dropout2d, embedding.
Forward and every gradient against torch (float32 and float64, randomized shapes and arguments),
finite-difference gradchecks in float64, argument errors, thread-count determinism."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from layer_helpers import EMBER_DT, assert_close, leaf, np_of, to_torch

DTYPES = [np.float32, np.float64]


def _arr(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _run_both(torch, fn_e, fn_t, arrays, grad_mask, rng, dtype):
    """Calls fn_e on ember leaves and fn_t on torch leaves made from `arrays` (None stays None),
    backpropagates the same random gradient and returns the pairs (output, grads...)."""
    e_in = [None if a is None else leaf(a, g) for a, g in zip(arrays, grad_mask)]
    t_in = [None if a is None else torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_mask)]
    ey, ty = fn_e(*e_in), fn_t(*t_in)
    assert_close(ey, ty, dtype, "output")
    if not ty.requires_grad:
        assert not ey.requires_grad and ey.grad_fn is None
        return ey, ty
    g = _arr(rng, tuple(ty.shape), dtype)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if e is not None and t.requires_grad:
            assert_close(e.grad, t.grad, dtype, f"grad of argument {i}", scale=10)
        elif e is not None:
            assert e.grad is None
    return ey, ty


# --- linear -----------------------------------------------------------------------------------
LINEAR_SHAPES = [(5, 7, 3), ((7,), 7, 4), ((2, 3, 7), 7, 5), ((4, 1, 3, 6), 6, 2), ((0, 7), 7, 3), ((3, 0), 0, 4),
                 ((64, 784), 784, 256), ((33, 17), 17, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(LINEAR_SHAPES)))
@pytest.mark.parametrize("bias", [True, False])
def test_linear_vs_torch(torch, dtype, case, bias, rng):
    xshape, k, n = LINEAR_SHAPES[case]
    xshape = (xshape, k) if isinstance(xshape, int) else xshape
    x, w = _arr(rng, xshape, dtype), _arr(rng, (n, k), dtype)
    b = _arr(rng, (n,), dtype) if bias else None
    for mask in [(True, True, True), (True, False, False), (False, True, False), (False, False, True)]:
        _run_both(torch, F.linear, torch.nn.functional.linear, [x, w, b], mask, rng, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_strided_operands(torch, dtype, rng):
    # transposed weight, row-sliced and column-strided inputs, expanded (stride-0) rows
    k, n = 9, 5
    wt = _arr(rng, (k, n), dtype)
    big = _arr(rng, (12, 2 * k), dtype)
    cases = [
        (lambda e: e[::2, ::2], lambda t: t[::2, ::2]),
        (lambda e: e[1:7, 3:3 + k], lambda t: t[1:7, 3:3 + k]),
        (lambda e: e[:, :k].reshape(3, 4, k).transpose(0, 1), lambda t: t[:, :k].reshape(3, 4, k).transpose(0, 1)),
        (lambda e: e[:1, :k].expand(6, k), lambda t: t[:1, :k].expand(6, k)),
    ]
    for fe, ft in cases:
        eb, tb = leaf(big), torch.tensor(big, requires_grad=True)
        ew, tw = leaf(wt), torch.tensor(wt, requires_grad=True)
        ey = F.linear(fe(eb), ew.t())
        ty = torch.nn.functional.linear(ft(tb), tw.t())
        assert_close(ey, ty, dtype)
        g = _arr(rng, tuple(ty.shape), dtype)
        ey.backward(ember.tensor(g))
        ty.backward(torch.tensor(g))
        assert_close(eb.grad, tb.grad, dtype, "input grad")
        assert_close(ew.grad, tw.grad, dtype, "weight grad")
    # an expanded upstream gradient (what sum() backward produces)
    x, w = leaf(_arr(rng, (4, k), dtype)), leaf(_arr(rng, (n, k), dtype))
    bias = leaf(_arr(rng, (n,), dtype))
    F.linear(x, w, bias).sum().backward()
    np.testing.assert_allclose(np_of(bias.grad), np.full(n, 4.0), rtol=1e-6)
    np.testing.assert_allclose(np_of(w.grad), np.tile(np_of(x).sum(0), (n, 1)), rtol=1e-5)


def test_linear_gradcheck(rng):
    x = leaf(rng.standard_normal((2, 3, 4)))
    w = leaf(rng.standard_normal((5, 4)))
    b = leaf(rng.standard_normal(5))
    assert gradcheck(F.linear, (x, w, b))
    assert gradcheck(lambda a, c: F.linear(a, c), (leaf(rng.standard_normal(4)), w))


def test_linear_errors():
    x, w = ember.zeros(2, 3), ember.zeros(4, 3)
    with pytest.raises(ValueError, match=r"cannot be multiplied"):
        F.linear(ember.zeros(2, 5), w)
    with pytest.raises(ValueError, match="2-D weight"):
        F.linear(x, ember.zeros(3))
    with pytest.raises(TypeError, match="same dtype"):
        F.linear(x, ember.zeros(4, 3, dtype=ember.float64))
    with pytest.raises(TypeError, match="floating-point"):
        F.linear(ember.zeros(2, 3, dtype=ember.int64), ember.zeros(4, 3, dtype=ember.int64))
    with pytest.raises(ValueError, match=r"bias of shape \[4\]"):
        F.linear(x, w, ember.zeros(3))
    with pytest.raises(TypeError, match="bias dtype"):
        F.linear(x, w, ember.zeros(4, dtype=ember.float64))
    with pytest.raises(ValueError, match="0-d"):
        F.linear(ember.tensor(1.0), ember.zeros(1, 1))
    with pytest.raises(TypeError):
        F.linear(x, "weight")


def test_linear_same_bits_for_any_thread_count(rng):
    x = leaf(rng.standard_normal((256, 300)).astype(np.float32))
    w = leaf(rng.standard_normal((200, 300)).astype(np.float32))
    b = leaf(rng.standard_normal(200).astype(np.float32))
    g = ember.tensor(rng.standard_normal((256, 200)).astype(np.float32))
    results = []
    prev = ember.get_num_threads()
    try:
        for nt in (1, 2, 3):
            ember.set_num_threads(nt)
            x.grad = w.grad = b.grad = None
            y = F.linear(x, w, b)
            y.backward(g)
            results.append([np_of(t).copy() for t in (y, x.grad, w.grad, b.grad)])
    finally:
        ember.set_num_threads(prev)
    for r in results[1:]:
        for a, c in zip(results[0], r):
            np.testing.assert_array_equal(a, c)


def test_linear_matches_matmul_and_grad_fn(rng):
    x, w, b = (leaf(rng.standard_normal(s)) for s in ((3, 4), (2, 4), (2,)))
    y = F.linear(x, w, b)
    assert y.grad_fn.name() == "LinearBackward"
    np.testing.assert_allclose(np_of(y), np_of(x) @ np_of(w).T + np_of(b), rtol=1e-12)
    with ember.no_grad():
        assert F.linear(x, w, b).grad_fn is None


# --- batch_norm --------------------------------------------------------------------------------
BN_SHAPES = [(8, 3), (5, 4, 7), (4, 3, 5, 6), (2, 1, 3, 3), (16, 2, 1), (10, 130)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_vs_torch(torch, dtype, shape, training, affine, rng):
    c = shape[1]
    x = (_arr(rng, shape, dtype) * 3 + 1.5).astype(dtype)
    w = (rng.uniform(0.5, 1.5, c)).astype(dtype) if affine else None
    b = _arr(rng, (c,), dtype) if affine else None
    rm0, rv0 = _arr(rng, (c,), dtype), rng.uniform(0.5, 2.0, c).astype(dtype)
    momentum, eps = float(rng.uniform(0.05, 0.5)), float(rng.choice([1e-5, 1e-3]))
    erm, erv = ember.tensor(rm0.copy()), ember.tensor(rv0.copy())
    trm, trv = torch.tensor(rm0.copy()), torch.tensor(rv0.copy())
    # several steps, so the running statistics compound like a training loop's
    for step in range(3):
        xs = (x + step).astype(dtype)
        _run_both(torch,
                  lambda a, ww, bb: F.batch_norm(a, erm, erv, ww, bb, training, momentum, eps),
                  lambda a, ww, bb: torch.nn.functional.batch_norm(a, trm, trv, ww, bb, training, momentum, eps),
                  [xs, w, b], [True, True, True], rng, dtype)
        assert_close(erm, trm, dtype, "running_mean")
        assert_close(erv, trv, dtype, "running_var")


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_without_running_stats(torch, dtype, rng):
    x, w, b = _arr(rng, (6, 3, 4), dtype), _arr(rng, (3,), dtype), _arr(rng, (3,), dtype)
    _run_both(torch, lambda a, ww, bb: F.batch_norm(a, None, None, ww, bb, True),
              lambda a, ww, bb: torch.nn.functional.batch_norm(a, None, None, ww, bb, True),
              [x, w, b], [True, True, False], rng, dtype)


def test_batch_norm_gradcheck(rng):
    x = leaf(rng.standard_normal((4, 3, 5)) * 2 + 1)
    w, b = leaf(rng.uniform(0.5, 1.5, 3)), leaf(rng.standard_normal(3))
    assert gradcheck(lambda a, ww, bb: F.batch_norm(a, None, None, ww, bb, True), (x, w, b))
    assert gradcheck(lambda a: F.batch_norm(a, None, None, None, None, True, 0.1, 1e-3), (leaf(np_of(x)[:, :, :2]),))
    rm, rv = ember.tensor(rng.standard_normal(3)), ember.tensor(rng.uniform(0.5, 2, 3))
    assert gradcheck(lambda a, ww, bb: F.batch_norm(a, rm, rv, ww, bb, False), (x, w, b))


def test_batch_norm_running_buffers_updated_in_place_without_grad(rng):
    rm, rv = ember.zeros(3), ember.ones(3)
    rm_id = id(rm)
    x = leaf(rng.standard_normal((10, 3)).astype(np.float32))
    y = F.batch_norm(x, rm, rv, training=True, momentum=1.0)
    assert id(rm) == rm_id and not rm.requires_grad and not rv.requires_grad
    np.testing.assert_allclose(np_of(rm), np_of(x).mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np_of(rv), np_of(x).var(0, ddof=1), rtol=1e-5)
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), 0, atol=1e-5)  # sum of a normalised column is constant
    # a strided running buffer is updated through its strides
    base = ember.zeros(6)
    F.batch_norm(x, base[::2], ember.ones(6)[::2], training=True, momentum=0.5)
    np.testing.assert_allclose(np_of(base)[1::2], 0)
    np.testing.assert_allclose(np_of(base)[::2], 0.5 * np_of(x).mean(0), rtol=1e-5, atol=1e-6)


def test_batch_norm_errors():
    x = ember.zeros(4, 3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(ember.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="evaluation mode"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"weight of shape \[3\]"):
        F.batch_norm(x, None, None, ember.ones(4), training=True)
    with pytest.raises(ValueError, match="running_mean of shape"):
        F.batch_norm(x, ember.zeros(2), ember.ones(2), training=True)
    with pytest.raises(ValueError, match="2-D or more"):
        F.batch_norm(ember.zeros(3), None, None, training=True)
    with pytest.raises(TypeError, match="dtype"):
        F.batch_norm(x, ember.zeros(3, dtype=ember.float64), ember.ones(3, dtype=ember.float64))
    with pytest.raises(TypeError, match="floating-point"):
        F.batch_norm(ember.zeros(4, 3, dtype=ember.int64), None, None, training=True)
    with pytest.raises(ValueError, match="given together"):
        F.batch_norm(x, ember.zeros(3), None, training=True)
    with pytest.raises(ValueError, match="eps"):
        F.batch_norm(x, None, None, training=True, eps=-1.0)


@pytest.mark.parametrize("shape", [(32, 16, 12, 12), (512, 200)])
def test_batch_norm_same_bits_for_any_thread_count(shape, rng):
    x = leaf(rng.standard_normal(shape).astype(np.float32))
    c = shape[1]
    w, b = leaf(np.ones(c, np.float32)), leaf(np.zeros(c, np.float32))
    g = ember.tensor(rng.standard_normal(shape).astype(np.float32))
    results, prev = [], ember.get_num_threads()
    try:
        for nt in (1, 2, 4):
            ember.set_num_threads(nt)
            x.grad = w.grad = b.grad = None
            rm, rv = ember.zeros(c), ember.ones(c)
            y = F.batch_norm(x, rm, rv, w, b, True)
            y.backward(g)
            results.append([np_of(t).copy() for t in (y, x.grad, w.grad, b.grad, rm, rv)])
    finally:
        ember.set_num_threads(prev)
    for r in results[1:]:
        for a, c in zip(results[0], r):
            np.testing.assert_array_equal(a, c)


# --- layer_norm --------------------------------------------------------------------------------
LN_CASES = [((4, 6), (6,)), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 5)), ((7,), (7,)), ((3, 1), (1,)), ((0, 4), (4,)),
            ((8, 300), (300,))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(LN_CASES)))
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_vs_torch(torch, dtype, case, affine, rng):
    shape, nshape = LN_CASES[case]
    x = (_arr(rng, shape, dtype) * 2 + 3).astype(dtype)
    w = rng.uniform(0.5, 1.5, nshape).astype(dtype) if affine != "none" else None
    b = _arr(rng, nshape, dtype) if affine == "both" else None
    eps = float(rng.choice([1e-5, 1e-2]))
    _run_both(torch, lambda a, ww, bb: F.layer_norm(a, nshape, ww, bb, eps),
              lambda a, ww, bb: torch.nn.functional.layer_norm(a, nshape, ww, bb, eps),
              [x, w, b], [True, True, True], rng, dtype)


def test_layer_norm_gradcheck(rng):
    x = leaf(rng.standard_normal((3, 2, 4)))
    w, b = leaf(rng.uniform(0.5, 1.5, (2, 4))), leaf(rng.standard_normal((2, 4)))
    assert gradcheck(lambda a, ww, bb: F.layer_norm(a, (2, 4), ww, bb), (x, w, b))
    assert gradcheck(lambda a: F.layer_norm(a, 4), (x,))


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"expected input with shape \[\*, 5\]"):
        F.layer_norm(ember.zeros(2, 4), (5,))
    with pytest.raises(ValueError, match="weight of shape"):
        F.layer_norm(ember.zeros(2, 4), 4, ember.ones(3))
    with pytest.raises(ValueError, match="at least one"):
        F.layer_norm(ember.zeros(2, 4), ())
    with pytest.raises(TypeError, match="floating-point"):
        F.layer_norm(ember.zeros(2, 4, dtype=ember.int64), 4)
    with pytest.raises(ValueError, match=r"expected input with shape"):
        F.layer_norm(ember.zeros(4), (2, 4))


# --- dropout -------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_statistics_and_grad(p, dtype):
    ember.manual_seed(3)
    n = 200_000
    x = ember.tensor(np.full(n, 2.0, dtype), requires_grad=True)
    y = F.dropout(x, p, True)
    out = np_of(y)
    zero = out == 0
    # fraction of zeros ~ p within 5 standard deviations
    assert abs(zero.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[~zero], 2.0 / (1 - p), rtol=1e-6)
    assert abs(out.mean() - 2.0) < 0.05  # inverted scaling keeps the expectation
    y.backward(ember.ones(n, dtype=EMBER_DT[dtype]))
    np.testing.assert_allclose(np_of(x.grad), out / 2.0, rtol=1e-6)  # the same mask, scaled


def test_dropout_identity_cases_and_extremes(rng):
    x = leaf(rng.standard_normal((3, 4)))
    for y in (F.dropout(x, 0.5, training=False), F.dropout(x, 0.0, True), F.dropout2d(x, 0.7, False)):
        np.testing.assert_array_equal(np_of(y), np_of(x))
    y = F.dropout(x, 1.0, True)
    np.testing.assert_array_equal(np_of(y), 0)
    y.sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), 0)
    assert np.isnan(np_of(F.dropout(ember.tensor([np.nan, 1.0]), 1.0))[0])  # x * 0, like torch
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout2d(x, bad)
    with pytest.raises(TypeError, match="floating-point"):
        F.dropout(ember.zeros(3, dtype=ember.int64), 0.5)


def test_dropout_repeatable_with_manual_seed(rng):
    x = ember.tensor(rng.standard_normal((50, 40)))
    ember.manual_seed(123)
    a = np_of(F.dropout(x, 0.3))
    b = np_of(F.dropout(x, 0.3))
    ember.manual_seed(123)
    np.testing.assert_array_equal(np_of(F.dropout(x, 0.3)), a)
    assert not np.array_equal(a, b)
    prev = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        ember.manual_seed(9)
        one = np_of(F.dropout(ember.ones(1000, 100), 0.5))
        ember.set_num_threads(2)
        ember.manual_seed(9)
        np.testing.assert_array_equal(np_of(F.dropout(ember.ones(1000, 100), 0.5)), one)
    finally:
        ember.set_num_threads(prev)


def test_dropout_noncontiguous_input(rng):
    base = rng.standard_normal((6, 8))
    x = leaf(base)
    ember.manual_seed(1)
    y = F.dropout(x[:, ::2].t(), 0.5)
    kept = np_of(y) != 0
    np.testing.assert_allclose(np_of(y)[kept], 2 * base[:, ::2].T[kept])
    y.sum().backward()
    g = np.zeros_like(base)
    g[:, ::2] = (kept * 2.0).T
    np.testing.assert_array_equal(np_of(x.grad), g)


@pytest.mark.parametrize("shape", [(8, 16, 5, 5), (8, 16, 7), (10, 20)])
def test_dropout2d_zeroes_whole_channels(shape):
    ember.manual_seed(5)
    p = 0.4
    x = ember.ones(*shape, requires_grad=True)
    y = F.dropout2d(x, p)
    out = np_of(y).reshape(shape[0], shape[1], -1)
    per_channel = out[:, :, 0]
    assert np.all(out == per_channel[:, :, None])  # one draw per (n, c)
    assert set(np.unique(per_channel)) <= {0.0, np.float32(1 / (1 - p))}
    assert 0.15 < (per_channel == 0).mean() < 0.65
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), np_of(y))
    with pytest.raises(ValueError, match=r"\[N, C, ...\]"):
        F.dropout2d(ember.ones(5), 0.5)


def test_dropout_vs_torch_semantics(torch):
    # same rules as torch for eval mode, p = 0 and p = 1 (the masks themselves differ: other RNG)
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for p, training in [(0.5, False), (0.0, True), (1.0, True)]:
        e = F.dropout(ember.tensor(x), p, training)
        t = torch.nn.functional.dropout(torch.tensor(x), p, training)
        np.testing.assert_array_equal(np_of(e), t.numpy())


# --- embedding -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize("idx_shape", [(7,), (3, 4), (2, 2, 5), ()])
def test_embedding_vs_torch(torch, dtype, padding_idx, idx_shape, rng):
    num, dim = 6, 5
    idx = rng.integers(0, num, idx_shape).astype(np.int64)
    if idx.size:
        idx.reshape(-1)[0] = idx.reshape(-1)[-1]  # a repeated index accumulates
    w = _arr(rng, (num, dim), dtype)
    ew, tw = leaf(w), torch.tensor(w, requires_grad=True)
    ey = F.embedding(ember.tensor(idx), ew, padding_idx)
    ty = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx)
    assert_close(ey, ty, dtype)
    g = _arr(rng, tuple(ty.shape), dtype)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(ew.grad, tw.grad, dtype, "weight grad")


def test_embedding_padding_row_gets_no_grad(rng):
    w = leaf(rng.standard_normal((4, 3)))
    idx = ember.tensor([[0, 2, 2], [2, 1, 0]])
    F.embedding(idx, w, padding_idx=2).sum().backward()
    np.testing.assert_array_equal(np_of(w.grad), [[2, 2, 2], [1, 1, 1], [0, 0, 0], [0, 0, 0]])


def test_embedding_gradcheck(rng):
    w = leaf(rng.standard_normal((5, 3)))
    idx = ember.tensor([[1, 4], [1, 0]])
    assert gradcheck(lambda ww: F.embedding(idx, ww), (w,))
    # (with padding_idx the forward still reads the padding row, whose gradient is zero by
    # definition, so a finite-difference check does not apply there)


def test_embedding_errors():
    w = ember.zeros(5, 3)
    with pytest.raises(IndexError, match="index 5 is out of range"):
        F.embedding(ember.tensor([0, 5]), w)
    with pytest.raises(IndexError, match="index -1 is out of range"):
        F.embedding(ember.tensor([-1]), w)
    with pytest.raises(TypeError, match="int64"):
        F.embedding(ember.tensor([0.0, 1.0]), w)
    with pytest.raises(ValueError, match="2-D weight"):
        F.embedding(ember.tensor([0]), ember.zeros(5))
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(ember.tensor([0]), w, padding_idx=5)
    with pytest.raises(NotImplementedError):
        F.embedding(ember.tensor([0]), w, max_norm=1.0)


def test_functional_exports():
    for name in ("linear", "batch_norm", "layer_norm", "dropout", "dropout2d", "embedding"):
        assert callable(getattr(F, name))


def test_linear_module_without_bias():
    from ember import nn

    layer = nn.Linear(5, 3, bias=False)
    assert layer.bias is None
    assert list(layer.state_dict()) == ["weight"]
    x = ember.randn(4, 5)
    np.testing.assert_allclose(layer(x).detach().numpy(), x.numpy() @ layer.weight.detach().numpy().T, rtol=1e-6)
