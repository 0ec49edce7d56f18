"""CIFAR-10 from the standard python-pickle batches, unpickled without running foreign code."""

from __future__ import annotations

import codecs
import io
import os
import pickle

import numpy as np

from ._errors import DatasetNotFoundError
from ._files import read_bytes
from ._split import Split

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST = "test_batch"
_META = "batches.meta"
_FOLDER = "cifar-10-batches-py"


def default_data_home() -> str:
    """Where loaders without a packaged home look: ``$EMBER_DATA``, else ``~/.ember/data``."""
    return os.environ.get("EMBER_DATA") or os.path.join(os.path.expanduser("~"), ".ember", "data")


def _latin1_encode(obj, encoding="utf-8", errors="strict"):
    # Pickles of bytes written by Python 3 at protocol <= 2 rebuild them with
    # _codecs.encode(text, "latin1"). Only that exact use is let through.
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "iso-8859-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode({type(obj).__name__}, "
                                     f"{encoding!r}) in a CIFAR batch")
    return codecs.encode(obj, encoding, errors)


def _numpy_globals() -> dict[tuple[str, str], object]:
    # A numpy array pickles as _reconstruct(ndarray, shape, dtype) + __setstate__ (protocol
    # <= 4) or _frombuffer(bytes, dtype, shape, order) (protocol 5). The module is
    # numpy.core.* in files written by numpy 1 / Python 2 (the official batches) and
    # numpy._core.* in files written by numpy 2; both map to the objects of the numpy we run.
    try:
        from numpy._core import multiarray, numeric  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray, numeric
    allowed: dict[tuple[str, str], object] = {}
    for pkg in ("numpy.core", "numpy._core"):
        allowed[(f"{pkg}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{pkg}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{pkg}.numeric", "_frombuffer")] = numeric._frombuffer
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    allowed[("_codecs", "encode")] = _latin1_encode
    return allowed


class _SafeUnpickler(pickle.Unpickler):
    """Resolves only the handful of globals a CIFAR batch needs; any other global (os.system,
    builtins.eval, subprocess.Popen, ...) stops the load before it can be called."""

    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: not allowed in a CIFAR batch") from None


def safe_unpickle(path: str) -> object:
    """Unpickle ``path`` allowing only dicts, lists, numbers, bytes/str and numpy arrays.

    Keys and strings come back as bytes (``encoding="bytes"``), as in the official batches
    written by Python 2. Raises ValueError for a hostile or damaged pickle.
    """
    try:
        return _SafeUnpickler(io.BytesIO(read_bytes(path)), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, IndexError,
            KeyError, ValueError, UnicodeDecodeError, MemoryError) as e:
        raise ValueError(f"{path}: not a valid CIFAR pickle ({type(e).__name__}: {e})") from None


def _get(d: dict, key: str):
    # Official batches have bytes keys; a batch re-saved by Python 3 may have str keys.
    if key.encode() in d:
        return d[key.encode()]
    return d[key]


def _read_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    d = safe_unpickle(path)
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a dict, got {type(d).__name__}")
    try:
        data, labels = _get(d, "data"), _get(d, "labels")
    except KeyError:
        raise ValueError(f"{path}: batch lacks b'data' or b'labels' (keys: {list(d)})") from None
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: b'data' must be uint8 (N, 3072), got {data.dtype} "
                         f"{data.shape}")
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{path}: b'labels' is not a list of integers") from None
    if y.shape != (data.shape[0],):
        raise ValueError(f"{path}: {data.shape[0]} images but labels of shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= 10):
        raise ValueError(f"{path}: labels span {y.min()}..{y.max()}, expected 0..9")
    return data, y


def _resolve_root(root: str | os.PathLike | None) -> str:
    root = os.fspath(root) if root is not None else os.path.join(default_data_home(), _FOLDER)
    # Accept the folder the tarball unpacks into or the folder holding it.
    nested = os.path.join(root, _FOLDER)
    if not os.path.exists(os.path.join(root, _TEST)) and os.path.isdir(nested):
        return nested
    return root


def load_cifar10(root: str | os.PathLike | None = None) -> Split:
    """CIFAR-10 from the python-version batches in ``root``: 50,000 train (``data_batch_1``
    .. ``_5``) + 10,000 test (``test_batch``), x float32 (N, 3, 32, 32) in [0, 1], y int64.

    ``root`` is the ``cifar-10-batches-py`` folder or its parent; by default
    ``$EMBER_DATA/cifar-10-batches-py`` (``~/.ember/data`` when EMBER_DATA is unset). No
    package ships CIFAR-10 and ember never downloads at run time: unpack the archive there.
    Class names come from ``batches.meta`` when it is present.
    """
    root = _resolve_root(root)
    names = _TRAIN + (_TEST,)
    missing = [n for n in names if not os.path.isfile(os.path.join(root, n))]
    if missing:
        parent = os.path.dirname(os.path.abspath(root))
        raise DatasetNotFoundError(
            "cifar10", root, f"mkdir -p {parent} && tar -xzf cifar-10-python.tar.gz -C {parent}",
            detail="missing " + ", ".join(missing))
    train = [_read_batch(os.path.join(root, n)) for n in _TRAIN]
    x_test, y_test = _read_batch(os.path.join(root, _TEST))
    x_train = np.concatenate([d for d, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return Split(_to_images(x_train), y_train, _to_images(x_test), y_test,
                 _class_names(root), "cifar10")


def _to_images(data: np.ndarray) -> np.ndarray:
    # Each row is 1024 red, then 1024 green, then 1024 blue values, each plane row-major:
    # exactly C-order (3, 32, 32), so a reshape is all NCHW needs.
    x = data.reshape(-1, 3, 32, 32).astype(np.float32)
    x /= np.float32(255.0)
    return x


def _class_names(root: str) -> tuple[str, ...]:
    path = os.path.join(root, _META)
    if not os.path.isfile(path):
        return CIFAR10_CLASSES
    meta = safe_unpickle(path)
    try:
        names = _get(meta, "label_names")
        out = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise ValueError(f"{path}: expected a dict with b'label_names'") from None
    if len(out) != 10:
        raise ValueError(f"{path}: expected 10 label names, got {len(out)}")
    return out
