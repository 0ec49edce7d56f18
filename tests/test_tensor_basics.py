"""Tensor geometry: dtypes, shape/strides/offset views over shared storage, view ops, joins,
repr and device handling."""
import numpy as np
import pytest

import ember
from conftest import check, make, to_np


# --- dtypes -----------------------------------------------------------------------------------
def test_default_dtype_is_float32():
    assert ember.zeros(2).dtype == ember.float32
    assert ember.tensor([1.0, 2.0]).dtype == ember.float32
    assert ember.tensor(1.5).dtype == ember.float32
    assert ember.randn(3).dtype == ember.float32


@pytest.mark.parametrize("data, dtype", [
    ([1, 2, 3], ember.int64),
    ([True, False], ember.bool),
    (np.array([1.0, 2.0]), ember.float64),
    (np.array([1.0], dtype=np.float32), ember.float32),
    (np.array([1, 2], dtype=np.int32), ember.int64),
])
def test_dtype_inference(data, dtype):
    assert ember.tensor(data).dtype == dtype


@pytest.mark.parametrize("name, itemsize", [("float32", 4), ("float64", 8), ("int64", 8), ("bool", 1)])
def test_dtypes_roundtrip(name, itemsize):
    dt = getattr(ember, name)
    t = ember.zeros(2, 3, dtype=dt)
    assert t.dtype == dt and t.element_size() == itemsize and dt.itemsize == itemsize
    assert t.numpy().dtype == np.dtype(name)
    assert repr(dt) == f"ember.{name}"


def test_dtype_conversions():
    t = ember.tensor([1.7, -2.2, 0.0])
    check(t.long(), np.array([1, -2, 0]), dtype=ember.int64)
    check(t.bool(), np.array([True, True, False]), dtype=ember.bool)
    check(t.double(), np.array([1.7, -2.2, 0.0], dtype=np.float32).astype(np.float64), dtype=ember.float64)
    check(ember.tensor([True, False]).float(), np.array([1.0, 0.0]), dtype=ember.float32)
    assert t.to(ember.float32) is t  # no-op conversion returns the tensor itself, like torch


def test_dtype_promotion():
    i = ember.tensor([1, 2])
    f = ember.tensor([0.5, 0.5])
    d = ember.tensor([0.5, 0.5], dtype=ember.float64)
    b = ember.tensor([True, False])
    assert (i + f).dtype == ember.float32
    assert (f + d).dtype == ember.float64
    assert (i + b).dtype == ember.int64
    assert (b + b).dtype == ember.int64
    assert (i / i).dtype == ember.float32  # true division
    assert (i * 2).dtype == ember.int64
    assert (i * 2.5).dtype == ember.float32
    assert (f * 2).dtype == ember.float32  # Python scalars are "weak"
    check(i / i, np.array([1.0, 1.0]))


