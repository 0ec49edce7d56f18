"""ember: a small, fast deep-learning library with a C++17 core.

    import ember, ember.nn as nn, ember.optim as optim
    x = ember.randn(64, 784)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))

numpy is imported only when a conversion needs it, and the larger sub-packages (nn, optim, data,
datasets, models, train) load on first access, so `import ember` stays fast.
"""
from __future__ import annotations

import importlib as _importlib

from . import _C
from ._C import Tensor, dtype, manual_seed, set_num_threads, get_num_threads
from ._C import (
    add, sub, mul, div, pow, neg, exp, log, sqrt, abs, sign, clamp, sigmoid, tanh, relu,
    maximum, minimum, where, matmul, cat, stack, split, chunk, logical_not, logical_and, logical_or,
    isnan, isfinite, nonzero, masked_fill, index_select, broadcast_to, sum, mean, var, std, logsumexp,
    argmax, argmin, prod, randperm,
)
from ._tensor import (
    tensor, as_tensor, from_numpy, empty, zeros, ones, full, arange, linspace, eye, rand, randn, randint,
    zeros_like, ones_like, full_like, empty_like, rand_like, randn_like, max, min, get_rng_state, set_rng_state,
    is_tensor, cuda_is_available, device,
)
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from . import autograd, linalg

float32 = dtype.float32
float64 = dtype.float64
int64 = dtype.int64
bool = dtype.bool  # noqa: A001 - torch spells it the same way
float = float32  # noqa: A001
double = float64
long = int64

__version__ = "0.1.0"

_LAZY_SUBMODULES = {"nn", "optim", "data", "datasets", "models", "train", "io", "onnx", "cli", "utils", "metrics"}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        module = _importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in ("save", "load"):
        from . import io as _io

        return getattr(_io, name)
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
