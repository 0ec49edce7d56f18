"""ember.nn.utils: gradient clipping against torch.nn.utils (and numpy), parameter <-> vector
conversion, and the L1/L2 weight penalties (values, gradients, gradcheck, equivalence with
weight decay)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.optim as optim
from ember.nn import utils

NORMS = [2.0, 1.0, 3.0, 0.5, float("inf"), float("-inf"), 0.0]


def make_params(rng, dtype, shapes=((3, 4), (7,), (2, 2, 2)), scale=1.0, with_none=True):
    """Parameters with gradients (the last one without, when with_none)."""
    params, grads = [], []
    for i, s in enumerate(shapes):
        p = ember.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
        g = (rng.standard_normal(s) * scale).astype(dtype)
        g[..., 0] = 0  # some exact zeros, for norm 0 and -inf
        p.grad = ember.tensor(g)
        params.append(p)
        grads.append(g)
    if with_none:
        params.append(ember.zeros(5, requires_grad=True, dtype=ember.float32 if dtype == np.float32
                                  else ember.float64))
    return params, grads


def numpy_norm(arrays, p):
    flat = np.concatenate([a.ravel().astype(np.float64) for a in arrays])
    if p == 0:
        return float(np.count_nonzero(flat))
    if np.isinf(p):
        return float(np.abs(flat).max() if p > 0 else np.abs(flat).min())
    return float(np.sum(np.abs(flat) ** p) ** (1 / p))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", NORMS)
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(torch, dtype, norm_type, max_norm):
    rng = np.random.default_rng(0)
    params, grads = make_params(rng, dtype)
    tparams = [torch.tensor(p.detach().numpy(), requires_grad=True) for p in params]
    for tp, p in zip(tparams, params):
        if p.grad is not None:
            tp.grad = torch.tensor(p.grad.numpy())
    total = utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type=norm_type)
    assert isinstance(total, ember.Tensor) and total.shape == ()
    assert str(total.dtype).split(".")[-1] == str(ttotal.dtype).split(".")[-1]
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-5)
    for p, tp in zip(params, tparams):
        if p.grad is None:
            assert tp.grad is None
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("norm_type", NORMS)
def test_clip_grad_norm_matches_numpy(norm_type):
    rng = np.random.default_rng(1)
    params, grads = make_params(rng, np.float64, scale=3.0)
    want = numpy_norm(grads, norm_type)
    if norm_type == 0:
        # torch takes the norm of the per-tensor norms, so "order 0" counts the tensors that have a
        # non-zero gradient, not the non-zero elements; ember does the same.
        want = float(sum(np.count_nonzero(g) > 0 for g in grads))
    total = utils.clip_grad_norm_(params, 1.0, norm_type)
    np.testing.assert_allclose(total.item(), want, rtol=1e-12)
    coef = min(1.0 / (want + 1e-6), 1.0)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-12)


def test_clip_grad_norm_single_tensor_and_generators():
    p = ember.tensor([3.0, 4.0], requires_grad=True)
    p.grad = ember.tensor([3.0, 4.0])
    total = utils.clip_grad_norm_(p, 1.0)  # a lone tensor is accepted, as in torch
    assert abs(total.item() - 5.0) < 1e-6
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    q = ember.tensor([1.0], requires_grad=True)
    q.grad = ember.tensor([10.0])
    total = utils.clip_grad_norm_((x for x in [q]), max_norm=2, norm_type=float("inf"))
    assert total.item() == 10.0
    np.testing.assert_allclose(q.grad.numpy(), [2.0 / (10.0 + 1e-6) * 10.0], rtol=1e-6)


def test_clip_grad_norm_no_grads():
    p = ember.zeros(3, requires_grad=True)
    total = utils.clip_grad_norm_([p], 1.0)
    assert total.item() == 0.0
    assert utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite(torch):
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    p.grad = ember.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p.grad.numpy(), [np.inf, 1.0])  # untouched
    tp = torch.tensor([1.0, 2.0], requires_grad=True)
    tp.grad = torch.tensor([float("inf"), 1.0])
    total = utils.clip_grad_norm_([p], 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_([tp], 1.0)
    assert np.isinf(total.item()) and np.isinf(ttotal.item())
    np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
    p.grad = ember.tensor([float("nan"), 1.0])
    tp.grad = torch.tensor([float("nan"), 1.0])
    assert np.isnan(utils.clip_grad_norm_([p], 1.0).item())
    torch.nn.utils.clip_grad_norm_([tp], 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())


def test_get_total_norm_and_clip_grads_with_norm(torch):
    rng = np.random.default_rng(2)
    params, grads = make_params(rng, np.float32, scale=2.0)
    total = utils.get_total_norm([p.grad for p in params if p.grad is not None], 2.0)
    ttotal = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], 2.0)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    utils.clip_grads_with_norm_(params, 1.0, total)
    tgrads = [torch.tensor(g) for g in grads]
    tparams = []
    for g in tgrads:
        t = torch.zeros_like(g, requires_grad=True)
        t.grad = g
        tparams.append(t)
    torch.nn.utils.clip_grads_with_norm_(tparams, 1.0, ttotal)
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_mixed_dtypes_and_noncontiguous_grad():
    a = ember.zeros((3, 4), requires_grad=True)
    g = ember.tensor(np.arange(12, dtype=np.float32).reshape(4, 3)).t()  # non-contiguous gradient
    a.grad = g
    b = ember.zeros(2, dtype=ember.float64, requires_grad=True)
    b.grad = ember.tensor(np.array([3.0, -4.0]))
    total = utils.clip_grad_norm_([a, b], 1.0)
    want = np.sqrt(np.sum(np.arange(12.0) ** 2) + 25.0)
    assert total.dtype == ember.float64
    np.testing.assert_allclose(total.item(), want, rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), np.arange(12.0).reshape(4, 3).T / want, rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), np.array([3.0, -4.0]) / want, rtol=1e-6)


def test_total_norm_same_bits_whatever_the_thread_count():
    rng = np.random.default_rng(3)
    grads = [ember.tensor(rng.standard_normal(n).astype(np.float32)) for n in (300_001, 5, 70_000)]
    old = ember.get_num_threads()
    try:
        got = set()
        for threads in (1, 2, 3):
            ember.set_num_threads(threads)
            for p in (2.0, 1.0, 3.0):
                got.add((p, ember._C._optim.total_norm(grads, p).item()))
        assert len(got) == 3
    finally:
        ember.set_num_threads(old)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clip", [0.5, 2.0, -0.5])
def test_clip_grad_value_matches_torch(torch, dtype, clip):
    rng = np.random.default_rng(4)
    params, grads = make_params(rng, dtype, scale=2.0)
    grads[0][0, 1] = np.nan
    params[0].grad = ember.tensor(grads[0])
    tparams = []
    for p in params:
        t = torch.tensor(p.detach().numpy(), requires_grad=True)
        if p.grad is not None:
            t.grad = torch.tensor(p.grad.numpy())
        tparams.append(t)
    assert utils.clip_grad_value_(params, clip) is None
    torch.nn.utils.clip_grad_value_(tparams, clip)
    for p, t in zip(params, tparams):
        if p.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_grad_value_numpy():
    p = ember.zeros(5, requires_grad=True)
    p.grad = ember.tensor([-3.0, -0.5, 0.0, 0.7, 9.0])
    utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), np.array([-1.0, -0.5, 0.0, 0.7, 1.0], np.float32))


def test_bad_clip_arguments():
    p = ember.zeros(2, requires_grad=True)
    p.grad = ember.ones(2)
    with pytest.raises(ValueError):
        utils.clip_grad_norm_([p], float("nan"))
    with pytest.raises(ValueError):
        utils.clip_grad_norm_([p], 1.0, norm_type=float("nan"))
    with pytest.raises(ValueError):
        utils.clip_grad_value_([p], float("nan"))
    with pytest.raises(TypeError):
        ember._C._optim.total_norm([ember.zeros(2, dtype=ember.int64)])


# ---- parameters <-> vector ------------------------------------------------------------------------

def test_parameters_to_vector_and_back(torch):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (4,), (1, 2, 2)]]
    params = [ember.tensor(a, requires_grad=True) for a in arrays]
    vec = utils.parameters_to_vector(params)
    tvec = torch.nn.utils.parameters_to_vector([torch.tensor(a) for a in arrays])
    np.testing.assert_array_equal(vec.detach().numpy(), tvec.numpy())
    # differentiable: d(sum(vec * c))/dp = c in p's shape
    c = ember.tensor(np.arange(14, dtype=np.float32))
    (vec * c).sum().backward()
    np.testing.assert_array_equal(params[0].grad.numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))
    new = ember.tensor(-np.arange(14, dtype=np.float32))
    utils.vector_to_parameters(new, params)
    tparams = [torch.tensor(a) for a in arrays]
    torch.nn.utils.vector_to_parameters(torch.tensor(-np.arange(14, dtype=np.float32)), tparams)
    for p, t in zip(params, tparams):
        np.testing.assert_array_equal(p.detach().numpy(), t.numpy())
        assert p.is_leaf and p.requires_grad


def test_vector_to_parameters_checks():
    params = [ember.zeros(3, requires_grad=True)]
    with pytest.raises(TypeError, match="expected ember.Tensor"):
        utils.vector_to_parameters([1.0, 2.0, 3.0], params)
    with pytest.raises(ValueError, match="3 elements"):
        utils.vector_to_parameters(ember.zeros(4), params)


# ---- penalties ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_penalty_values_and_gradients(dtype):
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal(s).astype(dtype) for s in [(3, 4), (5,)]]
    arrays[0][1, 1] = 0.0
    params = [ember.tensor(a, requires_grad=True) for a in arrays]
    l1 = utils.l1_penalty(params)
    l2 = utils.l2_penalty(params)
    assert l1.shape == () and l1.requires_grad
    np.testing.assert_allclose(l1.item(), sum(np.abs(a).sum() for a in arrays), rtol=1e-6)
    np.testing.assert_allclose(l2.item(), sum((a.astype(np.float64) ** 2).sum() for a in arrays) / 2, rtol=1e-6)
    (l1 * 3.0 + l2 * 0.5).backward()
    for p, a in zip(params, arrays):
        np.testing.assert_allclose(p.grad.numpy(), 3.0 * np.sign(a) + 0.5 * a, rtol=1e-6)
        assert p.grad.dtype == p.dtype


def test_penalties_match_torch(torch):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(10, 10), (7,)]]
    params = [ember.tensor(a, requires_grad=True) for a in arrays]
    tparams = [torch.tensor(a, requires_grad=True) for a in arrays]
    (utils.l1_penalty(params) + utils.l2_penalty(params)).backward()
    tl = sum(t.abs().sum() for t in tparams) + sum((t * t).sum() for t in tparams) / 2
    tl.backward()
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_penalty_gradcheck():
    rng = np.random.default_rng(8)
    a = ember.tensor(rng.standard_normal((3, 2)) + 0.5, requires_grad=True)  # away from 0 (|w| kink)
    b = ember.tensor(rng.standard_normal(4) + 3.0, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, y: utils.l1_penalty([x, y]), (a, b))
    assert ember.autograd.gradcheck(lambda x, y: utils.l2_penalty([x, y]), (a, b))


def test_penalty_edge_cases():
    assert utils.l1_penalty([]).item() == 0.0
    p = ember.ones(2, requires_grad=True)
    q = ember.ones(3)  # not trainable: contributes to the value, gets no gradient
    loss = utils.l2_penalty([p, q])
    assert loss.item() == 2.5
    loss.backward()
    np.testing.assert_array_equal(p.grad.numpy(), [1.0, 1.0])
    assert q.grad is None
    with ember.no_grad():
        assert not utils.l1_penalty([p]).requires_grad
    mixed = utils.l1_penalty([ember.ones(2, dtype=ember.float64), ember.ones(2)])
    assert mixed.dtype == ember.float64 and mixed.item() == 4.0
    with pytest.raises(TypeError):
        utils.l1_penalty([ember.ones(2, dtype=ember.int64)])
    # A parameter changed in place after the penalty was computed: backward refuses.
    r = ember.ones(2, requires_grad=True)
    loss = utils.l1_penalty([r])
    opt = optim.SGD([r], lr=0.1)
    r.grad = ember.ones(2)
    opt.step()
    with pytest.raises(RuntimeError):
        loss.backward()


def test_l2_penalty_equals_sgd_weight_decay():
    """loss + lam * l2_penalty(params) with plain SGD trains like SGD(weight_decay=lam)."""
    rng = np.random.default_rng(9)
    x = ember.tensor(rng.standard_normal((8, 3)))
    y = ember.tensor(rng.standard_normal((8, 1)))
    w0 = rng.standard_normal((3, 1))
    lam = 0.3
    wa = ember.tensor(w0, requires_grad=True)
    wb = ember.tensor(w0, requires_grad=True)
    oa = optim.SGD([wa], lr=0.1, momentum=0.9)
    ob = optim.SGD([wb], lr=0.1, momentum=0.9, weight_decay=lam)
    for _ in range(30):
        for w, o, pen in ((wa, oa, True), (wb, ob, False)):
            o.zero_grad()
            d = ember.matmul(x, w) - y
            loss = (d * d).mean()
            if pen:
                loss = loss + utils.l2_penalty([w]) * lam
            loss.backward()
            o.step()
    np.testing.assert_allclose(wa.detach().numpy(), wb.detach().numpy(), rtol=1e-12)
