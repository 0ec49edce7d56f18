"""Functional linear, normalisation, dropout and embedding (torch.nn.functional's signatures)
over ember._C._norm. The math, checks and backward passes are C++; this only adapts arguments."""
from __future__ import annotations

from .. import _C

__all__ = ["linear", "batch_norm", "layer_norm", "dropout", "dropout2d", "embedding"]

_norm = _C._norm

# Called once per layer per step: bound straight to C++, no Python frame in between.
linear = _norm.linear


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    return _norm.batch_norm(input, running_mean, running_var, weight, bias, bool(training), float(momentum),
                            float(eps))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return _norm.layer_norm(input, list(normalized_shape), weight, bias, float(eps))


# inplace=True is accepted for torch compatibility; the result is a new tensor either way
# (use the returned value, as torch code does).
def dropout(input, p=0.5, training=True, inplace=False):
    return _norm.dropout(input, float(p), bool(training))


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _norm.dropout2d(input, float(p), bool(training))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    return _norm.embedding(input, weight, padding_idx)
