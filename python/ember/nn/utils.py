"""torch.nn.utils's gradient clipping and parameter/vector conversions, and weight penalties.

The reductions and in-place updates are C++ (ember._C._optim); this module only collects the
gradients from the parameters.

Weight penalties, to add to a loss:
    l1_penalty(params) = sum |w|          (gradient sign(w), 0 at w == 0)
    l2_penalty(params) = sum w * w / 2    (gradient w)
The 1/2 in the L2 term makes `loss + lam * l2_penalty(params)` add exactly lam * w to each
gradient, which is what SGD's weight_decay=lam does (and what torch calls weight decay), so the
two formulations train identically. Multiply by 2 for the plain sum of squares.
"""
from __future__ import annotations

from .. import _C
from .._C import Tensor
from ..autograd import no_grad

_optim = _C._optim

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters", "l1_penalty", "l2_penalty"]


def _tensor_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _grads(parameters):
    return [p.grad for p in _tensor_list(parameters) if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of all `tensors` together (as if concatenated into one vector), a scalar tensor."""
    return _optim.total_norm(_tensor_list(tensors), float(norm_type), bool(error_if_nonfinite))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scales the gradients of `parameters` in place by max_norm / (total_norm + 1e-6) when that
    is below 1, with a total norm computed beforehand (get_total_norm)."""
    if not isinstance(total_norm, Tensor):
        total_norm = _C.full((), float(total_norm), _C.dtype.float32)
    _optim.clip_grads_with_norm_(_grads(parameters), float(max_norm), total_norm)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales the gradients of `parameters` in place so that their total norm is at most max_norm
    (by max_norm / (total_norm + 1e-6) when it is larger). Returns the total norm before clipping,
    a scalar tensor. `foreach` is accepted for torch compatibility (ember always does one call)."""
    return _optim.clip_grad_norm_(_grads(parameters), float(max_norm), float(norm_type), bool(error_if_nonfinite))


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated torch alias of clip_grad_norm_."""
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps every gradient element of `parameters` into [-clip_value, clip_value], in place."""
    _optim.clip_grad_value_(_grads(parameters), float(clip_value))


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one vector (differentiable)."""
    params = _tensor_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: expected at least one parameter")
    return _C.cat([p.reshape(-1) for p in params], 0)


def vector_to_parameters(vec, parameters):
    """Copies consecutive slices of `vec` into the parameters (in place, without autograd).
    torch rebinds each parameter's .data to a view of vec instead; ember copies, so the
    parameters keep their own storage (and the optimizer's references stay valid)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected ember.Tensor, but got: {type(vec).__name__}")
    params = _tensor_list(parameters)
    total = sum(p.numel() for p in params)
    if vec.dim() != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector of {total} elements (the parameters' "
                         f"total), got shape {tuple(vec.shape)}")
    with no_grad():
        offset = 0
        for p in params:
            n = p.numel()
            p.copy_(vec[offset:offset + n].reshape(tuple(p.shape)))
            offset += n


def l1_penalty(parameters):
    """sum |w| over every element of every parameter: a differentiable scalar (gradient sign(w))."""
    return _optim.l1_penalty(_tensor_list(parameters))


def l2_penalty(parameters):
    """sum w * w / 2 over every element of every parameter: a differentiable scalar (gradient w).
    The 1/2 makes lam * l2_penalty equal to weight_decay=lam; see the module docstring."""
    return _optim.l2_penalty(_tensor_list(parameters))
