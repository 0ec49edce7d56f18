"""Functional activations and softmax with torch.nn.functional's signatures, over ember._C._act.

`inplace=True` writes the result into the input when autograd is not recording it; while
recording, the result is returned as a new tensor (the values are the same) so that no saved
tensor of the graph is overwritten.
"""
from __future__ import annotations

import warnings

from .. import _C

_act = _C._act

__all__ = [
    "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "softplus", "silu", "hardtanh",
    "maxout", "softmax", "log_softmax",
]

sigmoid = _C.sigmoid
tanh = _C.tanh


def _finish(input, out, inplace):
    if inplace and not (_C.is_grad_enabled() and input.requires_grad):
        return input.copy_(out)
    return out


def relu(input, inplace=False):
    return _finish(input, _C.relu(input), inplace) if inplace else _C.relu(input)


def relu6(input, inplace=False):
    return _finish(input, _act.relu6(input), inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _finish(input, _act.leaky_relu(input, negative_slope), inplace)


def elu(input, alpha=1.0, inplace=False):
    return _finish(input, _act.elu(input, alpha), inplace)


def selu(input, inplace=False):
    return _finish(input, _act.selu(input), inplace)


def gelu(input, approximate="none"):
    return _act.gelu(input, approximate)


def softplus(input, beta=1.0, threshold=20.0):
    return _act.softplus(input, beta, threshold)


def silu(input, inplace=False):
    return _finish(input, _act.silu(input), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return _finish(input, _act.hardtanh(input, min_val, max_val), inplace)


def maxout(input, pieces, dim=1):
    """Max over groups of `pieces` consecutive channels along `dim` (Goodfellow et al. 2013):
    a [N, C, ...] input gives [N, C // pieces, ...]."""
    return _act.maxout(input, pieces, dim)


def _softmax_dim(input, dim, name):
    if not isinstance(input, _C.Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if dim is not None:
        return dim
    # torch's legacy rule for an implicit dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return _act.softmax(input, _softmax_dim(input, dim, "softmax"))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return _act.log_softmax(input, _softmax_dim(input, dim, "log_softmax"))
