"""Loss functions: forward and gradients against torch for every reduction and option (float32 and
float64, randomized shapes), cross_entropy with class indices / probabilities / weight /
ignore_index / label_smoothing, float64 gradchecks, stability at |x| = 1e4, module forms against
torch's modules, numpy references that run without torch, and bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck

from conftest import make, to_np

DTYPES = ["float32", "float64"]
REDUCTIONS = ["none", "mean", "sum"]
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def _pair(torch, arr, grad=True):
    return ember.tensor(arr, requires_grad=grad), torch.tensor(arr, requires_grad=grad)


def _compare(torch, out, tout, dtype, grads=()):
    """Forward values, then backward with one random upstream gradient; `grads` = pairs of
    (ember leaf, torch leaf) whose .grad must agree."""
    np.testing.assert_allclose(to_np(out), tout.detach().numpy(), **TOL[dtype])
    assert tuple(out.shape) == tuple(tout.shape)
    g = np.random.default_rng(7).standard_normal(tuple(tout.shape)).astype(dtype)
    out.backward(ember.tensor(g))
    tout.backward(torch.tensor(g))
    for e, t in grads:
        assert (e.grad is None) == (t.grad is None)
        if t.grad is not None:
            np.testing.assert_allclose(to_np(e.grad), t.grad.numpy(), **TOL[dtype])


def _shape(rng):
    return tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 4)))


# --- pointwise losses ----------------------------------------------------------------------------

def _regression_inputs(rng, dtype, shape):
    return (rng.standard_normal(shape) * 2).astype(dtype), (rng.standard_normal(shape) * 2).astype(dtype)


POINTWISE = [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("smooth_l1_loss", {"beta": 2.5}), ("huber_loss", {}),
    ("huber_loss", {"delta": 0.3}), ("huber_loss", {"delta": 2.0}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kwargs", POINTWISE)
def test_regression_losses_match_torch(torch, rng, name, kwargs, dtype, reduction):
    import torch.nn.functional as tF

    for _ in range(2):
        xn, tn = _regression_inputs(rng, dtype, _shape(rng))
        (x, tx), (t, tt) = _pair(torch, xn), _pair(torch, tn)
        out = getattr(F, name)(x, t, reduction=reduction, **kwargs)
        tout = getattr(tF, name)(tx, tt, reduction=reduction, **kwargs)
        _compare(torch, out, tout, dtype, [(x, tx), (t, tt)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses_match_torch(torch, rng, name, reduction):
    """torch's weighted means differ: mse/l1 divide by sum(weight), huber by the element count."""
    import torch.nn.functional as tF

    for dtype in DTYPES:
        xn, tn = _regression_inputs(rng, dtype, (3, 4))
        wn = rng.uniform(0.1, 2.0, (3, 4)).astype(dtype)
        (x, tx), (t, tt), (w, tw) = _pair(torch, xn), _pair(torch, tn), _pair(torch, wn)
        out = getattr(F, name)(x, t, reduction=reduction, weight=w)
        tout = getattr(tF, name)(tx, tt, reduction=reduction, weight=tw)
        _compare(torch, out, tout, dtype, [(x, tx), (t, tt), (w, tw)])


