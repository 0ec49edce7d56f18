"""Activation functions, softmax and log_softmax: forward and gradient against torch (float32 and
float64, randomized shapes, non-contiguous inputs), finite-difference gradchecks in float64,
stability at |x| = 1e4, module forms against torch's modules, and bad input."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck

from conftest import make, to_np

DTYPES = ["float32", "float64"]
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}
GTOL = {"float32": dict(rtol=1e-4, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12)}

# name -> (kwargs for both libraries, kinks to keep random inputs away from for gradcheck)
ACTIVATIONS = {
    "relu": ({}, [0.0]),
    "sigmoid": ({}, []),
    "tanh": ({}, []),
    "leaky_relu": ({"negative_slope": 0.2}, [0.0]),
    "elu": ({"alpha": 0.7}, [0.0]),
    "selu": ({}, [0.0]),
    "gelu": ({}, []),
    "gelu_tanh": ({"approximate": "tanh"}, []),
    "softplus": ({"beta": 2.0, "threshold": 3.0}, [1.5]),
    "silu": ({}, []),
    "hardtanh": ({"min_val": -0.5, "max_val": 1.5}, [-0.5, 1.5]),
    "relu6": ({}, [0.0, 6.0]),
}


def _fn(lib_f, name):
    return getattr(lib_f, "gelu" if name == "gelu_tanh" else name)


def _away_from(x, kinks, gap=0.05):
    for k in kinks:
        near = np.abs(x - k) < gap
        x = np.where(near, k + np.where(x >= k, gap, -gap) * 2, x)
    return x


def _shape(rng):
    return tuple(int(s) for s in rng.integers(1, 6, size=rng.integers(1, 4)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_torch(torch, rng, name, dtype):
    import torch.nn.functional as tF

    kwargs, _ = ACTIVATIONS[name]
    for trial in range(3):
        shape = _shape(rng)
        xn = (rng.standard_normal(shape) * 4).astype(dtype)
        gn = rng.standard_normal(shape).astype(dtype)
        x = make(xn, noncontig=trial == 1).requires_grad_(True) if trial != 1 else make(xn, noncontig=True)
        if trial == 1:
            x.requires_grad_(True)
        y = _fn(F, name)(x, **kwargs)
        tx = torch.tensor(xn, requires_grad=True)
        ty = _fn(tF, name)(tx, **kwargs)
        np.testing.assert_allclose(to_np(y), ty.detach().numpy(), **TOL[dtype])
        assert y.dtype == x.dtype and tuple(y.shape) == shape
        y.backward(ember.tensor(gn))
        ty.backward(torch.tensor(gn))
        np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), **GTOL[dtype])


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradcheck(rng, name):
    kwargs, kinks = ACTIVATIONS[name]
    xn = _away_from(rng.standard_normal((3, 4)) * 3, kinks)
    if name == "relu6":
        xn = _away_from(xn + 3, kinks)
    x = ember.tensor(xn, requires_grad=True)
    assert gradcheck(lambda t: _fn(F, name)(t, **kwargs), (x,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ACTIVATIONS) + ["maxout", "softmax", "log_softmax"])
def test_activation_stable_at_1e4(rng, name, dtype):
    """Values and gradients stay finite at |x| = 1e4, and equal the limits they should."""
    xn = np.array([[-1e4, -1e3, -50.0, -1.0, 0.0, 1.0, 50.0, 1e3, 1e4, 1e4]], dtype=dtype)
    x = ember.tensor(xn, requires_grad=True)
    if name == "maxout":
        y = F.maxout(x, 2, dim=1)
    elif name in ("softmax", "log_softmax"):
        y = getattr(F, name)(x, dim=1)
    else:
        y = _fn(F, name)(x, **ACTIVATIONS[name][0])
    y.backward(ember.ones_like(y))
    assert np.isfinite(to_np(y)).all(), to_np(y)
    assert np.isfinite(to_np(x.grad)).all(), to_np(x.grad)
    if name in ("relu", "elu", "selu", "gelu", "gelu_tanh", "softplus", "silu", "leaky_relu"):
        # identity-like for large positive x (up to a constant factor)
        scale = {"selu": 1.0507009873554805}.get(name, 1.0)
        assert to_np(y)[0, -1] == pytest.approx(1e4 * scale, rel=1e-6)
        assert to_np(x.grad)[0, -1] == pytest.approx(scale, rel=1e-6)
    if name == "softmax":
        assert to_np(y)[0, -1] == pytest.approx(0.5, rel=1e-6)


def test_stability_matches_torch_at_extremes(torch):
    import torch.nn.functional as tF

    for dtype in DTYPES:
        xn = np.array([-1e4, -88.0, -20.0, 20.0, 88.0, 1e4], dtype=dtype)
        for name, (kwargs, _) in ACTIVATIONS.items():
            x = ember.tensor(xn, requires_grad=True)
            tx = torch.tensor(xn, requires_grad=True)
            y = _fn(F, name)(x, **kwargs)
            ty = _fn(tF, name)(tx, **kwargs)
            y.sum().backward()
            ty.sum().backward()
            np.testing.assert_allclose(to_np(y), ty.detach().numpy(), rtol=1e-5, atol=1e-30, err_msg=name)
            np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-30, err_msg=name)


# --- maxout --------------------------------------------------------------------------------------

def _maxout_ref(xn, pieces, dim):
    dim = dim % xn.ndim
    shape = xn.shape[:dim] + (xn.shape[dim] // pieces, pieces) + xn.shape[dim + 1:]
    return xn.reshape(shape).max(axis=dim + 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxout_values_and_gradient(rng, dtype):
    for shape, pieces, dim in [((4, 6), 2, 1), ((2, 6, 3, 3), 3, 1), ((5, 8), 4, -1), ((6, 2), 3, 0)]:
        xn = rng.standard_normal(shape).astype(dtype)
        x = ember.tensor(xn, requires_grad=True)
        y = F.maxout(x, pieces, dim=dim)
        np.testing.assert_array_equal(to_np(y), _maxout_ref(xn, pieces, dim))
        y.sum().backward()
        g = to_np(x.grad)
        # exactly one 1 per group, at the group's max
        d = dim % xn.ndim
        gshape = xn.shape[:d] + (xn.shape[d] // pieces, pieces) + xn.shape[d + 1:]
        gg, xx = g.reshape(gshape), xn.reshape(gshape)
        np.testing.assert_array_equal(gg.sum(axis=d + 1), np.ones(y.shape))
        np.testing.assert_array_equal(np.take_along_axis(xx, np.expand_dims(gg.argmax(axis=d + 1), d + 1), d + 1),
                                      np.expand_dims(_maxout_ref(xn, pieces, dim), d + 1))


def test_maxout_gradcheck_and_torch(rng, torch):
    xn = rng.standard_normal((3, 6, 2))
    x = ember.tensor(xn, requires_grad=True)
    assert gradcheck(lambda t: F.maxout(t, 3), (x,))
    tx = torch.tensor(xn, requires_grad=True)
    ty = tx.unflatten(1, (2, 3)).amax(2)
    ty.backward(torch.ones_like(ty))
    y = F.maxout(x, 3)
    y.backward(ember.ones_like(y))
    np.testing.assert_allclose(to_np(y), ty.detach().numpy())
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy())


def test_maxout_module():
    x = ember.randn(2, 8)
    y = nn.Maxout(4)(x)
    assert tuple(y.shape) == (2, 2)
    np.testing.assert_array_equal(to_np(y), _maxout_ref(to_np(x), 4, 1))


# --- softmax / log_softmax ---------------------------------------------------------------------

SOFTMAX_CASES = [((7,), 0), ((5, 10), 1), ((5, 10), 0), ((5, 10), -1), ((3, 4, 5), 1), ((3, 4, 5), 0),
                 ((2, 3, 4, 5), 1), ((2, 3, 4, 5), 2), ((2, 3, 300), 1), ((3, 300, 2), 1), ((4, 1000), 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_matches_torch(torch, rng, name, dtype, shape, dim):
    xn = (rng.standard_normal(shape) * 5).astype(dtype)
    gn = rng.standard_normal(shape).astype(dtype)
    x = ember.tensor(xn, requires_grad=True)
    y = getattr(F, name)(x, dim=dim)
    tx = torch.tensor(xn, requires_grad=True)
    ty = getattr(torch, name)(tx, dim=dim)
    np.testing.assert_allclose(to_np(y), ty.detach().numpy(), **GTOL[dtype])
    y.backward(ember.tensor(gn))
    ty.backward(torch.tensor(gn))
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), **GTOL[dtype])


def test_softmax_without_torch(rng):
    """Sums to one, matches the numpy formula, any dim, non-contiguous input."""
    xn = rng.standard_normal((3, 4, 6))
    for dim in range(3):
        for noncontig in (False, True):
            x = make(xn, noncontig=noncontig)
            e = np.exp(xn - xn.max(axis=dim, keepdims=True))
            ref = e / e.sum(axis=dim, keepdims=True)
            np.testing.assert_allclose(to_np(F.softmax(x, dim=dim)), ref, rtol=1e-12)
            np.testing.assert_allclose(to_np(F.log_softmax(x, dim=dim)), np.log(ref), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_gradcheck(rng, name):
    for shape, dim in [((3, 5), 1), ((3, 5), 0), ((2, 3, 4), 1), ((4,), 0)]:
        x = ember.tensor(rng.standard_normal(shape), requires_grad=True)
        assert gradcheck(lambda t: getattr(F, name)(t, dim=dim), (x,))


def test_softmax_extremes_and_special_values():
    x = ember.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [5.0, float("-inf"), 5.0]])
    s = to_np(F.softmax(x, dim=1))
    np.testing.assert_allclose(s, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0, 0.5]], atol=1e-7)
    ls = to_np(F.log_softmax(x, dim=1))
    np.testing.assert_allclose(ls[0], [0, -2e4, -1e4], rtol=1e-6)
    assert ls[2, 1] == -np.inf
    nan_row = to_np(F.softmax(ember.tensor([[1.0, float("nan"), 2.0]]), dim=1))
    assert np.isnan(nan_row).all()
    # 0-d and empty inputs
    assert F.softmax(ember.tensor(3.0), dim=0).item() == 1.0
    assert F.log_softmax(ember.tensor(3.0), dim=-1).item() == 0.0
    assert tuple(F.softmax(ember.zeros(0, 4), dim=1).shape) == (0, 4)
    assert tuple(F.softmax(ember.zeros(3, 0), dim=1).shape) == (3, 0)


def test_softmax_dtype_and_legacy_dim(torch):
    x = ember.randn(2, 3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(x)
    tx = torch.tensor(to_np(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = torch.nn.functional.softmax(tx)  # legacy rule: dim 0 for a 3-D input
    np.testing.assert_allclose(to_np(y), ty.numpy(), rtol=1e-6)
    y64 = F.log_softmax(x, dim=1, dtype=ember.float64)
    assert y64.dtype == ember.float64
    np.testing.assert_allclose(to_np(y64), torch.log_softmax(tx.double(), 1).numpy(), rtol=1e-12)


def test_generic_and_avx2_paths_agree(monkeypatch, tmp_path):
    """The AVX2 float32 kernels and the plain C++ ones (EMBER_CPU=generic) give close results."""
    from conftest import run_python

    code = """
        import numpy as np, ember, ember.nn.functional as F
        rng = np.random.default_rng(5)
        out = []
        for shape in [(3, 10), (4, 17), (2, 1000), (2, 5, 3)]:
            x = ember.tensor((rng.standard_normal(shape) * 8).astype(np.float32), requires_grad=True)
            y = ember.tensor(rng.integers(0, shape[1], size=(shape[0],) + shape[2:]))
            for f in (F.softmax, F.log_softmax):
                o = f(x, dim=1); o.backward(ember.ones_like(o))
                out += [o.detach().numpy(), x.grad.numpy()]; x.grad = None
            l = F.cross_entropy(x, y, label_smoothing=0.1); l.backward(); out += [l.detach().numpy(), x.grad.numpy()]
            x.grad = None
        np.savez(OUT, *out)
    """
    results = []
    for env in ("auto", "generic"):
        path = str(tmp_path / f"{env}.npz")
        monkeypatch.setenv("EMBER_CPU", env)
        r = run_python(f"OUT = {path!r}\n" + code.replace("\n        ", "\n"))
        assert r.returncode == 0, r.stderr
        with np.load(path) as z:
            results.append([z[k] for k in sorted(z.files, key=lambda s: int(s.split("_")[1]))])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-7)


# --- module forms --------------------------------------------------------------------------------

MODULES = [
    ("ReLU", (), {}), ("ReLU6", (), {}), ("LeakyReLU", (0.2,), {}), ("ELU", (), {"alpha": 0.5}), ("SELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}), ("GELU", (), {}), ("Softplus", (2.0, 5.0), {}), ("SiLU", (), {}),
    ("Hardtanh", (-2.0, 2.0), {}), ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": 0}),
]


@pytest.mark.parametrize("cls,args,kwargs", MODULES)
def test_module_forms_match_torch(torch, rng, cls, args, kwargs):
    xn = (rng.standard_normal((4, 6)) * 3).astype(np.float32)
    m, tm = getattr(nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
    x, tx = ember.tensor(xn, requires_grad=True), torch.tensor(xn, requires_grad=True)
    y, ty = m(x), tm(tx)
    np.testing.assert_allclose(to_np(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_module_softmax_legacy_dim_matches_torch(torch):
    xn = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = nn.Softmax()(ember.tensor(xn))
        ty = torch.nn.Softmax()(torch.tensor(xn))
    np.testing.assert_allclose(to_np(y), ty.numpy(), rtol=1e-6)


def test_module_reprs_and_inplace_flag():
    assert "negative_slope=0.1" in repr(nn.LeakyReLU(0.1))
    assert "min_val=-3" in repr(nn.Hardtanh(min_value=-3.0))
    x = ember.tensor([-1.0, 2.0])
    y = F.relu(x, inplace=True)
    assert y is x and x.tolist() == [0.0, 2.0]
    x = ember.tensor([-1.0, 2.0], requires_grad=True)
    y = F.leaky_relu(x, 0.5, inplace=True)  # recording: a new tensor, the graph stays intact
    y.sum().backward()
    assert x.grad.tolist() == [0.5, 1.0]


# --- bad input -----------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    ints = ember.tensor([1, 2, 3])
    for name in ("leaky_relu", "elu", "selu", "gelu", "softplus", "silu", "hardtanh", "relu6"):
        with pytest.raises(TypeError, match="floating-point"):
            getattr(F, name)(ints)
    with pytest.raises(TypeError, match="floating-point"):
        F.softmax(ints, dim=0)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(ember.randn(3), approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(ember.randn(3), 1.0, -1.0)
    with pytest.raises(IndexError):
        F.softmax(ember.randn(2, 3), dim=2)
    with pytest.raises(IndexError):
        F.log_softmax(ember.randn(2, 3), dim=-3)
    with pytest.raises(ValueError, match="divisible"):
        F.maxout(ember.randn(2, 5), 2)
    with pytest.raises(ValueError, match="pieces"):
        F.maxout(ember.randn(2, 4), 0)
    with pytest.raises(IndexError):
        F.maxout(ember.randn(2, 4), 2, dim=3)
    with pytest.raises(IndexError):
        F.maxout(ember.tensor(1.0), 1)
    with pytest.raises(TypeError):
        F.softmax("not a tensor", dim=0)
    with pytest.raises(ValueError):
        nn.Hardtanh(1.0, -1.0)


# --- a single neuron by hand -----------------------------------------------------------------------

def test_single_sigmoid_neuron_by_hand():
    """y = sigmoid(w . x + b): the forward value and every gradient of a squared error, worked out
    with the chain rule: dL/dz = 2 (y - t) * y (1 - y), dL/dw = dL/dz * x, dL/db = dL/dz."""
    x = ember.tensor([1.0, 2.0], dtype=ember.float64)
    w = ember.tensor([0.5, -0.25], dtype=ember.float64, requires_grad=True)
    b = ember.tensor(0.1, dtype=ember.float64, requires_grad=True)
    t = 1.0
    z = (w * x).sum() + b                       # 0.5 - 0.5 + 0.1 = 0.1
    y = F.sigmoid(z)                            # 1 / (1 + e^-0.1) = 0.52497918747894
    loss = F.mse_loss(y, ember.tensor(t, dtype=ember.float64))
    loss.backward()
    y_hand = 1.0 / (1.0 + math.exp(-0.1))
    assert y.item() == pytest.approx(0.52497918747894, abs=1e-13) == pytest.approx(y_hand)
    assert ember.tensor(0.1, dtype=ember.float64).item() == 0.1  # no detour through float32
    assert loss.item() == pytest.approx((y_hand - t) ** 2)             # 0.225644...
    dz = 2 * (y_hand - t) * y_hand * (1 - y_hand)                        # 2 (-0.47502) (0.24938) = -0.23692
    assert dz == pytest.approx(-0.23691762, abs=1e-8)
    np.testing.assert_allclose(w.grad.numpy(), [dz * 1.0, dz * 2.0], rtol=1e-12)
    assert b.grad.item() == pytest.approx(dz, rel=1e-12)
