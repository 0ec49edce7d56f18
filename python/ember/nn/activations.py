"""Module forms of the activation functions."""
from __future__ import annotations

from . import functional as F
from .module import Module


class _Elementwise(Module):
    _fn = ""  # name of the function in ember.nn.functional, looked up per call
    _args = ()

    def __init__(self, **kwargs):
        super().__init__()
        for k, v in kwargs.items():
            setattr(self, k, v)

    def forward(self, x):
        return getattr(F, self._fn)(x, **{k: getattr(self, k) for k in self._args})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)}" for k in self._args)


class Sigmoid(_Elementwise):
    _fn = "sigmoid"


class Tanh(_Elementwise):
    _fn = "tanh"


class ReLU(_Elementwise):
    _fn = "relu"

    def __init__(self, inplace=False):
        super().__init__()


class ReLU6(_Elementwise):
    _fn = "relu6"

    def __init__(self, inplace=False):
        super().__init__()


class LeakyReLU(_Elementwise):
    _fn = "leaky_relu"
    _args = ("negative_slope",)

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(negative_slope=negative_slope)


class ELU(_Elementwise):
    _fn = "elu"
    _args = ("alpha",)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(alpha=alpha)


class SELU(_Elementwise):
    _fn = "selu"

    def __init__(self, inplace=False):
        super().__init__()


class GELU(_Elementwise):
    _fn = "gelu"
    _args = ("approximate",)

    def __init__(self, approximate="none"):
        super().__init__(approximate=approximate)


class Softplus(_Elementwise):
    _fn = "softplus"
    _args = ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__(beta=beta, threshold=threshold)


class SiLU(_Elementwise):
    _fn = "silu"

    def __init__(self, inplace=False):
        super().__init__()


class Hardtanh(_Elementwise):
    _fn = "hardtanh"
    _args = ("min_val", "max_val")

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None):
        # min_value / max_value: torch's deprecated spellings
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        super().__init__(min_val=min_val, max_val=max_val)


class Maxout(_Elementwise):
    """Max over groups of `pieces` consecutive channels along `dim` (Goodfellow et al. 2013)."""

    _fn = "maxout"
    _args = ("pieces", "dim")

    def __init__(self, pieces, dim=1):
        super().__init__(pieces=pieces, dim=dim)


class Softmax(_Elementwise):
    """dim=None picks the dim by torch's legacy rule (0 for 0-, 1- and 3-D inputs, else 1)."""

    _fn = "softmax"
    _args = ("dim",)

    def __init__(self, dim=None):
        super().__init__(dim=dim)


class LogSoftmax(_Elementwise):
    _fn = "log_softmax"
    _args = ("dim",)

    def __init__(self, dim=None):
        super().__init__(dim=dim)
