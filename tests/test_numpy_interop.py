"""numpy interop: from_numpy shares memory both ways, ember.tensor copies, .numpy() is zero-copy and
keeps the storage alive, __array__, .item(), .tolist(), dtype mapping (torch's rules, with int64 as
ember's only integer type), byte order, strides (non-contiguous, negative, broadcast), read-only and
misaligned arrays."""
import gc
import sys

import numpy as np
import pytest

import ember

NATIVE = {np.float32: ember.float32, np.float64: ember.float64, np.int64: ember.int64, np.bool_: ember.bool}


@pytest.mark.parametrize("npt", list(NATIVE))
def test_from_numpy_shares_memory_both_ways(npt):
    a = (np.arange(6).reshape(2, 3) % 2).astype(npt)
    t = ember.from_numpy(a)
    assert t.dtype == NATIVE[npt] and tuple(t.shape) == (2, 3)
    a[1, 2] = 1
    assert t[1, 2].item() == 1
    t[0, 0] = True if npt is np.bool_ else 1
    assert a[0, 0] == 1
    t.mul_(0) if npt is not np.bool_ else t.fill_(False)
    assert not a.any()
    # the array and the tensor's numpy() view are the same memory
    assert np.shares_memory(a, t.numpy())


def test_from_numpy_keeps_array_alive():
    a = np.arange(5, dtype=np.float64)
    t = ember.from_numpy(a)
    ref = sys.getrefcount(a)
    del a
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), np.arange(5.0))
    assert ref >= 3  # the tensor holds a reference


def test_from_numpy_non_contiguous_and_views():
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    for view in (base[:, ::2], base.T, base[1:3, 1:], base[::3]):
        t = ember.from_numpy(view)
        np.testing.assert_array_equal(t.numpy(), view)
        assert t.is_contiguous() == view.flags["C_CONTIGUOUS"]
        t[0, 0] = -1.0  # writes land in the original buffer
        assert view[0, 0] == -1.0
        np.testing.assert_allclose((t * 2).numpy(), view * 2)
    broadcast = np.broadcast_to(np.arange(3.0), (4, 3))  # stride 0, read-only
    with pytest.raises(ValueError, match="read-only"):
        ember.from_numpy(broadcast)
    np.testing.assert_array_equal(ember.tensor(broadcast).numpy(), broadcast)


def test_from_numpy_rejections_are_clear():
    with pytest.raises(ValueError, match="negative strides"):
        ember.from_numpy(np.arange(4.0)[::-1])
    with pytest.raises(TypeError, match="byte-swapped"):
        ember.from_numpy(np.arange(4, dtype=">f8"))
    with pytest.raises(TypeError, match="int32"):
        ember.from_numpy(np.arange(4, dtype=np.int32))  # sharing needs the same item size
    for bad in (np.float16, np.uint8, np.complex128, np.int16):
        with pytest.raises(TypeError):
            ember.from_numpy(np.zeros(3, dtype=bad))
    with pytest.raises(TypeError, match="ndarray"):
        ember.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError):
        ember.from_numpy(np.array(["a"]))
    with pytest.raises(TypeError):
        ember.from_numpy(np.array([object()]))
    ro = np.arange(3.0)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ember.from_numpy(ro)


def test_from_numpy_misaligned():
    raw = np.zeros(8 * 4 + 1, dtype=np.uint8)
    mis = raw[1:].view(np.float64)
    mis[:] = [1.0, 2.0, 3.0, 4.0]
    assert not mis.flags["ALIGNED"]
    with pytest.raises(ValueError, match="aligned"):
        ember.from_numpy(mis)
    np.testing.assert_array_equal(ember.tensor(mis).numpy(), [1.0, 2.0, 3.0, 4.0])


def test_from_numpy_zero_dim_and_empty():
    t = ember.from_numpy(np.array(2.5))
    assert tuple(t.shape) == () and t.item() == 2.5
    e = ember.from_numpy(np.zeros((0, 3)))
    assert tuple(e.shape) == (0, 3) and e.numel() == 0
    assert e.sum().item() == 0.0
    with pytest.raises(TypeError):
        ember.from_numpy(np.float64(2.0))  # a numpy scalar is no array


