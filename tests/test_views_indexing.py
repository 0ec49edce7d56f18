"""Basic and advanced indexing against numpy, assignment into every kind of index, and autograd
through getitem and setitem."""
import numpy as np
import pytest

import ember
from conftest import check, make, to_np

A = np.arange(60, dtype=np.float64).reshape(3, 4, 5)

I = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731


def _keys():
    """(numpy key, ember key) pairs; ember keys use ember tensors where numpy uses arrays."""
    T = lambda a: ember.tensor(a)  # noqa: E731
    mask2 = (A[:, :, 0] % 3) == 0  # shape (3, 4)
    mask1 = np.array([True, False, True])
    return [
        (1, 1),
        (-1, -1),
        ((1, 2), (1, 2)),
        ((1, 2, 3), (1, 2, 3)),
        (slice(1, None), slice(1, None)),
        ((slice(1, None), slice(None, None, 2)), (slice(1, None), slice(None, None, 2))),
        ((slice(None), slice(-3, -1)), (slice(None), slice(-3, -1))),
        ((slice(None, None, 2), 1, slice(1, 4, 2)), (slice(None, None, 2), 1, slice(1, 4, 2))),
        ((slice(5, 10),), (slice(5, 10),)),  # empty
        ((slice(-100, 100),), (slice(-100, 100),)),
        (Ellipsis, Ellipsis),
        ((Ellipsis, 1), (Ellipsis, 1)),
        ((Ellipsis, None), (Ellipsis, None)),
        ((None, 1, Ellipsis, None), (None, 1, Ellipsis, None)),
        ((1, None, slice(None), None), (1, None, slice(None), None)),
        (I(0, 2), T(I(0, 2))),
        ([0, 2], [0, 2]),
        (I(-1, 0, 0), T(I(-1, 0, 0))),
        (I(2, 0).reshape(2, 1), T(I(2, 0).reshape(2, 1))),
        ((slice(None), I(3, 1)), (slice(None), T(I(3, 1)))),
        ((Ellipsis, I(4, 0, 1)), (Ellipsis, T(I(4, 0, 1)))),
        ((I(0, 1), I(1, 3)), (T(I(0, 1)), T(I(1, 3)))),            # adjacent: stay in place
        ((slice(None), I(0, 1), I(1, 3)), (slice(None), T(I(0, 1)), T(I(1, 3)))),
        ((I(0, 2), slice(None), I(1, 3)), (T(I(0, 2)), slice(None), T(I(1, 3)))),  # non-adjacent: first
        ((I(0, 2).reshape(2, 1), slice(1, 3), I(1, 3, 4)), (T(I(0, 2).reshape(2, 1)), slice(1, 3), T(I(1, 3, 4)))),
        ((I(0, 2), None, I(1, 3)), (T(I(0, 2)), None, T(I(1, 3)))),
        ((I(1), slice(None), I(0, 4)), (T(I(1)), slice(None), T(I(0, 4)))),  # broadcast indices
        (mask1, T(mask1)),
        (mask2, T(mask2)),
        ((mask1, slice(1, 3)), (T(mask1), slice(1, 3))),
        ((slice(None), mask2[0]), (slice(None), T(mask2[0]))),
        ((Ellipsis, A[0, 0] > 1), (Ellipsis, T(A[0, 0] > 1))),
        (np.zeros(3, dtype=bool), T(np.zeros(3, dtype=bool))),
        ((np.array(1), slice(None)), (T(np.array(1)), slice(None))),  # 0-d index tensor
    ]


@pytest.mark.parametrize("k", range(len(_keys())))
@pytest.mark.parametrize("noncontig", [False, True])
def test_getitem_matches_numpy(k, noncontig):
    nk, ek = _keys()[k]
    t = make(A, noncontig=noncontig)
    check(t[ek], A[nk])


def test_basic_index_is_view_advanced_is_copy():
    t = ember.tensor(A)
    v = t[1:, ::2]
    v.fill_(-1.0)
    assert to_np(t)[1, 0, 0] == -1.0
    c = t[[0, 1]]
    c.fill_(5.0)
    assert to_np(t)[0, 0, 0] != 5.0


