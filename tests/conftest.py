"""Shared helpers for the foundation tests.

- `torch` fixture: the torch module, or a skip of only that test when torch is not installed.
- `rng` fixture: a seeded numpy Generator, so every randomized test is reproducible.
- `make(...)`: an ember tensor from numpy data, optionally as a non-contiguous view.
- `check(...)`: compares an ember tensor with a numpy expectation (shape, dtype kind, values).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PY = os.path.join(_ROOT, "python")
try:
    import ember  # noqa: F401
except ImportError:  # running from a checkout without PYTHONPATH=python
    sys.path.insert(0, _PY)
    import ember  # noqa: F401

# Child interpreters must import the same ember this run imported: the installed wheel in CI (the
# checkout's python/ has no compiled _C there), the source tree with PYTHONPATH=python in development.
EMBER_PATH = os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__)))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


NP_DTYPES = {
    "float32": np.float32,
    "float64": np.float64,
    "int64": np.int64,
    "bool": np.bool_,
}


def ember_dtype(name):
    return getattr(ember, name)


def make(arr, noncontig=False):
    """An ember tensor holding `arr`'s values; with noncontig=True, a strided view of a larger
    buffer (every other element of the last dim) that holds the same values."""
    arr = np.asarray(arr)
    if not noncontig or arr.ndim == 0:
        return ember.tensor(arr)
    big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), dtype=arr.dtype)
    big[..., ::2] = arr
    t = ember.tensor(big)[..., ::2]
    if arr.size > 1 and arr.shape[-1] > 1:
        assert not t.is_contiguous()
    return t


def randn(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def to_np(t):
    return t.detach().numpy()


def check(t, expected, rtol=1e-5, atol=1e-6, dtype=None):
    """Asserts that ember tensor `t` equals numpy `expected` in shape and (closely) in value."""
    expected = np.asarray(expected)
    assert isinstance(t, ember.Tensor), type(t)
    assert tuple(t.shape) == expected.shape, (tuple(t.shape), expected.shape)
    if dtype is not None:
        assert t.dtype == dtype, (t.dtype, dtype)
    got = to_np(t)
    if expected.dtype.kind in "biu" and got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def load_example(name):
    """The module examples/<name>.py, imported from the checkout (the examples are not installed)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", name + ".py")
    spec = importlib.util.spec_from_file_location("example_" + name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_python(code, timeout=120):
    """Runs `code` in a fresh interpreter with ember importable; returns the CompletedProcess.
    Used for cases that could crash the process: a segfault shows up as a negative returncode."""
    env = dict(os.environ)
    env["PYTHONPATH"] = EMBER_PATH + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env)
