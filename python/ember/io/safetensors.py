"""ember.save / ember.load in the safetensors format (the published layout: an 8-byte header
length, a JSON header, raw little-endian data), so files move to and from other tools."""
from __future__ import annotations

import os
from collections import OrderedDict

from .. import _C
from .._C import Tensor
from .files import check_writable_path


def _as_named_tensors(obj):
    if callable(getattr(obj, "state_dict", None)):  # a Module (duck-typed: no import of ember.nn here)
        obj = obj.state_dict()
    if isinstance(obj, Tensor):
        raise TypeError("ember.save expects a dict of tensors (e.g. model.state_dict()), got a single tensor; "
                        "wrap it: ember.save({'tensor': t}, path)")
    if not hasattr(obj, "items"):
        raise TypeError(f"ember.save expects a dict of tensors or a Module, got {type(obj).__name__}")
    out = []
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be strings, got {name!r}")
        _check_utf8(name, "tensor name")
        if not isinstance(value, Tensor):
            from .. import tensor

            try:
                value = tensor(value)
            except (TypeError, ValueError):
                raise TypeError(f"value for '{name}' is a {type(value).__name__}, not a tensor") from None
        out.append((name, value.detach()))
    return out


def save(obj, path, metadata=None):
    """Writes a dict of tensors (or a Module's state_dict) to `path` atomically."""
    path = check_writable_path(path)
    meta = [(str(k), str(v)) for k, v in (metadata or {}).items()]
    for k, v in meta:
        _check_utf8(k, "metadata key")
        _check_utf8(v, f"metadata value of {k!r}")
    _C._io.save_safetensors(path, _as_named_tensors(obj), meta)


def load(path, with_metadata=False):
    """Reads a safetensors file into an OrderedDict of tensors (and its metadata dict if asked)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot load {path}: it is a directory")
    tensors, metadata = _C._io.load_safetensors(path)
    out = OrderedDict(tensors)
    return (out, dict(metadata)) if with_metadata else out


def _check_utf8(text, what):
    # The file format is UTF-8; a str with lone surrogates (from undecodable file names) has no encoding.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {text!r} cannot be encoded as UTF-8") from None