@pytest.mark.parametrize("k", range(len(_keys())))
def test_setitem_scalar_matches_numpy(k):
    nk, ek = _keys()[k]
    expected = A.copy()
    expected[nk] = -7.0
    t = ember.tensor(A)
    t[ek] = -7.0
    check(t, expected)


@pytest.mark.parametrize("k", range(len(_keys())))
def test_setitem_tensor_broadcast_matches_numpy(k):
    nk, ek = _keys()[k]
    target_shape = A[nk].shape
    # a value broadcast along the leading dims of the indexed shape
    vshape = target_shape[-1:] if target_shape else ()
    value = np.arange(int(np.prod(vshape)), dtype=np.float64).reshape(vshape) + 100
    expected = A.copy()
    expected[nk] = value
    t = ember.tensor(A)
    t[ek] = ember.tensor(value)
    check(t, expected)
    # and the full indexed shape, from a non-contiguous source
    full = np.arange(int(np.prod(target_shape)), dtype=np.float64).reshape(target_shape) - 50
    expected = A.copy()
    expected[nk] = full
    t = ember.tensor(A)
    t[ek] = make(full, noncontig=True)
    check(t, expected)


def test_setitem_examples():
    t = ember.tensor(A.copy())
    t[t > 30] = 0
    e = A.copy()
    e[e > 30] = 0
    check(t, e)
    t = ember.arange(12.0).reshape(3, 4)
    other = ember.tensor([[10.0, 20.0], [30.0, 40.0]])
    t[1:, ::2] = other
    e = np.arange(12.0).reshape(3, 4)
    e[1:, ::2] = [[10, 20], [30, 40]]
    check(t, e)
    t = ember.zeros(4, 3)
    t[ember.tensor([0, 2])] = ember.tensor([1.0, 2.0, 3.0])  # broadcast over the indexed rows
    check(t, [[1, 2, 3], [0, 0, 0], [1, 2, 3], [0, 0, 0]])
    t[[1, 3], 1] = ember.tensor([5.0, 6.0])
    check(t, [[1, 2, 3], [0, 5, 0], [1, 2, 3], [0, 6, 0]])
    t[..., 0] = 9
    check(t[:, 0], [9, 9, 9, 9])
    t[:] = ember.tensor(1)  # int value into a float tensor
    check(t, np.ones((4, 3)))
    i = ember.zeros(3, dtype=ember.int64)
    i[1] = 4
    check(i, [0, 4, 0])
    b = ember.zeros(3, dtype=ember.bool)
    b[ember.tensor([0, 2])] = True
    check(b, [True, False, True])


def test_setitem_overlapping_source():
    t = ember.arange(6.0)
    t[1:] = t[:-1]  # must read the source before writing
    check(t, [0, 0, 1, 2, 3, 4])
    t = ember.arange(6.0)
    t[ember.tensor([1, 2, 3])] = t[ember.tensor([0, 1, 2])]
    check(t, [0, 0, 1, 2, 4, 5])


def test_setitem_bumps_version():
    t = ember.zeros(3)
    v = t._version
    t[0] = 1.0
    assert t._version > v


def test_index_select_and_masked_fill():
    t = ember.tensor(A)
    check(ember.index_select(t, 1, ember.tensor([3, 0])), A[:, [3, 0]])
    check(t.index_select(0, ember.tensor([2])), A[[2]])
    m = ember.tensor(A > 20)
    check(t.masked_fill(m, -1.0), np.where(A > 20, -1.0, A))
    check(ember.nonzero(ember.tensor([[0, 1], [2, 0]])), np.argwhere(np.array([[0, 1], [2, 0]])))


# --- autograd through indexing -----------------------------------------------------------------------
@pytest.mark.parametrize("k", range(len(_keys())))
def test_getitem_backward(k):
    nk, ek = _keys()[k]
    x = ember.tensor(A, requires_grad=True)
    y = x[ek]
    g = np.arange(y.numel(), dtype=np.float64).reshape(y.shape) + 1
    y.backward(ember.tensor(g))
    expected = np.zeros_like(A)
    np.add.at(expected, nk, g)  # repeated indices accumulate
    check(x.grad, expected)