@pytest.mark.parametrize("npt", list(NATIVE))
def test_tensor_copies(npt):
    a = np.ones((2, 2), dtype=npt)
    t = ember.tensor(a)
    a[0, 0] = 0
    assert t[0, 0].item() == 1
    t[1, 1] = False if npt is np.bool_ else 0
    assert a[1, 1] == 1
    assert not np.shares_memory(a, t.numpy())


def test_numpy_is_zero_copy_and_keeps_storage_alive():
    t = ember.arange(6, dtype=ember.float64).reshape(2, 3)
    n = t.numpy()
    n[0, 1] = 100.0
    assert t[0, 1].item() == 100.0
    t[1, 0] = -7.0
    assert n[1, 0] == -7.0
    assert np.shares_memory(n, t.numpy())
    del t
    gc.collect()
    _ = [ember.ones(1000) for _ in range(10)]  # reuse freed memory if the storage had been freed
    np.testing.assert_array_equal(n, [[0.0, 100.0, 2.0], [-7.0, 4.0, 5.0]])
    n2 = n[:, 1:]  # a numpy view of the numpy view still keeps it alive
    del n
    gc.collect()
    np.testing.assert_array_equal(n2, [[100.0, 2.0], [4.0, 5.0]])


def test_numpy_of_views_keeps_strides():
    t = ember.arange(12, dtype=ember.float32).reshape(3, 4)
    for view, ref in ((t.t(), np.arange(12.0).reshape(3, 4).T), (t[:, ::2], np.arange(12.0).reshape(3, 4)[:, ::2]),
                      (t[1:], np.arange(12.0).reshape(3, 4)[1:])):
        n = view.numpy()
        np.testing.assert_array_equal(n, ref)
        assert np.shares_memory(n, t.numpy())
    e = ember.ones(3).expand(2, 3).numpy()
    assert e.strides == (0, 4) and e.shape == (2, 3)


def test_numpy_requires_grad_and_detach():
    t = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    np.testing.assert_array_equal(t.detach().numpy(), np.ones(3, np.float32))
    np.testing.assert_array_equal(np.asarray(t), np.ones(3, np.float32))  # __array__ detaches, like torch


def test_array_protocol():
    t = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (2, 2)
    assert np.shares_memory(a, t.numpy())
    d = np.asarray(t, dtype=np.float64)
    assert d.dtype == np.float64
    np.testing.assert_array_equal(d, [[1, 2], [3, 4]])
    c = np.array(t, copy=True)
    c[0, 0] = 9
    assert t[0, 0].item() == 1.0
    np.testing.assert_array_equal(np.add(t, 1), [[2, 3], [4, 5]])
    assert np.asarray(ember.tensor(True)).dtype == np.bool_
    assert np.asarray(ember.tensor(3)).dtype == np.int64


def test_item():
    assert ember.tensor(2.5).item() == 2.5 and isinstance(ember.tensor(2.5).item(), float)
    assert ember.tensor(3).item() == 3 and isinstance(ember.tensor(3).item(), int)
    assert ember.tensor(True).item() is True
    assert ember.tensor([[7]]).item() == 7
    assert ember.tensor(np.float64(0.1), dtype=ember.float64).item() == 0.1
    with pytest.raises(ValueError, match="3 elements"):
        ember.ones(3).item()
    with pytest.raises(ValueError):
        ember.ones(0).item()


def test_tolist():
    assert ember.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert ember.tensor(2.5).tolist() == 2.5
    assert ember.tensor([True, False]).tolist() == [True, False]
    assert ember.zeros(2, 0).tolist() == [[], []]
    assert ember.arange(6).reshape(2, 3).t().tolist() == [[0, 3], [1, 4], [2, 5]]
    vals = ember.tensor([0.1, 0.2], dtype=ember.float64).tolist()
    assert vals == [0.1, 0.2] and all(type(v) is float for v in vals)


