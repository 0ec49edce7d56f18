"""Tensor creation from Python data and the few Tensor methods that are easier in Python
(repr, tolist, iteration). Everything numeric happens in the C++ core."""
from __future__ import annotations

import builtins
from collections import namedtuple

from . import _C
from ._C import Tensor, dtype

_DEFAULT = dtype.float32
_FLOAT64 = dtype.float64
_np = None


def _numpy():
    global _np
    if _np is None:
        import numpy

        _np = numpy
    return _np


def _check_dtype(d):
    if d is not None and not isinstance(d, dtype):
        raise TypeError(f"dtype must be an ember dtype (ember.float32, ...), got {d!r}")
    return d


# numpy dtypes ember does not have are widened to the nearest one it has.
def _normalize_array(arr, from_python):
    np = _numpy()
    if not arr.dtype.isnative:  # a copy is being made anyway: make it in native byte order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    kind = arr.dtype.kind
    if kind == "f":
        if from_python or arr.dtype.itemsize < 4:
            return arr.astype(np.float32) if arr.dtype != np.float32 else arr
        return arr.astype(np.float64) if arr.dtype.itemsize > 8 else arr
    if kind in "iu":
        if kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError("uint64 values above the int64 range cannot be converted")
        return arr.astype(np.int64) if arr.dtype != np.int64 else arr
    if kind == "b":
        return arr
    raise TypeError(f"can't convert data of type {arr.dtype} to an ember tensor; "
                    "supported are floating point, integer and bool data")


def _as_tensor(obj, keep_double=False):
    """Array-like (list, tuple, scalar, numpy array) -> a new tensor (copy). Python floats become
    float32 unless keep_double (float64 was asked for: no detour through float32 rounding)."""
    np = _numpy()
    if isinstance(obj, Tensor):
        return obj
    from_python = not isinstance(obj, (np.ndarray, np.generic))
    try:
        arr = np.asarray(obj)
    except ValueError as e:
        raise ValueError(f"could not convert data to a tensor: {e}") from None
    if arr.dtype == object:
        raise TypeError(f"could not convert data of type {type(obj).__name__} to a tensor "
                        "(nested sequences must be rectangular and hold numbers)")
    arr = _normalize_array(arr, from_python and not keep_double)
    # not np.ascontiguousarray: it turns a 0-d array into shape (1,)
    if not arr.flags["C_CONTIGUOUS"] or not arr.flags["ALIGNED"]:
        arr = arr.copy(order="C")
    return _C._from_numpy_copy(arr)


_C._set_array_converter(_as_tensor)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (a tensor, numpy array, list or scalar)."""
    _check_dtype(dtype)
    _check_device(device)
    if isinstance(data, Tensor):
        t = data.detach().clone()
    else:
        t = _as_tensor(data, keep_double=dtype == _FLOAT64)
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None):
    """Like tensor(), but returns `data` itself when it already is a tensor of that dtype."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    return tensor(data, dtype=dtype)


def from_numpy(array):
    """A tensor sharing memory with a numpy array (float32/float64/int64/bool)."""
    return _C.from_numpy(array)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def cuda_is_available():
    return False


def device(name):
    _check_device(name)
    return name


def _check_device(device):
    if device is None or device == "cpu":
        return
    if isinstance(device, str) and device.startswith("cuda"):
        raise RuntimeError(f"Cannot use device '{device}': ember was built without CUDA support")
    raise ValueError(f"invalid device {device!r}: expected 'cpu' or 'cuda'")