def test_getitem_repeated_index_accumulates():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    check(x.grad, [3.0, 0.0, 1.0])


def test_setitem_backward():
    x = ember.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    v = ember.tensor([[10.0, 20.0]], requires_grad=True)  # broadcast to the (2, 2) target
    y = x * 1.0
    y[1:, ::2] = v
    w = ember.tensor(np.arange(12.0).reshape(3, 4) + 1)
    (y * w).sum().backward()
    gx = w.numpy().copy()
    gx[1:, ::2] = 0
    check(x.grad, gx)
    check(v.grad, w.numpy()[1:, ::2].sum(0, keepdims=True))


def test_setitem_mask_backward():
    x = ember.tensor([1.0, -2.0, 3.0, -4.0], requires_grad=True)
    y = x.clone()
    y[y < 0] = 0
    (y * ember.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    check(x.grad, [1.0, 0.0, 3.0, 0.0])


def test_setitem_advanced_backward_into_value():
    x = ember.zeros(4, 3, requires_grad=True)
    vals = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x + 0
    y[ember.tensor([0, 2])] = vals
    (y * ember.arange(12.0).reshape(4, 3)).sum().backward()
    check(vals.grad, np.arange(12.0).reshape(4, 3)[[0, 2]].sum(0))
    gx = np.arange(12.0).reshape(4, 3)
    gx[[0, 2]] = 0
    check(x.grad, gx)


def test_setitem_into_plain_tensor_with_grad_value():
    buf = ember.zeros(3)
    w = ember.tensor(2.0, requires_grad=True)
    buf[1] = w
    assert buf.requires_grad
    (buf * ember.tensor([1.0, 5.0, 1.0])).sum().backward()
    assert w.grad.item() == 5.0


def test_setitem_on_leaf_requiring_grad_raises():
    x = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 1.0
    with ember.no_grad():
        x[0] = 1.0  # allowed without grad recording, like torch
    assert x.tolist() == [1.0, 0.0, 0.0]


def test_view_backward_chain():
    x = ember.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = x.permute(2, 0, 1).reshape(4, 6)[1:].t().unsqueeze(0).expand(3, 6, 3).squeeze()
    w = np.random.default_rng(0).standard_normal(y.shape)
    (y * ember.tensor(w)).sum().backward()
    # the same computation in numpy: gradient of sum(y * w) w.r.t. x
    idx = np.arange(24).reshape(2, 3, 4).transpose(2, 0, 1).reshape(4, 6)[1:].T
    expected = np.zeros(24)
    np.add.at(expected, np.broadcast_to(idx, (3, 6, 3)).reshape(-1), w.reshape(-1))
    check(x.grad, expected.reshape(2, 3, 4))


def test_index_errors():
    t = ember.tensor(A)
    with pytest.raises(IndexError, match="out of bounds"):
        t[3]
    with pytest.raises(IndexError, match="out of bounds"):
        t[0, -5]
    with pytest.raises(IndexError, match="out of bounds"):
        t[ember.tensor([0, 3])]
    with pytest.raises(IndexError, match="out of bounds"):
        t[:, [4, -5]]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        t[..., 0, ...]
    with pytest.raises(IndexError, match="mask"):
        t[ember.tensor([True, False])]
    with pytest.raises(IndexError):
        t[ember.tensor([0.0, 1.0])]
    with pytest.raises(IndexError):
        t[1.5]
    with pytest.raises(ValueError, match="step"):
        t[::-1]
    with pytest.raises(IndexError, match="0-dim"):
        ember.tensor(1.0)[0]
    with pytest.raises(ValueError, match="broadcast"):
        t[0] = ember.zeros(3)
    with pytest.raises(ValueError):
        t[[0, 1]] = ember.zeros(3, 4, 5)
    with pytest.raises(IndexError, match="out of bounds"):
        t[ember.tensor([7])] = 1.0
