"""Convolution and pooling ops (nn.functional.conv1d/conv2d, max_pool1d/2d, avg_pool2d,
adaptive_avg_pool2d) against torch with randomized shapes and arguments (forward, indices and
every gradient), finite-difference gradchecks in float64, and argument errors."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from layer_helpers import assert_close, leaf, np_of

DTYPES = [np.float32, np.float64]


def _conv_case(rng, dims):
    """Random valid conv arguments: (x shape, w shape, stride, padding, dilation, groups)."""
    while True:
        groups = int(rng.choice([1, 1, 2, 3]))
        depthwise = rng.random() < 0.25
        if depthwise:
            cin = int(rng.integers(1, 5))
            groups, cout = cin, cin * int(rng.integers(1, 3))
        else:
            cin = groups * int(rng.integers(1, 3))
            cout = groups * int(rng.integers(1, 4))
        k = tuple(int(v) for v in rng.integers(1, 4, dims))
        s = tuple(int(v) for v in rng.integers(1, 3, dims))
        d = tuple(int(v) for v in rng.integers(1, 3, dims))
        p = tuple(int(v) for v in rng.integers(0, 3, dims))
        size = tuple(int(v) for v in rng.integers(1, 9, dims))
        if all((n + 2 * pp - dd * (kk - 1) - 1) >= 0 for n, pp, dd, kk in zip(size, p, d, k)):
            n = int(rng.integers(1, 4))
            return (n, cin) + size, (cout, cin // groups) + k, s, p, d, groups


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(12))
def test_conv2d_vs_torch(torch, dtype, seed):
    rng = np.random.default_rng(seed)
    xs, ws, s, p, d, g = _conv_case(rng, 2)
    x, w, b = (rng.standard_normal(sh).astype(dtype) for sh in (xs, ws, (ws[0],)))
    use_bias = seed % 3 != 0
    ex, ew, eb = leaf(x), leaf(w), leaf(b) if use_bias else None
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if use_bias else None
    ey = F.conv2d(ex, ew, eb, s, p, d, g)
    ty = torch.nn.functional.conv2d(tx, tw, tb, s, p, d, g)
    assert_close(ey, ty, dtype, "output", scale=10)
    go = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ey.backward(ember.tensor(go))
    ty.backward(torch.tensor(go))
    assert_close(ex.grad, tx.grad, dtype, "input grad", scale=10)
    assert_close(ew.grad, tw.grad, dtype, "weight grad", scale=10)
    if use_bias:
        assert_close(eb.grad, tb.grad, dtype, "bias grad", scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(8))
def test_conv1d_vs_torch(torch, dtype, seed):
    rng = np.random.default_rng(100 + seed)
    xs, ws, s, p, d, g = _conv_case(rng, 1)
    x, w, b = (rng.standard_normal(sh).astype(dtype) for sh in (xs, ws, (ws[0],)))
    ex, ew, eb = leaf(x), leaf(w), leaf(b)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ey = F.conv1d(ex, ew, eb, s, p, d, g)
    ty = torch.nn.functional.conv1d(tx, tw, tb, s, p, d, g)
    assert_close(ey, ty, dtype, "output", scale=10)
    go = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ey.backward(ember.tensor(go))
    ty.backward(torch.tensor(go))
    for e, t, what in ((ex, tx, "input"), (ew, tw, "weight"), (eb, tb, "bias")):
        assert_close(e.grad, t.grad, dtype, what + " grad", scale=10)


@pytest.mark.parametrize("shape", [(2, 6, 28, 28), (3, 16, 10, 10), (1, 1, 5, 5)])
def test_conv2d_lenet_shapes_vs_torch(torch, shape, rng):
    # the shapes the direct AVX2 path handles (stride 1, few channels) and the im2col path
    x = rng.standard_normal(shape).astype(np.float32)
    for cout, k, pad in ((6, 5, 2), (16, 5, 0), (4, 3, 1), (8, 1, 0)):
        if shape[2] + 2 * pad < k:
            continue
        w = (rng.standard_normal((cout, shape[1], k, k)) * 0.2).astype(np.float32)
        b = rng.standard_normal(cout).astype(np.float32)
        ex, ew, eb = leaf(x), leaf(w), leaf(b)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        ey, ty = F.conv2d(ex, ew, eb, 1, pad), torch.nn.functional.conv2d(tx, tw, tb, 1, pad)
        assert_close(ey, ty, np.float32, "output", scale=10)
        go = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
        ey.backward(ember.tensor(go))
        ty.backward(torch.tensor(go))
        for e, t in ((ex, tx), (ew, tw), (eb, tb)):
            np.testing.assert_allclose(np_of(e.grad), t.grad.numpy(), rtol=1e-3, atol=1e-3)


def test_conv_padding_strings_unbatched_and_noncontiguous(torch, rng):
    x = rng.standard_normal((3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    for pad in ("same", "valid"):
        e = F.conv2d(ember.tensor(x), ember.tensor(w), padding=pad, dilation=2 if pad == "same" else 1)
        t = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=pad,
                                       dilation=2 if pad == "same" else 1)
        assert_close(e, t)
    xb = rng.standard_normal((2, 6, 8, 9))
    e = F.conv2d(ember.tensor(xb)[:, ::2, :, 1:].transpose(2, 3), ember.tensor(w), stride=2)
    t = torch.nn.functional.conv2d(torch.tensor(xb)[:, ::2, :, 1:].transpose(2, 3), torch.tensor(w), stride=2)
    assert_close(e, t)
    x1 = rng.standard_normal((3, 10))
    w1 = rng.standard_normal((2, 3, 3))
    assert_close(F.conv1d(ember.tensor(x1), ember.tensor(w1), padding="same"),
                 torch.nn.functional.conv1d(torch.tensor(x1), torch.tensor(w1), padding="same"))


def test_conv_gradcheck(rng):
    x = leaf(rng.standard_normal((2, 4, 5, 4)))
    w = leaf(rng.standard_normal((4, 2, 2, 3)))
    b = leaf(rng.standard_normal(4))
    assert gradcheck(lambda a, ww, bb: F.conv2d(a, ww, bb, (2, 1), (1, 1), (1, 2), 2), (x, w, b))
    wd = leaf(rng.standard_normal((4, 1, 3, 3)))  # depthwise
    assert gradcheck(lambda a, ww: F.conv2d(a, ww, None, 1, 1, 1, 4), (x, wd))
    x1 = leaf(rng.standard_normal((2, 3, 7)))
    w1 = leaf(rng.standard_normal((2, 3, 3)))
    assert gradcheck(lambda a, ww: F.conv1d(a, ww, None, 2, 1, 2), (x1, w1))


def test_conv_errors():
    x = ember.zeros(1, 3, 5, 5)
    with pytest.raises(ValueError, match="channels"):
        F.conv2d(x, ember.zeros(2, 2, 3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        F.conv2d(ember.zeros(1, 4, 5, 5), ember.zeros(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv2d(x, ember.zeros(2, 3, 7, 7))
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(x, ember.zeros(2, 3, 3, 3), stride=0)
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(x, ember.zeros(2, 3, 3, 3), padding=-1)
    with pytest.raises(ValueError, match="4-D input"):
        F.conv2d(ember.zeros(5, 5), ember.zeros(2, 3, 3, 3))
    with pytest.raises(TypeError, match="same dtype"):
        F.conv2d(x, ember.zeros(2, 3, 3, 3, dtype=ember.float64))
    with pytest.raises(ValueError, match="bias of shape"):
        F.conv2d(x, ember.zeros(2, 3, 3, 3), ember.zeros(3))
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(x, ember.zeros(2, 3, 3, 3), padding="full")
    with pytest.raises(ValueError, match="3-D weight"):
        F.conv1d(ember.zeros(1, 3, 5), ember.zeros(2, 3))


# --- pooling -----------------------------------------------------------------------------------
def _pool_case(rng, dims, avg=False):
    while True:
        k = tuple(int(v) for v in rng.integers(1, 4, dims))
        s = tuple(int(v) for v in rng.integers(1, 4, dims))
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        d = (1,) * dims if avg else tuple(int(v) for v in rng.integers(1, 3, dims))
        size = tuple(int(v) for v in rng.integers(1, 10, dims))
        ceil = bool(rng.random() < 0.5)
        if all(n + 2 * pp - dd * (kk - 1) - 1 >= 0 for n, pp, dd, kk in zip(size, p, d, k)):
            return (int(rng.integers(1, 3)), int(rng.integers(1, 4))) + size, k, s, p, d, ceil


def _distinct(rng, shape, dtype):
    # distinct values: max pooling's argmax and gradient are then unambiguous
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.01 + rng.uniform(-0.001, 0.001, shape)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(15))
def test_max_pool2d_vs_torch(torch, dtype, seed):
    rng = np.random.default_rng(200 + seed)
    xs, k, s, p, d, ceil = _pool_case(rng, 2)
    x = _distinct(rng, xs, dtype)
    ex, tx = leaf(x), torch.tensor(x, requires_grad=True)
    ey, ei = F.max_pool2d(ex, k, s, p, d, ceil, return_indices=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil, return_indices=True)
    assert_close(ey, ty, dtype)
    # A dilated window can miss the input entirely (value -inf): torch then reports an index past
    # the plane (and its backward writes there); ember reports -1 and drops that gradient.
    missed = np.isneginf(ty.detach().numpy())
    np.testing.assert_array_equal(np_of(ei)[~missed], ti.numpy()[~missed])
    assert np.all(np_of(ei)[missed] == -1)
    if missed.any():
        return
    go = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ey.backward(ember.tensor(go))
    ty.backward(torch.tensor(go))
    assert_close(ex.grad, tx.grad, dtype, "input grad")


@pytest.mark.parametrize("seed", range(8))
def test_max_pool1d_vs_torch(torch, seed):
    rng = np.random.default_rng(300 + seed)
    xs, k, s, p, d, ceil = _pool_case(rng, 1)
    x = _distinct(rng, xs, np.float64)
    ex, tx = leaf(x), torch.tensor(x, requires_grad=True)
    ey = F.max_pool1d(ex, k, s, p, d, ceil)
    ty = torch.nn.functional.max_pool1d(tx, k, s, p, d, ceil)
    assert_close(ey, ty)
    _, ei = F.max_pool1d(ember.tensor(x), k, s, p, d, ceil, return_indices=True)
    _, ti = torch.nn.functional.max_pool1d(torch.tensor(x), k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(np_of(ei), ti.numpy())
    go = rng.standard_normal(tuple(ty.shape))
    ey.backward(ember.tensor(go))
    ty.backward(torch.tensor(go))
    assert_close(ex.grad, tx.grad, what="input grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(15))
def test_avg_pool2d_vs_torch(torch, dtype, seed):
    rng = np.random.default_rng(400 + seed)
    xs, k, s, p, _, ceil = _pool_case(rng, 2, avg=True)
    include_pad = bool(seed % 2)
    x = rng.standard_normal(xs).astype(dtype)
    ex, tx = leaf(x), torch.tensor(x, requires_grad=True)
    ey = F.avg_pool2d(ex, k, s, p, ceil, include_pad)
    ty = torch.nn.functional.avg_pool2d(tx, k, s, p, ceil, include_pad)
    assert_close(ey, ty, dtype)
    go = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ey.backward(ember.tensor(go))
    ty.backward(torch.tensor(go))
    assert_close(ex.grad, tx.grad, dtype, "input grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("in_hw,out", [((8, 8), 1), ((7, 9), (3, 4)), ((5, 5), (5, 5)), ((4, 6), (7, 2)),
                                       ((6, 5), (None, 2)), ((1, 1), 3), ((10, 3), (4, None))])
def test_adaptive_avg_pool2d_vs_torch(torch, dtype, in_hw, out, rng):
    x = rng.standard_normal((2, 3) + in_hw).astype(dtype)
    ex, tx = leaf(x), torch.tensor(x, requires_grad=True)
    ey, ty = F.adaptive_avg_pool2d(ex, out), torch.nn.functional.adaptive_avg_pool2d(tx, out)
    assert_close(ey, ty, dtype)
    go = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ey.backward(ember.tensor(go))
    ty.backward(torch.tensor(go))
    assert_close(ex.grad, tx.grad, dtype, "input grad")


def test_pool_unbatched_and_noncontiguous(torch, rng):
    x = _distinct(rng, (3, 8, 10), np.float64)
    assert_close(F.max_pool2d(ember.tensor(x), 2), torch.nn.functional.max_pool2d(torch.tensor(x), 2))
    assert_close(F.avg_pool2d(ember.tensor(x), 3, 2, 1), torch.nn.functional.avg_pool2d(torch.tensor(x), 3, 2, 1))
    assert_close(F.adaptive_avg_pool2d(ember.tensor(x), 3),
                 torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), 3))
    xb = _distinct(rng, (2, 3, 9, 8), np.float64)
    e = F.max_pool2d(ember.tensor(xb).transpose(2, 3)[:, :, 1:], 2)
    t = torch.nn.functional.max_pool2d(torch.tensor(xb).transpose(2, 3)[:, :, 1:], 2)
    assert_close(e, t)
    assert_close(F.max_pool1d(ember.tensor(x[0]), 3), torch.nn.functional.max_pool1d(torch.tensor(x[0]), 3))


def test_max_pool_nan_and_ties(torch):
    x = np.array([[[[1.0, np.nan, 3.0, 3.0], [0.0, 2.0, 3.0, 1.0]]]])
    ey, ei = F.max_pool2d(ember.tensor(x), 2, return_indices=True)
    ty, ti = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(np_of(ey), ty.numpy())
    np.testing.assert_array_equal(np_of(ei), ti.numpy())


def test_max_pool_window_outside_input():
    # H = 1, kernel 2 with dilation 2 and padding 1: the taps sit at rows -1 and 1
    x = leaf(np.arange(4.0).reshape(1, 1, 1, 4))
    y, idx = F.max_pool2d(x, (2, 3), (3, 1), (1, 1), (2, 2), return_indices=True)
    assert np.all(np.isneginf(np_of(y))) and np.all(np_of(idx) == -1)
    y.sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), 0)


def test_pool_gradcheck(rng):
    x = leaf(_distinct(rng, (2, 2, 5, 6), np.float64))
    assert gradcheck(lambda a: F.max_pool2d(a, (2, 3), (1, 2), (1, 1), (2, 1), True), (x,))
    assert gradcheck(lambda a: F.max_pool2d(a, 2), (x,))
    assert gradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, True, False), (x,))
    assert gradcheck(lambda a: F.avg_pool2d(a, 2), (x,))
    assert gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 4)), (x,))
    assert gradcheck(lambda a: F.max_pool1d(a, 3, 2, 1), (leaf(_distinct(rng, (2, 3, 7), np.float64)),))


def test_pool_errors():
    x = ember.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="half the kernel"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="stride"):
        F.max_pool2d(x, 2, stride=0)
    with pytest.raises(ValueError, match="3-D or 4-D"):
        F.max_pool2d(ember.zeros(4, 4), 2)
    with pytest.raises(ValueError, match="empty"):
        F.avg_pool2d(x, 5)
    with pytest.raises(ValueError, match="positive"):
        F.adaptive_avg_pool2d(x, 0)
    with pytest.raises(TypeError, match="floating-point"):
        F.max_pool2d(ember.zeros(1, 1, 4, 4, dtype=ember.int64), 2)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        F.max_pool1d(ember.zeros(5), 2)
    with pytest.raises(ValueError, match="kernel_size"):
        F.max_pool2d(x, (2, 2, 2))


def test_conv_large_batch_same_bits_for_any_thread_count(torch, rng):
    # enough images for the per-thread image split and the chunked weight-gradient sums
    x = leaf(rng.standard_normal((37, 3, 12, 12)).astype(np.float32))
    w = leaf((rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32))
    b = leaf(rng.standard_normal(8).astype(np.float32))
    go = rng.standard_normal((37, 8, 6, 6)).astype(np.float32)
    results, prev = [], ember.get_num_threads()
    try:
        for nt in (1, 2, 3):
            ember.set_num_threads(nt)
            x.grad = w.grad = b.grad = None
            y = F.conv2d(x, w, b, stride=2, padding=1)
            y.backward(ember.tensor(go))
            results.append([np_of(t).copy() for t in (y, x.grad, w.grad, b.grad)])
    finally:
        ember.set_num_threads(prev)
    for r in results[1:]:
        for a, c in zip(results[0], r):
            np.testing.assert_array_equal(a, c)
    tx, tw, tb = (torch.tensor(np_of(t), requires_grad=True) for t in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=2, padding=1)
    ty.backward(torch.tensor(go))
    for got, t in zip(results[0], (ty, tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(got, t.detach().numpy(), rtol=1e-3, atol=1e-3)
