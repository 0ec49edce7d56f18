"""Reading raw bytes from disk, gzip or not, with errors that say what went wrong."""

from __future__ import annotations

import gzip
import os
import zlib

_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's contents, gunzipped when it is a gzip file (decided by content, not name).

    A truncated or damaged gzip stream raises ValueError naming the file, instead of the
    EOFError / BadGzipFile / zlib.error mix that gzip itself raises.
    """
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"{os.fspath(path)}: corrupt or truncated gzip data ({e})") from None


def file_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """Identity of a file's current contents, for in-process caches: a rewritten file misses."""
    real = os.path.realpath(path)
    st = os.stat(real)
    return real, st.st_size, st.st_mtime_ns


def package_dir(module: str) -> str | None:
    """Folder of an installed top-level package, found without importing it (importing
    scikit-learn costs a second and pulls in scipy; we only want one of its data files)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def packaged_file(name: str, module: str, relpath: str, install: str) -> str:
    """Path of ``relpath`` inside installed package ``module``, or DatasetNotFoundError."""
    from ._errors import DatasetNotFoundError

    root = package_dir(module)
    if root is None:
        raise DatasetNotFoundError(name, f"package {module!r}", install,
                                   detail=f"package {module!r} is not installed")
    path = os.path.join(root, relpath)
    if not os.path.isfile(path):
        raise DatasetNotFoundError(name, path, install,
                                   detail=f"{module!r} is installed but lacks {relpath}")
    return path
