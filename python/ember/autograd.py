"""Autograd from Python: grad mode switches, backward/grad over several tensors, gradcheck."""
from __future__ import annotations

import functools

from . import _C
from ._C import Tensor

is_grad_enabled = _C.is_grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it afterwards."""

    enabled = True

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        _C.set_grad_enabled(self.enabled)
        return self

    def __exit__(self, *exc):
        _C.set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class _NoParamGradMode(_GradMode):
    """Also works as a bare decorator: `@ember.no_grad` as well as `@ember.no_grad()`, like torch."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is None:
            return self
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments (got {orig_func!r})")
        return self(orig_func)


class no_grad(_NoParamGradMode):
    """Disables gradient recording: `with ember.no_grad(): ...`, `@ember.no_grad()` or `@ember.no_grad`."""

    enabled = False


class enable_grad(_NoParamGradMode):
    enabled = True


class set_grad_enabled(_GradMode):
    def __init__(self, mode: bool):
        self.enabled = bool(mode)
        self._prev = _C.is_grad_enabled()
        _C.set_grad_enabled(self.enabled)  # also works as a plain function call, like torch

    def __enter__(self):
        return self

    def __call__(self, fn):
        mode = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        _C.set_grad_enabled(self._prev)
        return wrapper


def _as_list(x):
    if x is None:
        return None
    return [x] if isinstance(x, Tensor) else list(x)


def backward(tensors, grad_tensors=None, retain_graph=None):
    """Backpropagates from several tensors at once, accumulating into the leaves' .grad."""
    _C._backward(_as_list(tensors), _as_list(grad_tensors), bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple, without touching .grad."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported")
    return tuple(_C._grad(_as_list(outputs), _as_list(inputs), _as_list(grad_outputs), bool(retain_graph),
                          bool(allow_unused)))


def _flat_outputs(out):
    return [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compares analytic gradients with central finite differences in float64.

    Every input that requires grad must be float64. For each output element, backward gives one
    row of the Jacobian; perturbing each input element by +-eps gives one column numerically.
    """
    import numpy as np

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for i in diff:
        if inputs[i].dtype != _C.dtype.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs for finite differences")

    def evaluate(args):
        with no_grad():
            return [o.detach().numpy().astype(np.float64).copy() for o in _flat_outputs(fn(*args))]

    outs = _flat_outputs(fn(*inputs))
    for k, o in enumerate(outs):
        if not o.dtype.is_floating_point:
            continue  # indices, masks: not differentiable
        n_out = o.numel()
        for i in diff:
            x = inputs[i]
            n_in = x.numel()
            # An output that does not require grad has a zero analytic Jacobian: comparing it with
            # the numeric one catches ops that silently drop their history.
            analytic = np.zeros((n_in, n_out))
            for j in range(n_out if o.requires_grad else 0):
                g = _C.zeros(tuple(o.shape), o.dtype)
                g.reshape(-1)[j] = 1.0
                gi = grad([o], [x], [g], retain_graph=True, allow_unused=True)[0]
                if gi is not None:
                    analytic[:, j] = gi.detach().numpy().reshape(-1)
            numeric = np.zeros((n_in, n_out))
            base = x.detach().numpy()  # shares memory with x: perturb in place, then restore
            flat = base.reshape(-1) if base.flags["C_CONTIGUOUS"] else None
            if flat is None:
                raise ValueError("gradcheck: inputs must be contiguous")
            for p in range(n_in):
                orig = flat[p]
                flat[p] = orig + eps
                plus = evaluate(inputs)[k].reshape(-1)
                flat[p] = orig - eps
                minus = evaluate(inputs)[k].reshape(-1)
                flat[p] = orig
                numeric[p, :] = (plus - minus) / (2 * eps)
            if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
                err = np.abs(analytic - numeric).max()
                if raise_exception:
                    raise AssertionError(
                        f"gradcheck failed for output {k} w.r.t. input {i}: max abs error {err:.3e}\n"
                        f"analytic:\n{analytic}\nnumeric:\n{numeric}")
                return False
    return True
