"""Reductions over dims with keepdim, checked against numpy on randomized shapes."""
import itertools
import warnings

import numpy as np
import pytest

import ember
from conftest import check, make

SHAPES = [(), (1,), (5,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (4, 0, 3), (7, 5, 1)]


def _dims_for(shape):
    nd = len(shape)
    out = [None]
    for d in range(-nd, nd):
        out.append(d)
    for r in (2, 3):
        out.extend(itertools.combinations(range(nd), r))
    if nd >= 2:
        out.append((-1, 0))
    return out


CASES = [(s, d) for s in SHAPES for d in _dims_for(s)]


def _np_dims(dims):
    return dims if dims is None or isinstance(dims, tuple) else (dims,)


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean(case, keepdim, rng):
    shape, dims = CASES[case]
    a = rng.standard_normal(shape)
    for nc in (False, True):
        t = make(a, nc)
        check(ember.sum(t, dims, keepdim), np.sum(a, _np_dims(dims), keepdims=keepdim), rtol=1e-10)
        check(t.sum(dim=dims, keepdim=keepdim), np.sum(a, _np_dims(dims), keepdims=keepdim), rtol=1e-10)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on the mean of an empty slice
            expected = np.mean(a, _np_dims(dims), keepdims=keepdim)
        check(t.mean(dims, keepdim), expected, rtol=1e-10)


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("correction", [0, 1])
def test_var_std(case, correction, rng):
    shape, dims = CASES[case]
    a = rng.standard_normal(shape)
    t = ember.tensor(a)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns when ddof >= count
        ev = np.var(a, _np_dims(dims), ddof=correction)
        es = np.std(a, _np_dims(dims), ddof=correction, keepdims=True)
    check(t.var(dims, correction=correction), ev, rtol=1e-9, atol=1e-12)
    check(ember.std(t, dims, keepdim=True, correction=correction), es, rtol=1e-9, atol=1e-12)
    check(t.var(dims, unbiased=bool(correction)), ev, rtol=1e-9, atol=1e-12)


def test_var_default_is_unbiased():
    a = np.array([1.0, 2.0, 4.0])
    check(ember.tensor(a).var(), np.var(a, ddof=1))
    check(ember.tensor(a).std(), np.std(a, ddof=1))


@pytest.mark.parametrize("shape", [s for s in SHAPES if 0 not in s])
def test_max_min_argmax_argmin(shape, rng):
    a = rng.standard_normal(shape)
    t = make(a, True)
    check(ember.max(t), np.max(a))
    check(t.min(), np.min(a))
    check(ember.argmax(t), np.argmax(a))
    check(t.argmin(), np.argmin(a))
    for d in range(-len(shape), len(shape)) if shape else [0, -1]:
        for keepdim in (False, True):
            v, i = ember.max(t, d, keepdim)
            check(v, np.max(a, d, keepdims=keepdim))
            check(i, np.argmax(a, d, keepdims=keepdim) if shape else np.array(0), dtype=ember.int64)
            r = t.min(dim=d, keepdim=keepdim)
            check(r.values, np.min(a, d, keepdims=keepdim))
            check(r.indices, np.argmin(a, d, keepdims=keepdim) if shape else np.array(0))
            check(ember.argmax(t, d, keepdim), np.argmax(a, d, keepdims=keepdim) if shape else np.array(0))
            check(t.argmin(d, keepdim=keepdim), np.argmin(a, d, keepdims=keepdim) if shape else np.array(0))


def test_max_ties_and_nan():
    t = ember.tensor([1.0, 3.0, 3.0, 0.0])
    assert ember.argmax(t).item() == 1  # first index on ties, like numpy/torch
    assert ember.max(t, 0).indices.item() == 1
    n = ember.tensor([1.0, np.nan, 5.0])
    assert np.isnan(ember.max(n).item()) and np.isnan(ember.min(n).item())
    assert ember.argmax(n).item() == 1
    check(ember.max(ember.tensor([[1, 5], [7, 2]]), 1).values, [5, 7], dtype=ember.int64)
    check(ember.max(ember.tensor([True, False])), np.array(True), dtype=ember.bool)


def test_max_elementwise_form():
    a, b = ember.tensor([1.0, 5.0]), ember.tensor([3.0, 2.0])
    check(ember.max(a, b), [3.0, 5.0])
    check(ember.min(a, b), [1.0, 2.0])
    check(a.max(b), [3.0, 5.0])


@pytest.mark.parametrize("case", range(len(CASES)))
def test_logsumexp(case, rng):
    shape, dims = CASES[case]
    if dims is None:
        dims = tuple(range(len(shape)))
    a = rng.standard_normal(shape) * 10
    m = np.max(a, _np_dims(dims), keepdims=True) if a.size else 0.0
    with np.errstate(divide="ignore"):
        expected = np.log(np.sum(np.exp(a - m), _np_dims(dims), keepdims=True)) + m
    for keepdim in (False, True):
        e = expected if keepdim else expected.reshape(np.sum(a, _np_dims(dims)).shape)
        check(ember.logsumexp(ember.tensor(a), dims, keepdim), e, rtol=1e-10)


def test_logsumexp_extremes():
    t = ember.tensor([1000.0, 1000.0])
    check(ember.logsumexp(t, 0), 1000.0 + np.log(2.0))
    check(ember.logsumexp(ember.tensor([-np.inf, -np.inf]), 0), -np.inf)
    check(ember.logsumexp(ember.tensor([-1000.0, -1000.0]), 0), -1000.0 + np.log(2.0))
    check(ember.logsumexp(ember.tensor([1.0, np.inf]), 0), np.inf)


def test_int_and_bool_reductions():
    i = ember.tensor([[1, 2], [3, 4]])
    check(i.sum(), np.array(10), dtype=ember.int64)
    check(i.sum(0), [4, 6], dtype=ember.int64)
    check(ember.tensor([True, True, False]).sum(), np.array(2), dtype=ember.int64)
    check(i.prod(), np.array(24), dtype=ember.int64)
    assert ember.tensor([0.0, 1.0]).any().item() and not ember.tensor([0.0, 1.0]).all().item()
    with pytest.raises(TypeError, match="mean"):
        i.mean()


def test_sum_large_accuracy():
    # blocked summation keeps float32 error small on a long vector
    x = np.full(1_000_003, 0.1, dtype=np.float32)
    got = ember.tensor(x).sum().item()
    assert abs(got - 100000.3) / 100000.3 < 1e-5


def test_reduction_errors():
    t = ember.zeros(2, 3)
    with pytest.raises(IndexError, match="dimension out of range"):
        t.sum(2)
    with pytest.raises(IndexError, match="dimension out of range"):
        t.mean(-3)
    with pytest.raises(ValueError, match="appears multiple times"):
        t.sum((0, 0))
    with pytest.raises(ValueError, match="numel\\(\\) == 0"):
        ember.zeros(0).max()
    with pytest.raises(IndexError, match="non-zero size"):
        ember.zeros(2, 0).max(1)
    with pytest.raises(ValueError):
        ember.argmax(ember.zeros(0))
    check(ember.zeros(0, 2).max(1).values, np.zeros((0,)))
