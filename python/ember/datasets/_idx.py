"""The IDX format of MNIST and its clones: reader, writer, and finding the four files."""

from __future__ import annotations

import functools
import os
import re
import struct
from typing import Sequence

import numpy as np

from ._errors import DatasetNotFoundError
from ._files import file_key, read_bytes
from ._split import Split

# Third magic byte -> big-endian element type (http://yann.lecun.com/exdb/mnist/, "IDX format").
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_DTYPES.items()}


def _parse_idx(data: bytes, where: str) -> np.ndarray:
    """Array view of an IDX byte string (read-only, native byte order). Validates every field."""
    if len(data) < 4:
        raise ValueError(f"{where}: not an IDX file: {len(data)} bytes, shorter than the header")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _IDX_DTYPES:
        raise ValueError(f"{where}: not an IDX file: bad magic number 0x{data[:4].hex()} "
                         f"(expected 0x0000 then a type code in "
                         f"{sorted(hex(c) for c in _IDX_DTYPES)}, then the rank)")
    if ndim == 0:
        raise ValueError(f"{where}: IDX header has rank 0")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{where}: truncated IDX header: rank {ndim} needs {header} bytes, "
                         f"file has {len(data)}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_DTYPES[code]
    # Python ints, so a corrupt header claiming 2**32 x 2**32 elements cannot overflow.
    expected = header + dtype.itemsize * int(np.prod(dims, dtype=object))
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "has trailing bytes"
        raise ValueError(f"{where}: IDX file {kind}: header says shape {dims} of {dtype.name} "
                         f"= {expected} bytes, file has {len(data)}")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    if dtype.byteorder == ">" and dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
        arr.flags.writeable = False
    return arr


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain) into a writable numpy array of its own dtype.

    Raises ValueError for anything that is not a complete, well-formed IDX file: bad magic
    number, unknown type code, truncated header or data, trailing bytes, damaged gzip.
    """
    return _read_idx_cached(*file_key(path)).copy()


@functools.lru_cache(maxsize=16)
def _read_idx_cached(path: str, size: int, mtime_ns: int) -> np.ndarray:
    # size/mtime are part of the key only so that a rewritten file is parsed again.
    return _parse_idx(read_bytes(path), path)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``)."""
    import gzip

    a = np.asarray(array)
    code = _IDX_CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {a.dtype}; use one of "
                         f"{sorted(str(d.newbyteorder('=')) for d in _IDX_DTYPES.values())}")
    if a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"IDX needs rank 1..255, got shape {a.shape}")
    data = (struct.pack(">HBB", 0, code, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
            + np.ascontiguousarray(a, dtype=_IDX_DTYPES[code]).tobytes())
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


# ---- finding the four files of an MNIST-style folder ------------------------------------------

_PARTS = (("train", "images"), ("train", "labels"), ("test", "images"), ("test", "labels"))

# Accepts the names in the wild: train-images-idx3-ubyte(.gz), train-images.idx3-ubyte,
# t10k-labels-idx1-ubyte, test_images_idx3_ubyte, emnist-digits-train-images-idx3-ubyte, ...
_IDX_NAME = re.compile(r"^(?P<prefix>.*?)(?P<split>train|t10k|test)[-_.](?P<kind>images|labels)"
                       r"[-_.]idx(?P<rank>\d)[-_.]ubyte(?P<gz>\.gz)?$", re.IGNORECASE)


def find_idx_files(folder: str | os.PathLike, prefix: str | None = None) -> dict[str, str]:
    """Paths of the four IDX files in ``folder``, keyed ``train-images``, ``train-labels``,
    ``test-images``, ``test-labels``.

    ``prefix`` selects one set when a folder holds several (``"emnist-digits-"``); without it
    any prefix is accepted as long as only one set is present. When both ``x`` and ``x.gz``
    exist (``gunzip -k``), the plain file is used. Missing files raise DatasetNotFoundError.
    """
    return _find(folder, prefix, "idx", _COPY_HINT)


_COPY_HINT = ("copy the four IDX files there (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
              "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; .gz or not)")


def _find(folder: str | os.PathLike, prefix: str | None, name: str, install: str
          ) -> dict[str, str]:
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DatasetNotFoundError(name, folder, install, detail="no such folder")
    found: dict[tuple[str, str], dict[str, str]] = {p: {} for p in _PARTS}
    for entry in sorted(os.listdir(folder)):
        m = _IDX_NAME.match(entry)
        if not m or (prefix is not None and m["prefix"].lower() != prefix.lower()):
            continue
        split = "test" if m["split"].lower() in ("t10k", "test") else "train"
        stem = entry[:-3] if m["gz"] else entry
        stems = found[(split, m["kind"].lower())]
        # Plain beats gzip for the same stem: same data, no decompression.
        if stem not in stems or not m["gz"]:
            stems[stem] = os.path.join(folder, entry)
    paths, missing = {}, []
    for (split, kind), stems in found.items():
        key = f"{split}-{kind}"
        if not stems:
            missing.append(key)
        elif len(stems) > 1:
            raise ValueError(f"{folder}: several {key} files {sorted(stems)}; pass prefix= to "
                             f"choose one set")
        else:
            paths[key] = next(iter(stems.values()))
    if missing:
        raise DatasetNotFoundError(name, folder, install, detail="missing " + ", ".join(missing))
    return paths


def _images_labels(img_path: str, lbl_path: str) -> tuple[np.ndarray, np.ndarray]:
    images = _read_idx_cached(*file_key(img_path))
    labels = _read_idx_cached(*file_key(lbl_path))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{img_path}: expected uint8 images of rank 3 (N, H, W), got "
                         f"{images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{lbl_path}: expected labels of rank 1, got shape {labels.shape}")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"{img_path} has {images.shape[0]} images but {lbl_path} has "
                         f"{labels.shape[0]} labels")
    # astype makes fresh writable arrays, so callers may scribble on them without touching
    # the cached originals.
    x = images[:, None, :, :].astype(np.float32)
    x /= np.float32(255.0)  # division, not * (1/255): keeps 255 -> exactly 1.0
    return x, labels.astype(np.int64)


def load_idx_folder(folder: str | os.PathLike, prefix: str | None = None,
                    class_names: Sequence[str] | None = None, *, name: str = "idx",
                    install: str = _COPY_HINT) -> Split:
    """Load an MNIST-style folder (four IDX files) as a Split: x float32 (N, 1, H, W) in
    [0, 1], y int64. ``class_names`` defaults to ``"0" .. str(max label)``; ``name`` and
    ``install`` label the Split and the DatasetNotFoundError raised when files are missing."""
    p = _find(folder, prefix, name, install)
    x_train, y_train = _images_labels(p["train-images"], p["train-labels"])
    x_test, y_test = _images_labels(p["test-images"], p["test-labels"])
    if class_names is None:
        top = int(max(y_train.max(initial=0), y_test.max(initial=0)))
        class_names = [str(i) for i in range(top + 1)]
    for y, what in ((y_train, "train"), (y_test, "test")):
        if y.size and (y.min() < 0 or y.max() >= len(class_names)):
            raise ValueError(f"{folder}: {what} labels span {y.min()}..{y.max()}, outside "
                             f"0..{len(class_names) - 1}")
    return Split(x_train, y_train, x_test, y_test, tuple(class_names), name)