def test_regression_broadcast_warns_like_torch(torch):
    x = ember.randn(3, 1, requires_grad=True)
    t = ember.randn(3)
    with pytest.warns(UserWarning, match="different to the input size"):
        out = F.mse_loss(x, t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = torch.nn.functional.mse_loss(torch.tensor(to_np(x)), torch.tensor(to_np(t)))
    assert out.item() == pytest.approx(tout.item(), rel=1e-6)
    out.backward()
    assert tuple(x.grad.shape) == (3, 1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_matches_torch(torch, rng, dtype, reduction):
    import torch.nn.functional as tF

    for use_weight in (False, True):
        shape = _shape(rng)
        xn = rng.uniform(0.01, 0.99, shape).astype(dtype)
        tn = rng.uniform(0, 1, shape).astype(dtype)
        (x, tx), (t, tt) = _pair(torch, xn), _pair(torch, tn)
        wn = rng.uniform(0.5, 2, shape[-1:]).astype(dtype)  # broadcast along the last dim
        w, tw = (ember.tensor(wn), torch.tensor(wn)) if use_weight else (None, None)
        out = F.binary_cross_entropy(x, t, weight=w, reduction=reduction)
        tout = tF.binary_cross_entropy(tx, tt, weight=tw, reduction=reduction)
        _compare(torch, out, tout, dtype, [(x, tx), (t, tt)])


def test_bce_clamps_logs_like_torch(torch):
    xn = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    tn = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    (x, tx) = _pair(torch, xn)
    out = F.binary_cross_entropy(x, ember.tensor(tn), reduction="none")
    tout = torch.nn.functional.binary_cross_entropy(tx, torch.tensor(tn), reduction="none")
    np.testing.assert_allclose(to_np(out), tout.detach().numpy())
    assert to_np(out)[0] == 100.0
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy())
    assert np.isfinite(to_np(x.grad)).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_matches_torch(torch, rng, dtype, reduction):
    import torch.nn.functional as tF

    for use_w, use_pw in [(False, False), (True, False), (False, True), (True, True)]:
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        xn = (rng.standard_normal(shape) * 5).astype(dtype)
        tn = rng.uniform(0, 1, shape).astype(dtype)
        (x, tx), (t, tt) = _pair(torch, xn), _pair(torch, tn)
        kw, tkw = {}, {}
        if use_w:
            wn = rng.uniform(0.5, 2, shape).astype(dtype)
            kw["weight"], tkw["weight"] = ember.tensor(wn), torch.tensor(wn)
        if use_pw:
            pn = rng.uniform(0.5, 3, shape[-1:]).astype(dtype)  # one per class, broadcast along the last dim
            kw["pos_weight"], tkw["pos_weight"] = ember.tensor(pn), torch.tensor(pn)
        out = F.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw)
        tout = tF.binary_cross_entropy_with_logits(tx, tt, reduction=reduction, **tkw)
        _compare(torch, out, tout, dtype, [(x, tx), (t, tt)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_hinge_embedding_matches_torch(torch, rng, dtype, reduction):
    import torch.nn.functional as tF

    for margin in (1.0, 0.5, 2.0):
        shape = _shape(rng)
        xn = (rng.standard_normal(shape) * 2).astype(dtype)
        tn = rng.choice([-1.0, 1.0], size=shape).astype(dtype)
        x, tx = _pair(torch, xn)
        out = F.hinge_embedding_loss(x, ember.tensor(tn), margin=margin, reduction=reduction)
        tout = tF.hinge_embedding_loss(tx, torch.tensor(tn), margin=margin, reduction=reduction)
        _compare(torch, out, tout, dtype, [(x, tx)])
    # integer labels work too
    out = F.hinge_embedding_loss(ember.tensor([0.3, 2.0]), ember.tensor([1, -1]))
    assert out.item() == pytest.approx((0.3 + 0.0) / 2)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_div_matches_torch(torch, rng, dtype, reduction):
    import torch.nn.functional as tF

    for log_target in (False, True):
        shape = (3, 5)
        xn = np.log(rng.dirichlet(np.ones(5), size=3)).astype(dtype)
        tn = rng.dirichlet(np.ones(5), size=3).astype(dtype)
        tn[0, 1] = 0.0  # xlogy(0, 0) = 0
        if log_target:
            tn = np.log(tn + 0.1).astype(dtype)
        (x, tx), (t, tt) = _pair(torch, xn), _pair(torch, tn)
        out = F.kl_div(x, t, reduction=reduction, log_target=log_target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tout = tF.kl_div(tx, tt, reduction=reduction, log_target=log_target)
        _compare(torch, out, tout, dtype, [(x, tx)] + ([(t, tt)] if log_target else []))
        assert tuple(out.shape) == (shape if reduction == "none" else ())


def test_kl_div_target_grad_where_positive(torch, rng):
    xn = np.log(rng.dirichlet(np.ones(4), size=2))
    tn = rng.dirichlet(np.ones(4), size=2)
    (x, tx), (t, tt) = _pair(torch, xn), _pair(torch, tn)
    F.kl_div(x, t, reduction="sum").backward()
    torch.nn.functional.kl_div(tx, tt, reduction="sum").backward()
    np.testing.assert_allclose(to_np(t.grad), tt.grad.numpy(), rtol=1e-12)


# --- cross_entropy and nll_loss ------------------------------------------------------------------

def _ce_inputs(rng, dtype, shape, ignore=False):
    """logits of `shape` ([C], [N, C] or [N, C, d...]) and int64 targets (some = -100 when ignore)."""
    C = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    xn = (rng.standard_normal(shape) * 3).astype(dtype)
    yn = rng.integers(0, C, size=tshape).astype(np.int64)
    if ignore and yn.size > 1:
        yn.reshape(-1)[::3] = -100
    return xn, np.asarray(yn)


CE_SHAPES = [(5,), (4, 3), (8, 10), (3, 4, 5), (2, 3, 2, 4)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CE_SHAPES)
def test_cross_entropy_indices_match_torch(torch, rng, shape, dtype, reduction):
    import torch.nn.functional as tF

    C = shape[0] if len(shape) == 1 else shape[1]
    for use_w, ignore, ls in [(False, False, 0.0), (True, False, 0.0), (False, True, 0.0), (True, True, 0.0),
                              (False, False, 0.2), (True, True, 0.3), (False, True, 1.0)]:
        xn, yn = _ce_inputs(rng, dtype, shape, ignore)
        x, tx = _pair(torch, xn)
        wn = rng.uniform(0.2, 2.0, C).astype(dtype)
        w, tw = (ember.tensor(wn), torch.tensor(wn)) if use_w else (None, None)
        out = F.cross_entropy(x, ember.tensor(yn), weight=w, reduction=reduction, label_smoothing=ls)
        tout = tF.cross_entropy(tx, torch.tensor(yn), weight=tw, reduction=reduction, label_smoothing=ls)
        _compare(torch, out, tout, dtype, [(x, tx)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CE_SHAPES)
def test_cross_entropy_probabilities_match_torch(torch, rng, shape, dtype, reduction):
    import torch.nn.functional as tF

    C = shape[0] if len(shape) == 1 else shape[1]
    cdim = 0 if len(shape) == 1 else 1
    for use_w, ls in [(False, 0.0), (True, 0.0), (False, 0.25), (True, 0.1)]:
        xn = (rng.standard_normal(shape) * 3).astype(dtype)
        pn = np.moveaxis(rng.dirichlet(np.ones(C), size=np.moveaxis(xn, cdim, -1).shape[:-1]), -1, cdim)
        pn = pn.astype(dtype)
        (x, tx), (p, tp) = _pair(torch, xn), _pair(torch, pn)
        wn = rng.uniform(0.2, 2.0, C).astype(dtype)
        w, tw = (ember.tensor(wn), torch.tensor(wn)) if use_w else (None, None)
        out = F.cross_entropy(x, p, weight=w, reduction=reduction, label_smoothing=ls)
        tout = tF.cross_entropy(tx, tp, weight=tw, reduction=reduction, label_smoothing=ls)
        _compare(torch, out, tout, dtype, [(x, tx), (p, tp)])


def test_cross_entropy_numpy_reference(rng):
    """Runs without torch: the textbook formula, mean over samples, and grad = (softmax - onehot) / N."""
    xn = rng.standard_normal((6, 4))
    yn = rng.integers(0, 4, 6)
    x = ember.tensor(xn, requires_grad=True)
    loss = F.cross_entropy(x, ember.tensor(yn))
    e = np.exp(xn - xn.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    assert loss.item() == pytest.approx(-np.log(p[np.arange(6), yn]).mean(), rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(to_np(x.grad), (p - np.eye(4)[yn]) / 6, rtol=1e-10, atol=1e-14)
    # the same through log_softmax + nll_loss
    x2 = ember.tensor(xn, requires_grad=True)
    l2 = F.nll_loss(F.log_softmax(x2, dim=1), ember.tensor(yn))
    l2.backward()
    assert l2.item() == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(to_np(x2.grad), to_np(x.grad), rtol=1e-10, atol=1e-14)


def test_cross_entropy_weighted_mean_divides_by_target_weights(rng):
    xn = rng.standard_normal((5, 3))
    yn = np.array([0, 2, 2, 1, -100])
    w = np.array([0.5, 2.0, 3.0])
    loss = F.cross_entropy(ember.tensor(xn), ember.tensor(yn), weight=ember.tensor(w))
    lsm = xn - np.log(np.exp(xn).sum(1, keepdims=True))
    keep = yn != -100
    per = -w[yn[keep]] * lsm[np.arange(5)[keep], yn[keep]]
    assert loss.item() == pytest.approx(per.sum() / w[yn[keep]].sum(), rel=1e-12)


def test_cross_entropy_all_ignored_and_empty(torch):
    x = ember.randn(3, 4)
    y = ember.tensor([-100, -100, -100])
    assert np.isnan(F.cross_entropy(x, y).item())
    assert F.cross_entropy(x, y, reduction="sum").item() == 0.0
    assert np.isnan(F.cross_entropy(ember.zeros(0, 4), ember.zeros(0, dtype=ember.int64)).item())
    assert np.isnan(torch.nn.functional.cross_entropy(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)).item())
    xg = ember.randn(3, 4, requires_grad=True)
    F.cross_entropy(xg, y).backward()
    assert np.all(to_np(xg.grad) == 0) or np.all(np.isnan(to_np(xg.grad)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_stable_at_1e4(torch, dtype):
    xn = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    yn = np.array([1, 0, 2])
    x, tx = _pair(torch, xn)
    for ls in (0.0, 0.1):
        x.grad = None
        tx.grad = None
        out = F.cross_entropy(x, ember.tensor(yn), reduction="none", label_smoothing=ls)
        tout = torch.nn.functional.cross_entropy(tx, torch.tensor(yn), reduction="none", label_smoothing=ls)
        assert np.isfinite(to_np(out)).all()
        np.testing.assert_allclose(to_np(out), tout.detach().numpy(), rtol=1e-6)
        out.sum().backward()
        tout.sum().backward()
        assert np.isfinite(to_np(x.grad)).all()
        np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CE_SHAPES)
def test_nll_loss_matches_torch(torch, rng, shape, dtype, reduction):
    import torch.nn.functional as tF

    C = shape[0] if len(shape) == 1 else shape[1]
    for use_w, ignore in [(False, False), (True, False), (True, True), (False, True)]:
        xn, yn = _ce_inputs(rng, dtype, shape, ignore)
        x, tx = _pair(torch, xn)
        wn = rng.uniform(0.2, 2.0, C).astype(dtype)
        w, tw = (ember.tensor(wn), torch.tensor(wn)) if use_w else (None, None)
        out = F.nll_loss(x, ember.tensor(yn), weight=w, reduction=reduction)
        tout = tF.nll_loss(tx, torch.tensor(yn), weight=tw, reduction=reduction)
        _compare(torch, out, tout, dtype, [(x, tx)])


def test_custom_ignore_index(torch, rng):
    xn = rng.standard_normal((6, 4))
    yn = np.array([0, 3, 1, 3, 2, 0])
    for fn in ("cross_entropy", "nll_loss"):
        x, tx = _pair(torch, xn)
        out = getattr(F, fn)(x, ember.tensor(yn), ignore_index=3)
        tout = getattr(torch.nn.functional, fn)(tx, torch.tensor(yn), ignore_index=3)
        _compare(torch, out, tout, "float64", [(x, tx)])


# --- multi_margin_loss ---------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multi_margin_matches_torch(torch, rng, dtype, reduction):
    import torch.nn.functional as tF

    for p, margin, use_w, shape in [(1, 1.0, False, (5, 4)), (2, 1.0, False, (5, 4)), (1, 0.5, True, (3, 6)),
                                    (2, 2.0, True, (4, 3)), (1, 1.0, False, (4,)), (2, 1.0, True, (7,))]:
        C = shape[-1]
        xn = rng.standard_normal(shape).astype(dtype)
        yn = rng.integers(0, C, size=shape[:-1]).astype(np.int64)
        x, tx = _pair(torch, xn)
        wn = rng.uniform(0.2, 2.0, C).astype(dtype)
        w, tw = (ember.tensor(wn), torch.tensor(wn)) if use_w else (None, None)
        out = F.multi_margin_loss(x, ember.tensor(yn), p=p, margin=margin, weight=w, reduction=reduction)
        tout = tF.multi_margin_loss(tx, torch.tensor(yn), p=p, margin=margin, weight=tw, reduction=reduction)
        _compare(torch, out, tout, dtype, [(x, tx)])


# --- gradchecks (float64 finite differences) ----------------------------------------------------------

def _gc(fn, *inputs):
    assert gradcheck(fn, tuple(inputs))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_pointwise_losses(rng, reduction):
    x = ember.tensor(rng.standard_normal((2, 3)) * 2, requires_grad=True)
    t = ember.tensor(rng.standard_normal((2, 3)) * 2, requires_grad=True)
    w = ember.tensor(rng.uniform(0.5, 2, (2, 3)), requires_grad=True)
    _gc(lambda a, b, c: F.mse_loss(a, b, reduction=reduction, weight=c), x, t, w)
    _gc(lambda a, b, c: F.l1_loss(a, b, reduction=reduction, weight=c), x, t, w)
    _gc(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.7), x, t)
    _gc(lambda a, b, c: F.huber_loss(a, b, reduction=reduction, delta=0.8, weight=c), x, t, w)
    p = ember.tensor(rng.uniform(0.05, 0.95, (2, 3)), requires_grad=True)
    q = ember.tensor(rng.uniform(0, 1, (2, 3)), requires_grad=True)
    _gc(lambda a, b, c: F.binary_cross_entropy(a, b, weight=c, reduction=reduction), p, q, w)
    pw = ember.tensor(rng.uniform(0.5, 3, (3,)), requires_grad=True)
    _gc(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, weight=c, pos_weight=d, reduction=reduction),
        x, q, w, pw)
    labels = ember.tensor(rng.choice([-1.0, 1.0], (2, 3)))
    _gc(lambda a: F.hinge_embedding_loss(a, labels, margin=0.5, reduction=reduction), x)
    logp = ember.tensor(np.log(rng.dirichlet(np.ones(3), 2)), requires_grad=True)
    tp = ember.tensor(rng.dirichlet(np.ones(3), 2), requires_grad=True)
    _gc(lambda a, b: F.kl_div(a, b, reduction=reduction), logp, tp)
    _gc(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=True), logp, logp.detach().clone().requires_grad_())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_class_losses(rng, reduction):
    for shape in [(4, 3), (3,), (2, 3, 2)]:
        xn, yn = _ce_inputs(rng, "float64", shape, ignore=shape == (4, 3))
        x = ember.tensor(xn, requires_grad=True)
        y = ember.tensor(yn)
        w = ember.tensor(rng.uniform(0.5, 2, 3))
        _gc(lambda a: F.cross_entropy(a, y, weight=w, reduction=reduction, label_smoothing=0.2), x)
        _gc(lambda a: F.nll_loss(a, y, weight=w, reduction=reduction), x)
        cdim = 0 if len(shape) == 1 else 1
        pn = np.moveaxis(rng.dirichlet(np.ones(3), size=np.moveaxis(xn, cdim, -1).shape[:-1]), -1, cdim)
        p = ember.tensor(pn, requires_grad=True)
        _gc(lambda a, b: F.cross_entropy(a, b, weight=w, reduction=reduction, label_smoothing=0.1), x, p)
    x = ember.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    y = ember.tensor(rng.integers(0, 5, 4))
    w = ember.tensor(rng.uniform(0.5, 2, 5))
    for p in (1, 2):
        _gc(lambda a: F.multi_margin_loss(a, y, p=p, margin=0.7, weight=w, reduction=reduction), x)


# --- stability ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_stable_at_1e4(dtype):
    big = ember.tensor(np.array([-1e4, -30.0, 0.0, 30.0, 1e4], dtype=dtype), requires_grad=True)
    t01 = ember.tensor(np.array([1.0, 0.0, 0.5, 1.0, 0.0], dtype=dtype))
    out = F.binary_cross_entropy_with_logits(big, t01, reduction="none",
                                             pos_weight=ember.tensor(np.array([2.0], dtype=dtype)))
    out.sum().backward()
    assert np.isfinite(to_np(out)).all() and np.isfinite(to_np(big.grad)).all()
    assert to_np(out)[0] == pytest.approx(2e4, rel=1e-6)  # pos_weight 2 * softplus(1e4)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        x = ember.tensor(np.array([1e4, -1e4], dtype=dtype), requires_grad=True)
        out = getattr(F, name)(x, ember.tensor(np.array([-1e4, 1e4], dtype=dtype)))
        out.backward()
        assert np.isfinite(out.item()) and np.isfinite(to_np(x.grad)).all(), name
    x = ember.tensor(np.array([[1e4, -1e4, 3.0]], dtype=dtype), requires_grad=True)
    out = F.multi_margin_loss(x, ember.tensor([1]), p=2)
    out.backward()
    assert np.isfinite(out.item()) and np.isfinite(to_np(x.grad)).all()


def test_cross_entropy_same_bits_for_any_thread_count(rng):
    xn = rng.standard_normal((512, 300)).astype(np.float32)
    yn = rng.integers(0, 300, 512)
    old = ember.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            x = ember.tensor(xn, requires_grad=True)
            loss = F.cross_entropy(x, ember.tensor(yn), label_smoothing=0.1)
            loss.backward()
            results.append((loss.item(), to_np(x.grad).copy(), to_np(F.log_softmax(ember.tensor(xn), 1))))
    finally:
        ember.set_num_threads(old)
    for r in results[1:]:
        assert r[0] == results[0][0]
        np.testing.assert_array_equal(r[1], results[0][1])
        np.testing.assert_array_equal(r[2], results[0][2])


# --- module forms -------------------------------------------------------------------------------------

def test_loss_modules_match_torch(torch, rng):
    xn = rng.standard_normal((6, 4)).astype(np.float32)
    yn = rng.integers(0, 4, 6)
    wn = rng.uniform(0.5, 2, 4).astype(np.float32)
    tn = rng.standard_normal((6, 4)).astype(np.float32)
    pn = rng.uniform(0, 1, (6, 4)).astype(np.float32)
    lp = np.log(rng.dirichlet(np.ones(4), 6)).astype(np.float32)
    cases = [
        ("CrossEntropyLoss", dict(weight=wn), yn),
        ("CrossEntropyLoss", dict(ignore_index=2, label_smoothing=0.1, reduction="sum"), yn),
        ("NLLLoss", dict(weight=wn, reduction="none"), yn),
        ("MSELoss", {}, tn), ("L1Loss", dict(reduction="sum"), tn), ("SmoothL1Loss", dict(beta=0.5), tn),
        ("HuberLoss", dict(delta=0.5), tn), ("BCEWithLogitsLoss", dict(pos_weight=wn), pn),
        ("BCEWithLogitsLoss", dict(weight=wn, reduction="none"), pn),
        ("HingeEmbeddingLoss", dict(margin=0.5), np.sign(tn)), ("MultiMarginLoss", dict(p=2, weight=wn), yn),
        ("KLDivLoss", dict(reduction="batchmean"), np.exp(lp)), ("KLDivLoss", dict(log_target=True), lp),
    ]
    for cls, kwargs, target in cases:
        ek = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        m, tm = getattr(nn, cls)(**ek), getattr(torch.nn, cls)(**tk)
        x, tx = _pair(torch, xn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note on kl_div's 'mean'
            out, tout = m(x, ember.tensor(target)), tm(tx, torch.tensor(target))
        _compare(torch, out, tout, "float32", [(x, tx)])
    x, tx = _pair(torch, rng.uniform(0.05, 0.95, (6, 4)).astype(np.float32))
    _compare(torch, nn.BCELoss(weight=ember.tensor(wn))(x, ember.tensor(pn)),
             torch.nn.BCELoss(weight=torch.tensor(wn))(tx, torch.tensor(pn)), "float32", [(x, tx)])


def test_loss_modules_without_torch():
    m = nn.CrossEntropyLoss(weight=ember.tensor([1.0, 2.0]))
    assert "weight" in dict(m.named_buffers())
    x = ember.tensor([[0.0, 0.0], [0.0, 0.0]], requires_grad=True)
    assert m(x, ember.tensor([0, 1])).item() == pytest.approx(np.log(2))
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction=sum)"
    with pytest.warns(UserWarning, match="deprecated"):
        legacy = nn.MSELoss(size_average=False)
    assert legacy.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)


# --- bad input ----------------------------------------------------------------------------------------

def test_class_index_out_of_range_raises_index_error():
    x = ember.randn(4, 5)
    for fn in (F.cross_entropy, F.nll_loss, F.multi_margin_loss):
        with pytest.raises(IndexError, match="Target 7 is out of bounds"):
            fn(x, ember.tensor([0, 1, 7, 2]))
        with pytest.raises(IndexError, match="Target -3"):
            fn(x, ember.tensor([0, -3, 1, 2]))
    with pytest.raises(IndexError, match="Target -100"):
        F.multi_margin_loss(x, ember.tensor([0, -100, 1, 2]))  # no ignore_index here
    with pytest.raises(IndexError, match="Target 5"):
        F.cross_entropy(ember.randn(2, 5, 3), ember.tensor([[0, 1, 5], [1, 1, 1]]))
    with pytest.raises(IndexError):
        F.cross_entropy(ember.randn(5), ember.tensor(9))


def test_bad_shapes_and_dtypes_raise():
    x = ember.randn(4, 5)
    with pytest.raises(ValueError, match="batch_size"):
        F.cross_entropy(x, ember.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="batch_size"):
        F.nll_loss(x, ember.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="target of shape"):
        F.cross_entropy(ember.randn(2, 3, 4), ember.tensor([[0, 1], [1, 1]]))
    with pytest.raises(TypeError, match="int64"):
        F.cross_entropy(x, ember.tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="floating point type for target"):
        F.cross_entropy(x, ember.zeros(4, 5, dtype=ember.int64))
    with pytest.raises(TypeError, match="floating-point input"):
        F.cross_entropy(ember.tensor([[1, 2]]), ember.tensor([0]))
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(x, ember.tensor([0, 1, 2, 3]), weight=ember.ones(4))
    with pytest.raises(ValueError, match="weight"):
        F.nll_loss(x, ember.tensor([0, 1, 2, 3]), weight=ember.ones(5, 1))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, ember.tensor([0, 1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index"):
        F.cross_entropy(x, F.softmax(ember.randn(4, 5), dim=1), ignore_index=1)
    with pytest.raises(ValueError, match="0-d"):
        F.cross_entropy(ember.tensor(1.0), ember.tensor(0))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="batchmean"):
        F.cross_entropy(x, ember.tensor([0, 1, 2, 3]), reduction="batchmean")
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([0.5, 1.5]), ember.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([0.5, float("nan")]), ember.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="same size"):
        F.binary_cross_entropy(ember.tensor([0.5, 0.5]), ember.tensor([1.0]))
    with pytest.raises(ValueError, match="same as input size"):
        F.binary_cross_entropy_with_logits(ember.randn(3), ember.rand(2))
    with pytest.raises(ValueError, match="broadcast"), pytest.warns(UserWarning, match="target size"):
        F.mse_loss(ember.randn(3), ember.randn(4))
    with pytest.raises(ValueError, match="same size"):
        F.mse_loss(ember.randn(3), ember.randn(3), weight=ember.ones(2))
    with pytest.raises(TypeError, match="floating-point target"):
        F.mse_loss(ember.randn(3), ember.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(ember.randn(3), ember.randn(3), beta=-1.0)
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(ember.randn(3), ember.randn(3), delta=0.0)
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        F.multi_margin_loss(x, ember.tensor([0, 1, 2, 3]), p=3)
    with pytest.raises(ValueError, match="vector or matrix"):
        F.multi_margin_loss(ember.randn(2, 3, 4), ember.tensor([0, 1]))
    with pytest.raises(NotImplementedError, match="weight"):
        F.cross_entropy(x, ember.tensor([0, 1, 2, 3]), weight=ember.ones(5, requires_grad=True))
    with pytest.raises(TypeError):
        F.cross_entropy(x, [0, 1, 2, 3])
    with pytest.raises(TypeError):
        F.mse_loss(x, x, reduction=None)


def test_saved_tensor_modified_in_place_is_detected():
    x = ember.randn(3, 4, requires_grad=True)
    t = ember.randn(3, 4)
    loss = F.mse_loss(x * 1.0, t)
    t.add_(ember.ones_like(t))
    with pytest.raises(RuntimeError, match="modified by an inplace operation|in-place|inplace"):
        loss.backward()


def test_mixed_dtypes_give_gradients_of_each_inputs_dtype(rng):
    x = ember.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    p = ember.tensor(rng.dirichlet(np.ones(4), 3), requires_grad=True)  # float64 probabilities
    F.cross_entropy(x, p).backward()
    assert x.grad.dtype == ember.float32 and p.grad.dtype == ember.float64
    t = ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x.grad = None
    out = F.mse_loss(x, t)
    assert out.dtype == ember.float64  # promoted, like torch
    out.backward()
    assert x.grad.dtype == ember.float32 and t.grad.dtype == ember.float64
    w = ember.tensor(rng.uniform(0.5, 2, 4).astype(np.float64))
    assert F.cross_entropy(x, ember.tensor([0, 1, 2, 3][:3]), weight=w).dtype == ember.float32


def test_one_backward_node_per_loss():
    x = ember.randn(4, 3, requires_grad=True)
    assert F.cross_entropy(x, ember.tensor([0, 1, 2, 1])).grad_fn.name() == "CrossEntropyLossBackward"
    assert F.mse_loss(x, ember.randn(4, 3)).grad_fn.name() == "MseLossBackward"
    assert F.log_softmax(x, dim=1).grad_fn.name() == "LogSoftmaxBackward"


def test_random_arguments_never_crash():
    """Random shapes, dtypes and options into every function, in a child process: each call either
    works or raises a Python exception; the process never dies."""
    from conftest import run_python

    r = run_python("""
        import itertools, numpy as np, ember, ember.nn.functional as F
        rng = np.random.default_rng(0)
        def rand_tensor():
            nd = int(rng.integers(0, 4))
            shape = tuple(int(s) for s in rng.integers(0, 4, nd))
            kind = rng.integers(0, 4)
            if kind == 0:
                return ember.tensor(rng.integers(-3, 5, shape))
            if kind == 1:
                return ember.tensor(rng.standard_normal(shape) > 0)
            t = ember.tensor(rng.standard_normal(shape).astype(np.float32 if kind == 2 else np.float64))
            return t.requires_grad_(bool(rng.integers(0, 2)))
        names = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "hinge_embedding_loss",
                 "multi_margin_loss", "kl_div"]
        acts = ["relu", "leaky_relu", "elu", "selu", "gelu", "softplus", "silu", "hardtanh", "relu6"]
        ok = errors = 0
        for i in range(3000):
            try:
                if i % 3 == 0:
                    name = acts[i % len(acts)]
                    out = getattr(F, name)(rand_tensor())
                elif i % 3 == 1:
                    f = [F.softmax, F.log_softmax, lambda t, d: F.maxout(t, int(rng.integers(-1, 4)), d)][i % 2]
                    out = f(rand_tensor(), int(rng.integers(-4, 4)))
                else:
                    name = names[i % len(names)]
                    kw = {}
                    if rng.integers(0, 3) == 0:
                        kw["reduction"] = str(rng.choice(["none", "mean", "sum", "batchmean", "bad"]))
                    weighted = ("cross_entropy", "nll_loss", "multi_margin_loss", "binary_cross_entropy")
                    if name in weighted and rng.integers(0, 2):
                        kw["weight"] = rand_tensor()
                    out = getattr(F, name)(rand_tensor(), rand_tensor(), **kw)
                if out.requires_grad:
                    out.sum().backward()
                ok += 1
            except (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError):
                errors += 1
        print("ok", ok, "errors", errors)
    """, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ok" in r.stdout
