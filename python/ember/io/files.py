"""Atomic file writes: temp file in the same folder, fsync, rename over the target."""
from __future__ import annotations

import os

from .. import _C


def check_writable_path(path):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path}: it is a directory")
    return path


def atomic_write_text(path, text):
    path = check_writable_path(path)
    _C._io.atomic_write(path, text.encode("utf-8"))


def atomic_write_bytes(path, data):
    path = check_writable_path(path)
    _C._io.atomic_write(path, bytes(data))
