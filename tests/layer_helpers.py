"""Helpers shared by the layer tests: moving tensors between ember and torch, and comparing an
ember computation with torch's forward and gradients."""
from __future__ import annotations

import numpy as np

import ember
from conftest import to_np as np_of  # the layer tests' name for it

TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}
EMBER_DT = {np.float32: ember.float32, np.float64: ember.float64}


def to_torch(torch, t, requires_grad=False):
    """A torch tensor with ember tensor t's values (a copy), optionally a leaf requiring grad."""
    r = torch.tensor(np.array(np_of(t)))
    return r.requires_grad_(requires_grad)


def leaf(arr, requires_grad=True):
    return ember.tensor(np.asarray(arr), requires_grad=requires_grad)


def assert_close(e, t, dtype=np.float64, what="", scale=1.0):
    """ember tensor (or None) e against torch tensor (or None) t."""
    if t is None or e is None:
        assert e is None and t is None, f"{what}: ember {e is None}, torch {t is None}"
        return
    got, want = np_of(e), t.detach().numpy()
    assert got.shape == want.shape, (what, got.shape, want.shape)
    tol = dict(TOL[dtype])
    tol["atol"] = tol["atol"] * scale
    np.testing.assert_allclose(got, want, err_msg=what, **tol)


def copy_weights(torch, ember_module, torch_module):
    """Copies torch_module's state into ember_module by state_dict name (names must agree)."""
    sd = {k: ember.tensor(v.detach().numpy().copy()) for k, v in torch_module.state_dict().items()}
    ember_module.load_state_dict(sd, strict=True)
    assert list(ember_module.state_dict().keys()) == list(torch_module.state_dict().keys())


def compare_module(torch, em, tm, x, dtype=np.float64, check_input_grad=True, grad_out=None, scale=1.0):
    """Runs ember module em and torch module tm on the same input array x; compares outputs,
    the input gradient and every parameter gradient (by name) for a random upstream gradient."""
    ex = ember.tensor(x, requires_grad=check_input_grad and x.dtype.kind == "f")
    tx = torch.tensor(x, requires_grad=check_input_grad and x.dtype.kind == "f")
    ey, ty = em(ex), tm(tx)
    assert_close(ey, ty, dtype, "output", scale)
    if grad_out is None:
        grad_out = np.random.default_rng(7).standard_normal(tuple(ty.shape)).astype(x.dtype if x.dtype.kind == "f"
                                                                                   else dtype)
    ey.backward(ember.tensor(grad_out))
    ty.backward(torch.tensor(grad_out))
    if check_input_grad and x.dtype.kind == "f":
        assert_close(ex.grad, tx.grad, dtype, "input grad", scale)
    tparams = dict(tm.named_parameters())
    eparams = dict(em.named_parameters())
    assert list(eparams) == list(tparams)
    for name, tp in tparams.items():
        assert_close(eparams[name].grad, tp.grad, dtype, f"grad of {name}", scale)
    return ey, ty