# numpy dtype -> ember dtype of ember.tensor(array); torch keeps int32/int16/uint8/float16, ember
# has int64 as its one integer type and float32 as its narrowest float, so those widen.
TENSOR_DTYPES = [
    (np.float32, ember.float32),
    (np.float64, ember.float64),
    (np.float16, ember.float32),
    (np.int64, ember.int64),
    (np.int32, ember.int64),
    (np.int16, ember.int64),
    (np.int8, ember.int64),
    (np.uint8, ember.int64),
    (np.uint32, ember.int64),
    (np.bool_, ember.bool),
]


@pytest.mark.parametrize("npt,et", TENSOR_DTYPES, ids=lambda v: str(v))
def test_tensor_dtype_mapping(npt, et):
    a = np.array([[0, 1, 1], [1, 0, 1]]).astype(npt)
    t = ember.tensor(a)
    assert t.dtype == et
    np.testing.assert_array_equal(t.numpy(), a)


def test_int_rules_like_torch(torch):
    """torch: Python ints -> int64, int arrays keep their integer kind; int op float -> float32
    (the default float), int / int -> float. ember matches with int64 in place of int32."""
    a32 = np.array([1, 2, 3], dtype=np.int32)
    e, tt = ember.tensor(a32), torch.tensor(a32)
    assert str(tt.dtype) == "torch.int32" and e.dtype == ember.int64  # documented widening
    assert (e + 1).dtype == ember.int64
    assert (e + 1.5).dtype == ember.float32 and (tt + 1.5).dtype == torch.float32
    assert (e / 2).dtype == ember.float32 and (tt / 2).dtype == torch.float32
    assert (e * ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64)).dtype == ember.float64
    assert ember.tensor([1, 2]).dtype == ember.int64 and torch.tensor([1, 2]).dtype == torch.int64
    assert ember.tensor([1, 2.0]).dtype == ember.float32
    assert ember.tensor([True, False]).dtype == ember.bool
    assert ember.tensor(np.float64(1.5)).dtype == ember.float64 and torch.tensor(np.float64(1.5)).dtype == torch.float64
    assert ember.tensor(1.5).dtype == ember.float32


def test_uint64_out_of_range():
    with pytest.raises(ValueError, match="int64"):
        ember.tensor(np.array([2**63 + 5], dtype=np.uint64))
    assert ember.tensor(np.array([5], dtype=np.uint64)).tolist() == [5]


def test_tensor_from_odd_arrays():
    for arr in (np.arange(6, dtype=">f8"), np.arange(6, dtype=">i8"), np.arange(6, dtype="<i4").byteswap().view(">i4")):
        t = ember.tensor(arr)
        np.testing.assert_array_equal(t.numpy(), arr)
        assert t.numpy().dtype.isnative
    assert ember.tensor(np.arange(6, dtype=">f4")).dtype == ember.float32
    neg = np.arange(12.0).reshape(3, 4)[::-1, ::-2]
    np.testing.assert_array_equal(ember.tensor(neg).numpy(), neg)
    nc = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(ember.tensor(nc).numpy(), nc)
    ro = np.arange(4.0)
    ro.flags.writeable = False
    t = ember.tensor(ro)
    t[0] = 5.0
    assert ro[0] == 0.0
    np.testing.assert_array_equal(ember.tensor(np.zeros((0, 2, 3))).numpy(), np.zeros((0, 2, 3)))
    for bad in (np.array([1 + 2j]), np.array(["x"]), np.array([1, 2], dtype=object), np.array([b"x"])):
        with pytest.raises(TypeError):
            ember.tensor(bad)
    with pytest.raises(ValueError):
        ember.tensor([[1, 2], [3]])


def test_roundtrip_values_exact(rng):
    for npt in (np.float32, np.float64):
        a = rng.standard_normal((3, 5)).astype(npt)
        a[0, 0], a[0, 1], a[0, 2] = np.nan, np.inf, -np.inf
        np.testing.assert_array_equal(ember.tensor(a).numpy(), a)
        np.testing.assert_array_equal(ember.from_numpy(a).numpy(), a)
    big = np.array([2**62, -(2**63), 2**63 - 1], dtype=np.int64)
    np.testing.assert_array_equal(ember.tensor(big).numpy(), big)
    assert ember.tensor(big).tolist() == big.tolist()