def _size(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def empty(*size, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    return _finish(_C.empty(_size(size), _check_dtype(dtype) or _DEFAULT), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    return _finish(_C.zeros(_size(size), _check_dtype(dtype) or _DEFAULT), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    return _finish(_C.ones(_size(size), _check_dtype(dtype) or _DEFAULT), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    if dtype is None:
        dtype = (_C.dtype.bool if isinstance(fill_value, builtins.bool) else
                 _C.dtype.int64 if isinstance(fill_value, int) else _DEFAULT)
    return _finish(_C.full(_size((size,)) if not isinstance(size, int) else (size,), fill_value, dtype),
                   requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, end, step))
        dtype = _C.dtype.int64 if ints else _DEFAULT
    return _finish(_C.arange(float(start), float(end), float(step), _check_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    return _finish(_C.linspace(float(start), float(end), int(steps), _check_dtype(dtype) or _DEFAULT), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    return _finish(_C.eye(n, -1 if m is None else m, _check_dtype(dtype) or _DEFAULT), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    return _finish(_C.rand(_size(size), _check_dtype(dtype) or _DEFAULT), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    return _finish(_C.randn(_size(size), _check_dtype(dtype) or _DEFAULT), requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None):
    _check_device(device)
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high is None:
        low, high = 0, low
    return _C.randint(low, high, tuple(size), _check_dtype(dtype) or _C.dtype.int64)


def _need_tensor(t, fn):
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor, not {type(t).__name__}")
    return t


def zeros_like(t, dtype=None, requires_grad=False):
    _need_tensor(t, "zeros_like")
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    _need_tensor(t, "ones_like")
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    _need_tensor(t, "full_like")
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad=False):
    _need_tensor(t, "empty_like")
    return empty(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    _need_tensor(t, "rand_like")
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    _need_tensor(t, "randn_like")
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def get_rng_state():
    """The global generator's state (a tuple of six ints) for checkpoints."""
    return tuple(_C.get_rng_state())


def set_rng_state(state):
    state = tuple(int(v) for v in state)
    if len(state) != 6:
        raise ValueError(f"rng state must have 6 entries, got {len(state)}")
    if not any(state[:4]):
        raise ValueError("rng state words must not all be zero")
    _C.set_rng_state(list(state))


# --- max / min return (values, indices) named tuples along a dim, like torch ------------------
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    if isinstance(dim, Tensor):
        return _C.maximum(input, dim)
    r = _C._max(input, dim, keepdim)
    return r if dim is None else MaxResult(*r)


def min(input, dim=None, keepdim=False):  # noqa: A001
    if isinstance(dim, Tensor):
        return _C.minimum(input, dim)
    r = _C._min(input, dim, keepdim)
    return r if dim is None else MinResult(*r)


# --- Tensor methods written in Python --------------------------------------------------------
def _tolist(self):
    if self.ndim == 0:
        return self.item()
    return self.detach().numpy().tolist()


def _size_method(self, dim=None):
    if dim is None:
        return self.shape
    try:
        return self.shape[dim]
    except IndexError:
        n = builtins.max(self.ndim, 1)
        raise IndexError(f"dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})") from None


def _iter(self):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(self.shape[0]))


def _any(self, dim=None, keepdim=False):
    return (self.bool().long().sum(dim, keepdim) > 0) if dim is not None else (self.bool().long().sum() > 0)


def _all(self, dim=None, keepdim=False):
    n = self.numel() if dim is None else self.shape[dim]
    return (self.bool().long().sum(dim, keepdim) == n) if dim is not None else (self.bool().long().sum() == n)


def _type_as(self, other):
    _need_tensor(other, "type_as")
    return self.to(other.dtype)


def _repr(self):
    from ._format import format_tensor

    return format_tensor(self)


def _is_floating_point(self):
    return self.dtype.is_floating_point


Tensor.tolist = _tolist
Tensor.size = _size_method
Tensor.__iter__ = _iter
Tensor.any = _any
Tensor.all = _all
Tensor.type_as = _type_as
Tensor.max = max
Tensor.min = min
Tensor.is_floating_point = _is_floating_point
Tensor.__repr__ = _repr
Tensor.__str__ = _repr
Tensor.__module__ = "ember"
_C.dtype.__repr__ = lambda self: f"ember.{self.name}"
_C.dtype.__str__ = lambda self: f"ember.{self.name}"