# --- geometry ------------------------------------------------------------------------------------
def test_shape_strides_offset():
    t = ember.arange(24).reshape(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.stride() == (12, 4, 1) and t.stride(0) == 12
    assert t.ndim == 3 and t.dim() == 3 and t.numel() == 24 and len(t) == 2
    assert t.storage_offset() == 0 and t.is_contiguous()
    v = t[1, 1:, 2:]
    assert v.shape == (2, 2) and v.stride() == (4, 1) and v.storage_offset() == 12 + 4 + 2
    assert not v.is_contiguous()
    check(v, np.arange(24).reshape(2, 3, 4)[1, 1:, 2:])


def test_views_share_storage():
    t = ember.zeros(3, 4)
    views = [t.view(12), t.reshape(4, 3), t.t(), t.T, t.transpose(0, 1), t.permute(1, 0), t[1], t[:, 1:3],
             t.unsqueeze(0), t.flatten(), t[None], t.narrow(1, 1, 2), t.select(1, 2), t.detach()]
    for v in views:
        assert v.data_ptr() >= t.data_ptr()
    t.fill_(7.0)
    for v in views:
        assert np.all(to_np(v) == 7.0)
    t[1].fill_(-1.0)  # writes through a view are seen by the base
    assert to_np(t)[1].tolist() == [-1.0] * 4 and to_np(t)[0].tolist() == [7.0] * 4


def test_version_counter_shared_by_views():
    t = ember.zeros(3)
    v = t[1:]
    v0 = t._version
    v.add_(1.0)
    assert t._version == v._version > v0


def test_reshape_and_view():
    a = np.arange(24, dtype=np.float32)
    t = ember.tensor(a)
    check(t.view(2, 3, 4), a.reshape(2, 3, 4))
    check(t.view(-1, 4), a.reshape(-1, 4))
    check(t.reshape((4, -1)), a.reshape(4, -1))
    check(t.reshape([2, 12]), a.reshape(2, 12))
    nc = t.view(4, 6).t()
    assert not nc.is_contiguous()
    r = nc.reshape(24)  # reshape of a non-contiguous tensor copies
    check(r, a.reshape(4, 6).T.reshape(24))
    assert r.is_contiguous()
    with pytest.raises(RuntimeError, match="view size .* not compatible"):
        nc.view(24)
    # a view that only splits a dim of a transposed tensor is allowed
    check(nc.view(3, 2, 4), a.reshape(4, 6).T.reshape(3, 2, 4))
    with pytest.raises(ValueError, match="invalid for input of size 24"):
        t.view(5, 5)
    with pytest.raises(ValueError, match="only one dimension can be inferred"):
        t.reshape(-1, -1)
    check(ember.tensor(3.0).reshape(1, 1), np.array([[3.0]]))
    check(ember.zeros(0, 3).reshape(3, 0, 5), np.zeros((3, 0, 5)))


def test_transpose_permute_t():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = ember.tensor(a)
    check(t.transpose(0, 2), a.transpose(2, 1, 0))
    check(t.transpose(-1, -2), a.swapaxes(-1, -2))
    check(t.permute(2, 0, 1), a.transpose(2, 0, 1))
    check(t.permute((1, 2, 0)), a.transpose(1, 2, 0))
    check(t.T, a.T)
    check(t.mT, a.swapaxes(-1, -2))
    m = ember.tensor(a[0])
    check(m.t(), a[0].T)
    check(ember.tensor([1.0, 2.0]).t(), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        t.t()
    with pytest.raises(ValueError, match="repeated dim"):
        t.permute(0, 0, 1)
    with pytest.raises(ValueError, match="number of dims"):
        t.permute(0, 1)


def test_squeeze_unsqueeze():
    a = np.zeros((1, 3, 1, 2))
    t = ember.tensor(a)
    assert t.squeeze().shape == (3, 2)
    assert t.squeeze(0).shape == (3, 1, 2)
    assert t.squeeze(2).shape == (1, 3, 2)
    assert t.squeeze(1).shape == (1, 3, 1, 2)  # not size 1: unchanged
    assert t.squeeze(-2).shape == (1, 3, 2)
    assert t.unsqueeze(0).shape == (1, 1, 3, 1, 2)
    assert t.unsqueeze(-1).shape == (1, 3, 1, 2, 1)
    assert t.unsqueeze(4).shape == (1, 3, 1, 2, 1)
    assert ember.tensor(1.0).unsqueeze(0).shape == (1,)
    assert ember.tensor([5.0]).squeeze().shape == ()
    with pytest.raises(IndexError, match="dimension out of range"):
        t.unsqueeze(6)
    with pytest.raises(IndexError, match="dimension out of range"):
        t.squeeze(4)


def test_expand():
    a = np.array([[1.0], [2.0], [3.0]])
    t = ember.tensor(a)
    e = t.expand(2, 3, 4)
    check(e, np.broadcast_to(a, (2, 3, 4)))
    assert e.stride() == (0, 1, 0)
    check(t.expand(-1, 5), np.broadcast_to(a, (3, 5)))
    check(t.expand_as(ember.zeros(3, 2)), np.broadcast_to(a, (3, 2)))
    check(ember.broadcast_to(t, (3, 3)), np.broadcast_to(a, (3, 3)))
    with pytest.raises(ValueError, match="must match the existing size"):
        t.expand(4, 4)
    with pytest.raises(ValueError):
        t.expand(3)
    with pytest.raises(ValueError, match="invalid size -2"):
        t.expand(3, -2)


def test_flatten():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = ember.tensor(a)
    check(t.flatten(), a.reshape(-1))
    check(t.flatten(1), a.reshape(2, 12))
    check(t.flatten(0, 1), a.reshape(6, 4))
    check(t.transpose(0, 2).flatten(), a.transpose(2, 1, 0).reshape(-1))
    check(ember.tensor(2.0).flatten(), np.array([2.0]))
    with pytest.raises(ValueError, match="cannot come after"):
        t.flatten(2, 1)


def test_contiguous():
    a = np.arange(12.0).reshape(3, 4)
    t = ember.tensor(a)
    assert t.contiguous() is t
    tt = t.t()
    c = tt.contiguous()
    assert c.is_contiguous() and c.stride() == (3, 1)
    check(c, a.T)
    c.fill_(0.0)  # a copy: the original is untouched
    check(t, a)


def test_clone_is_independent():
    t = ember.tensor([1.0, 2.0])
    c = t.clone()
    c[0] = 5.0
    check(t, [1.0, 2.0])
    check(c, [5.0, 2.0])


# --- joins and splits ---------------------------------------------------------------------------
def test_cat_stack():
    a, b = np.arange(6.0).reshape(2, 3), -np.arange(9.0).reshape(3, 3)
    check(ember.cat([ember.tensor(a), ember.tensor(b)]), np.concatenate([a, b]))
    check(ember.cat([ember.tensor(a), ember.tensor(a)], dim=1), np.concatenate([a, a], 1))
    check(ember.cat([ember.tensor(a), ember.tensor(a)], dim=-1), np.concatenate([a, a], -1))
    check(ember.cat([make(a, noncontig=True), ember.tensor(a).t().t()]), np.concatenate([a, a]))
    check(ember.stack([ember.tensor(a), ember.tensor(a)]), np.stack([a, a]))
    check(ember.stack([ember.tensor(a), ember.tensor(a)], dim=2), np.stack([a, a], 2))
    check(ember.stack([ember.tensor(a), ember.tensor(a)], dim=-1), np.stack([a, a], -1))
    mixed = ember.cat([ember.tensor([1, 2]), ember.tensor([0.5])])
    assert mixed.dtype == ember.float32
    check(mixed, [1.0, 2.0, 0.5])
    check(ember.cat([ember.zeros(0, 3), ember.tensor(a)]), a)
    with pytest.raises(ValueError, match="sizes of tensors must match"):
        ember.cat([ember.tensor(a), ember.zeros(2, 4)])
    with pytest.raises(ValueError, match="same number of dimensions"):
        ember.cat([ember.tensor(a), ember.zeros(3)])
    with pytest.raises(ValueError, match="non-empty"):
        ember.cat([])
    with pytest.raises(ValueError, match="equal size"):
        ember.stack([ember.zeros(2), ember.zeros(3)])
    with pytest.raises(IndexError, match="dimension out of range"):
        ember.cat([ember.tensor(a)], dim=2)


def test_split_chunk():
    a = np.arange(20.0).reshape(10, 2)
    t = ember.tensor(a)
    parts = ember.split(t, 3)
    assert [p.shape[0] for p in parts] == [3, 3, 3, 1]
    for p, q in zip(parts, np.split(a, [3, 6, 9])):
        check(p, q)
    parts = t.split([2, 8])
    check(parts[0], a[:2])
    check(parts[1], a[2:])
    cols = t.split(1, dim=1)
    check(cols[1], a[:, 1:])
    chunks = ember.chunk(t, 3)
    assert [c.shape[0] for c in chunks] == [4, 4, 2]  # torch's chunk sizes
    for c, q in zip(chunks, [a[:4], a[4:8], a[8:]]):
        check(c, q)
    assert len(t.chunk(20)) == 10
    # splits are views
    parts[0].fill_(-1.0)
    assert to_np(t)[:2].tolist() == [[-1.0, -1.0]] * 2
    with pytest.raises(ValueError, match="sum exactly"):
        t.split([2, 2])
    with pytest.raises(ValueError, match="must be positive"):
        t.split(0)
    with pytest.raises(ValueError, match="must be positive"):
        t.chunk(0)


# --- scalars, repr, device ------------------------------------------------------------------------
def test_item_and_python_scalars():
    assert ember.tensor(2.5).item() == 2.5 and isinstance(ember.tensor(2.5).item(), float)
    assert ember.tensor([7]).item() == 7 and isinstance(ember.tensor([7]).item(), int)
    assert ember.tensor(True).item() is True
    assert ember.tensor(2**62).item() == 2**62  # exact, not through a double
    assert float(ember.tensor([1.5])) == 1.5 and int(ember.tensor(3.9)) == 3
    assert bool(ember.tensor([0.0])) is False
    assert [1, 2, 3][ember.tensor(1)] == 2  # __index__
    with pytest.raises(ValueError, match="cannot be converted to a scalar"):
        ember.zeros(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ember.zeros(2))
    with pytest.raises(TypeError):
        [1, 2][ember.tensor(1.0)]


def test_tolist_and_iteration():
    a = np.arange(6).reshape(2, 3)
    t = ember.tensor(a)
    assert t.tolist() == a.tolist()
    assert ember.tensor(1.5).tolist() == 1.5
    assert ember.tensor([[True, False]]).tolist() == [[True, False]]
    assert [r.tolist() for r in t] == a.tolist()
    with pytest.raises(TypeError, match="0-d"):
        iter(ember.tensor(1.0))


def test_repr_like_torch(torch):
    cases = [
        ([1.0, 2.0], None),
        ([1.5, -2.25], None),
        ([[1, 2], [3, 4]], None),
        ([True, False], None),
        ([1.0, 2.0], "float64"),
        (3.0, None),
        ([], None),
    ]
    for data, dt in cases:
        e = ember.tensor(data, dtype=getattr(ember, dt) if dt else None)
        t = torch.tensor(data, dtype=getattr(torch, dt) if dt else None)
        assert repr(e) == repr(t).replace("torch.", "ember."), (repr(e), repr(t))


def test_repr_autograd_markers():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    y = x * 2
    assert repr(y) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(ember.tensor([1.0, 2.0], dtype=ember.float64)) == "tensor([1., 2.], dtype=ember.float64)"
    assert repr(ember.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"
    assert str(ember.tensor([1, 2])) == "tensor([1, 2])"


def test_device_cpu_and_cuda_errors():
    t = ember.ones(2)
    assert t.device == "cpu"
    assert t.to("cpu") is t and t.cpu() is t
    assert not ember.cuda_is_available()
    with pytest.raises(RuntimeError, match="CUDA"):
        t.to("cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        t.cuda()
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="invalid device"):
        t.to("tpu")
