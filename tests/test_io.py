"""ember.save / ember.load (safetensors), Module.save/load, interop with the `safetensors` package
and torch, hostile files, atomic writes and bad paths.

Hostile files are built byte by byte here (not with ember's writer), so the reader is checked
independently; each must give a ValueError/TypeError naming the problem, never a crash.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import struct
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.models import LeNet5

from conftest import run_python

HOSTILE = (ValueError, TypeError)


def header_bytes(header, pad_to=8):
    """The first part of a safetensors file: u64 length + JSON (a dict, or raw bytes)."""
    raw = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad_to:
        raw += b" " * (-len(raw) % pad_to)
    return struct.pack("<Q", len(raw)) + raw


def write(path, data):
    path.write_bytes(data)
    return path


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def assert_same(loaded, expected):
    assert list(loaded) == list(expected) or set(loaded) == set(expected)
    for name, want in expected.items():
        got = loaded[name]
        want = want.numpy() if isinstance(want, ember.Tensor) else np.asarray(want)
        assert tuple(got.shape) == want.shape, name
        np.testing.assert_array_equal(got.numpy(), want, err_msg=name)


# ---- round trip --------------------------------------------------------------------------------------------

def sample_tensors(rng):
    return OrderedDict([
        ("f32", ember.tensor(rng.standard_normal((3, 4)).astype(np.float32))),
        ("f64", ember.tensor(rng.standard_normal((2, 3, 2)))),
        ("i64", ember.tensor(rng.integers(-2**62, 2**62, 7))),
        ("bool", ember.tensor(rng.random(5) > 0.5)),
        ("scalar_f32", ember.tensor(np.float32(3.25))),
        ("scalar_i64", ember.tensor(np.int64(-7))),
        ("scalar_bool", ember.tensor(True)),
        ("empty", ember.zeros(0, 3)),
        ("empty_i64", ember.zeros(4, 0, dtype=ember.int64)),
        ("empty_1d", ember.zeros(0, dtype=ember.float64)),
    ])


def test_round_trip_all_dtypes_and_shapes(tmp_path, rng):
    tensors = sample_tensors(rng)
    path = tmp_path / "t.safetensors"
    ember.save(tensors, path)
    loaded = ember.load(path)
    assert set(loaded) == set(tensors)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.dtype, name
        assert tuple(loaded[name].shape) == tuple(t.shape), name
        np.testing.assert_array_equal(loaded[name].numpy(), t.numpy(), err_msg=name)


def test_round_trip_special_values_bit_exact(tmp_path):
    f = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4028235e38, -1.5], dtype=np.float32)
    d = np.array([0.0, -0.0, np.inf, np.nan, 5e-324, 1.7976931348623157e308], dtype=np.float64)
    i = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1], dtype=np.int64)
    path = tmp_path / "s.safetensors"
    ember.save({"f": ember.tensor(f), "d": ember.tensor(d), "i": ember.tensor(i)}, path)
    out = ember.load(path)
    assert out["f"].numpy().tobytes() == f.tobytes()
    assert out["d"].numpy().tobytes() == d.tobytes()
    assert out["i"].numpy().tobytes() == i.tobytes()


def test_non_contiguous_views_are_saved_as_their_values(tmp_path, rng):
    base = ember.tensor(rng.standard_normal((6, 8)).astype(np.float32))
    views = {
        "transposed": base.t(),
        "strided": base[::2, 1::3],
        "column": base[:, 5],
        "expanded": ember.tensor(np.arange(3.0)).broadcast_to((4, 3)),
        "permuted": ember.tensor(rng.standard_normal((2, 3, 4))).permute(2, 0, 1),
    }
    for v in list(views.values())[:3]:
        assert not v.is_contiguous()
    path = tmp_path / "v.safetensors"
    ember.save(views, path)
    loaded = ember.load(path)
    for name, v in views.items():
        assert loaded[name].is_contiguous()
        np.testing.assert_array_equal(loaded[name].numpy(), v.numpy(), err_msg=name)
    np.testing.assert_array_equal(base.numpy()[::2, 1::3], loaded["strided"].numpy())  # base untouched


def test_loaded_tensors_own_their_memory(tmp_path):
    path = tmp_path / "o.safetensors"
    ember.save({"a": ember.ones(4)}, path)
    a = ember.load(path)["a"]
    os.remove(path)  # nothing maps the file
    a.add_(1)
    np.testing.assert_array_equal(a.numpy(), [2, 2, 2, 2])
    assert not a.requires_grad


def test_metadata_round_trip(tmp_path):
    meta = {"format": "pt", "quotes \" and \\ ": "new\nline\ttab\x01", "unicode é 😀": "ünï", "empty": ""}
    path = tmp_path / "m.safetensors"
    ember.save({"x": ember.ones(2)}, path, metadata=meta)
    tensors, got = ember.io.load(path, with_metadata=True)
    assert got == meta
    assert list(tensors) == ["x"]
    _, none = ember.io.load(write(tmp_path / "n.safetensors", header_bytes({})), with_metadata=True)
    assert none == {}


def test_names_with_special_characters(tmp_path):
    names = ["features.0.weight", "a/b", "ü", "with space", "\"quoted\"", "x" * 300]
    path = tmp_path / "names.safetensors"
    ember.save({n: ember.full((2,), float(i)) for i, n in enumerate(names)}, path)
    loaded = ember.load(path)
    assert sorted(loaded) == sorted(names)
    for i, n in enumerate(names):
        assert loaded[n].tolist() == [float(i)] * 2


def test_empty_dict_and_module_inputs(tmp_path):
    path = tmp_path / "e.safetensors"
    ember.save({}, path)
    assert ember.load(path) == {}
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ember.save(model, path)  # a Module saves its state_dict
    assert set(ember.load(path)) == set(model.state_dict())


def test_save_argument_errors(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="single tensor"):
        ember.save(ember.ones(2), path)
    with pytest.raises(TypeError, match="dict of tensors"):
        ember.save([ember.ones(2)], path)
    with pytest.raises(TypeError, match="names must be strings"):
        ember.save({1: ember.ones(2)}, path)
    with pytest.raises(TypeError, match="'w'.*object"):
        ember.save({"w": object()}, path)
    with pytest.raises(ValueError, match="__metadata__"):
        ember.save({"__metadata__": ember.ones(1)}, path)
    with pytest.raises(ValueError, match="UTF-8"):
        ember.save({"bad\udc80": ember.ones(1)}, path)  # a lone surrogate is not UTF-8
    with pytest.raises(ValueError, match="UTF-8"):
        ember.save({"a": ember.ones(1)}, path, metadata={"k": "\udc80"})
    assert not path.exists()
    # Plain numbers and lists are accepted as tensors, as torch accepts them in load_state_dict.
    ember.save({"n": [1.0, 2.0]}, path)
    assert ember.load(path)["n"].tolist() == [1.0, 2.0]


# ---- interop with the safetensors package ------------------------------------------------------------------

def test_ember_files_load_with_safetensors_numpy(tmp_path, rng):
    st_numpy = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open

    tensors = sample_tensors(rng)
    path = tmp_path / "e.safetensors"
    ember.save(tensors, path, metadata={"epoch": "3"})
    loaded = st_numpy.load_file(str(path))
    assert set(loaded) == set(tensors)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.numpy().dtype, name
        np.testing.assert_array_equal(loaded[name], t.numpy(), err_msg=name)
    with safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"epoch": "3"}


def test_ember_writes_the_same_bytes_as_the_reference(tmp_path, rng):
    st_numpy = pytest.importorskip("safetensors.numpy")
    arrays = {k: v.numpy() for k, v in sample_tensors(rng).items()}
    for meta in (None, {"format": "np"}):
        path = tmp_path / "b.safetensors"
        ember.save({k: ember.tensor(v) for k, v in arrays.items()}, path, metadata=meta)
        assert path.read_bytes() == st_numpy.save(arrays, metadata=meta)


NUMPY_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                np.uint32, np.uint64, np.bool_]


def test_ember_loads_every_numpy_dtype_safetensors_writes(tmp_path, rng):
    st_numpy = pytest.importorskip("safetensors.numpy")
    arrays = {}
    for dt in NUMPY_DTYPES:
        if dt == np.bool_:
            a = rng.random((2, 3)) > 0.5
        elif np.issubdtype(dt, np.integer):
            info = np.iinfo(dt)
            a = rng.integers(info.min, min(info.max, 2**62), (2, 3), dtype=np.int64 if dt != np.uint64 else dt,
                             endpoint=True).astype(dt)
        else:
            a = rng.standard_normal((2, 3)).astype(dt)
        arrays[np.dtype(dt).name] = a
    arrays["scalar"] = np.array(1.5, np.float16)
    arrays["empty_u8"] = np.zeros((0, 5), np.uint8)
    path = tmp_path / "np.safetensors"
    st_numpy.save_file(arrays, str(path), metadata={"source": "numpy"})
    loaded, meta = ember.io.load(path, with_metadata=True)
    assert meta == {"source": "numpy"}
    for name, a in arrays.items():
        got = loaded[name]
        want_dtype = {"f": ember.float64 if a.dtype == np.float64 else ember.float32, "b": ember.bool}.get(
            a.dtype.kind, ember.int64)
        assert got.dtype == want_dtype, name
        assert tuple(got.shape) == a.shape, name
        np.testing.assert_array_equal(got.numpy(), a.astype(got.numpy().dtype), err_msg=name)


def test_every_half_and_bfloat16_value_widens_exactly(tmp_path):
    bits = np.arange(1 << 16, dtype=np.uint16)
    nbytes = bits.nbytes
    header = {"f16": entry("F16", [1 << 16], 0, nbytes), "bf16": entry("BF16", [1 << 16], nbytes, 2 * nbytes)}
    path = write(tmp_path / "h.safetensors", header_bytes(header) + bits.tobytes() * 2)
    out = ember.load(path)
    assert out["f16"].dtype == ember.float32 and out["bf16"].dtype == ember.float32
    want_f16 = bits.view(np.float16).astype(np.float32)
    want_bf16 = (bits.astype(np.uint32) << 16).view(np.float32)
    for got, want in ((out["f16"].numpy(), want_f16), (out["bf16"].numpy(), want_bf16)):
        nan = np.isnan(want)
        np.testing.assert_array_equal(np.isnan(got), nan)
        assert got[~nan].tobytes() == want[~nan].tobytes()  # signed zeros, subnormals, infinities


def test_uint64_beyond_int64_is_a_clear_error(tmp_path):
    path = write(tmp_path / "u.safetensors",
                 header_bytes({"big": entry("U64", [2], 0, 16)}) + np.array([1, 2**63], np.uint64).tobytes())
    with pytest.raises(ValueError, match="big.*does not fit in int64"):
        ember.load(path)


def test_torch_back_end_both_ways(tmp_path, torch, rng):
    st_torch = pytest.importorskip("safetensors.torch")
    tensors = sample_tensors(rng)
    path = tmp_path / "e.safetensors"
    ember.save(tensors, path)
    loaded = st_torch.load_file(str(path))
    for name, t in tensors.items():
        np.testing.assert_array_equal(loaded[name].numpy(), t.numpy(), err_msg=name)
    # torch writes; ember reads, including bfloat16 and float16 (widened to float32 exactly).
    src = {
        "f32": torch.randn(3, 4),
        "bf16": torch.randn(5).to(torch.bfloat16),
        "f16": torch.randn(2, 2).to(torch.float16),
        "i32": torch.arange(-3, 3, dtype=torch.int32),
        "bool": torch.tensor([True, False]),
        "scalar": torch.tensor(2.5, dtype=torch.float64),
    }
    path2 = tmp_path / "t.safetensors"
    st_torch.save_file(src, str(path2), metadata={"format": "pt"})
    got, meta = ember.io.load(path2, with_metadata=True)
    assert meta == {"format": "pt"}
    for name, t in src.items():
        want = t.float().numpy() if t.dtype in (torch.bfloat16, torch.float16) else t.numpy()
        np.testing.assert_array_equal(got[name].numpy(), want, err_msg=name)


def torch_lenet5(torch):
    tnn = torch.nn
    features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
                              tnn.ReLU(), tnn.MaxPool2d(2))
    classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
                                tnn.Linear(84, 10))
    return tnn.Sequential(OrderedDict(features=features, classifier=classifier))


def test_torch_lenet5_weights_give_the_same_logits(tmp_path, torch, rng):
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    tmodel = torch_lenet5(torch).eval()
    path = tmp_path / "lenet5.safetensors"
    st_torch.save_file(tmodel.state_dict(), str(path))

    model = LeNet5()
    assert set(model.state_dict()) == set(tmodel.state_dict())
    model.load(path)
    model.eval()
    x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x)).numpy()
    got = model(ember.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)

    # And back: ember's file loads into the torch model.
    ember.manual_seed(1)
    other = LeNet5()
    out = tmp_path / "ember_lenet5.safetensors"
    other.save(out)
    tmodel.load_state_dict(st_torch.load_file(str(out)))
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(other.eval()(ember.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


# ---- Module.save / Module.load -----------------------------------------------------------------------------

def bn_net(seed):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def test_module_save_load_round_trip(tmp_path, rng):
    model = bn_net(0)
    model(ember.tensor(rng.standard_normal((16, 4)).astype(np.float32)))  # move the running stats
    path = tmp_path / "net.safetensors"
    model.save(path)
    other = bn_net(1)
    result = other.load(path)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (k, a), (k2, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert isinstance(other[0].weight, nn.Parameter) and other[0].weight.requires_grad
    x = ember.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    np.testing.assert_array_equal(model.eval()(x).detach().numpy(), other.eval()(x).detach().numpy())


def test_module_load_mismatches(tmp_path):
    path = tmp_path / "net.safetensors"
    bn_net(0).save(path)
    small = nn.Sequential(nn.Linear(4, 8))
    with pytest.raises(RuntimeError, match="Unexpected key"):
        small.load(path)
    result = small.load(path, strict=False)
    assert "1.running_mean" in result.unexpected_keys
    wide = nn.Sequential(nn.Linear(4, 9), nn.BatchNorm1d(9), nn.ReLU(), nn.Linear(9, 2))
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight.*\(8, 4\)"):
        wide.load(path)


# ---- hostile files -----------------------------------------------------------------------------------------

def valid_file(tmp_path):
    path = tmp_path / "valid.safetensors"
    ember.save({"a": ember.arange(6).reshape(2, 3), "b": ember.ones(3), "c": ember.tensor([True, False])}, path,
               metadata={"k": "v"})
    return path


def expect_hostile(path, match=None):
    with pytest.raises(HOSTILE) as info:
        ember.load(path)
    if match is not None:
        assert info.match(match)
    return str(info.value)


def test_every_truncation_is_an_error(tmp_path):
    data = valid_file(tmp_path).read_bytes()
    path = tmp_path / "cut.safetensors"
    for n in range(len(data)):
        write(path, data[:n])
        msg = expect_hostile(path)
        assert str(path) in msg, msg


def test_extra_trailing_bytes_are_an_error(tmp_path):
    data = valid_file(tmp_path).read_bytes()
    expect_hostile(write(tmp_path / "x.safetensors", data + b"\0"))


@pytest.mark.parametrize("length", [1 << 20, 2**63, 2**64 - 1, 100_000_001])
def test_header_length_beyond_the_file(tmp_path, length):
    path = write(tmp_path / "h.safetensors", struct.pack("<Q", length) + b"{}      ")
    expect_hostile(path, "header")


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"{", b'{"a":', b"[]", b"null", b"42", b'"str"', b"{}{}", b"{} x",
    b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}',  # trailing comma
    b"{\xff\xfe}", b'{"\xc3\x28":{}}',  # not UTF-8
    b'{"a":1,"a":2}',  # duplicate keys
    b"{\x00}", b"\x00" * 8,
    b'{"__metadata__":{"k":1}}', b'{"__metadata__":[]}', b'{"__metadata__":{"k":"v","k":"w"}}',
    b'{"a":"tensor"}', b'{"a":[]}', b'{"a":null}',
    b"[" * 100_000,  # nesting bomb
])
def test_non_json_or_malformed_headers(tmp_path, raw):
    expect_hostile(write(tmp_path / "j.safetensors", header_bytes(raw)))


@pytest.mark.parametrize("entries, data_size, match", [
    ({"a": entry("F32", [2], 0, 12)}, 12, "a"),  # shape says 8 bytes, offsets 12
    ({"a": entry("F32", [4], 0, 8)}, 8, "a"),  # shape says 16 bytes
    ({"a": entry("F32", [2], 0, 8)}, 4, "a"),  # end beyond the data
    ({"a": entry("F32", [2], 8, 16)}, 8, "a"),  # begin beyond the data
    ({"a": entry("F32", [1], 4, 0)}, 4, "a"),  # begin > end
    ({"a": entry("F32", [1], -4, 0)}, 4, "a"),
    ({"a": entry("F32", [1], 0, 2**64)}, 4, "a"),
    ({"a": entry("F32", [1], 2**64 - 4, 2**64)}, 4, "a"),
    ({"a": entry("F32", [1], 0.0, 4.0)}, 4, "a"),
    ({"a": entry("F32", [1], 0, 4.5)}, 4, "a"),
    ({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, 12, ""),  # overlap
    ({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 0, 8)}, 8, ""),  # same range twice
    ({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}, 12, ""),  # gap
    ({"a": entry("F32", [1], 0, 4)}, 8, ""),  # data left over
    ({"a": entry("F33", [1], 0, 4)}, 4, "F33"),  # unknown dtype
    ({"a": entry("f32", [1], 0, 4)}, 4, "f32"),
    ({"a": entry(32, [1], 0, 4)}, 4, "a"),
    ({"a": entry("F32", [-1], 0, 4)}, 4, "a"),  # negative dim
    ({"a": entry("F32", [1.0], 0, 4)}, 4, "a"),
    ({"a": entry("F32", 1, 0, 4)}, 4, "a"),
    ({"a": entry("F32", [2**62, 2**62], 0, 4)}, 4, "a"),  # product overflows
    ({"a": entry("F32", [2**32, 2**32, 0], 0, 0)}, 0, None),  # fine: an empty tensor, checked below
    ({"a": entry("F32", [2**63], 0, 4)}, 4, "a"),
    ({"a": {"dtype": "F32", "shape": [1]}}, 4, "a"),  # missing offsets
    ({"a": {"shape": [1], "data_offsets": [0, 4]}}, 4, "a"),  # missing dtype
    ({"a": {"dtype": "F32", "data_offsets": [0, 4]}}, 4, "a"),  # missing shape
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}, 4, "a"),
])
def test_bad_entries(tmp_path, entries, data_size, match):
    path = write(tmp_path / "e.safetensors", header_bytes(entries) + bytes(range(256))[:data_size].ljust(data_size,
                                                                                                     b"\0"))
    if match is None:
        try:
            out = ember.load(path)
        except HOSTILE:
            return  # refusing a tensor with 2**64 elements in its shape is fine too
        assert out["a"].numel() == 0
        return
    msg = expect_hostile(path)
    assert match in msg, msg


def test_dtypes_ember_cannot_represent(tmp_path):
    for dtype, size in (("F8_E4M3", 1), ("C64", 8), ("F8_E5M2", 1)):
        path = write(tmp_path / "d.safetensors", header_bytes({"t": entry(dtype, [2], 0, 2 * size)}) + bytes(2 * size))
        with pytest.raises(TypeError, match=f"t.*{dtype}"):
            ember.load(path)


def test_unknown_entry_fields_are_ignored_as_by_the_reference(tmp_path):
    entries = {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "note": {"x": [1]}}}
    path = write(tmp_path / "u.safetensors", header_bytes(entries) + struct.pack("<f", 2.5))
    assert ember.load(path)["a"].tolist() == [2.5]


def test_bool_bytes_are_canonicalized(tmp_path):
    path = write(tmp_path / "b.safetensors", header_bytes({"m": entry("BOOL", [3], 0, 3)}) + bytes([0, 1, 7]))
    assert ember.load(path)["m"].tolist() == [False, True, True]


def mutate(data, rng):
    """One random corruption of a file's bytes: the kinds of damage disks, networks and people do."""
    data = bytearray(data)
    if not data:
        return bytes(rng.integers(0, 256, rng.integers(0, 16), dtype=np.uint8))
    kind = rng.integers(0, 8)
    if kind == 0:  # flip bits
        for _ in range(rng.integers(1, 4)):
            i = rng.integers(0, len(data))
            data[i] ^= 1 << rng.integers(0, 8)
    elif kind == 1:  # random bytes
        for _ in range(rng.integers(1, 8)):
            data[rng.integers(0, len(data))] = rng.integers(0, 256)
    elif kind == 2:  # truncate
        del data[rng.integers(0, len(data)):]
    elif kind == 3:  # insert
        i = rng.integers(0, len(data) + 1)
        data[i:i] = bytes(rng.integers(0, 256, rng.integers(1, 16), dtype=np.uint8))
    elif kind == 4:  # delete a run
        i = rng.integers(0, len(data))
        del data[i:i + rng.integers(1, 16)]
    elif kind == 5:  # new header length
        data[:8] = struct.pack("<Q", int(rng.choice([0, 1, 7, len(data) - 8, len(data) - 7, len(data), 2**63,
                                                      rng.integers(0, 2**63)])))
    elif kind == 6:  # change a digit in the JSON (offsets and shapes)
        n = struct.unpack("<Q", bytes(data[:8]))[0]
        digits = [i for i in range(8, min(8 + n, len(data))) if 48 <= data[i] <= 57]
        if digits:
            data[int(rng.choice(digits))] = int(rng.choice(list(b"0123456789-.e")))
    else:  # swap two JSON punctuation characters
        n = struct.unpack("<Q", bytes(data[:8]))[0]
        marks = [i for i in range(8, min(8 + n, len(data))) if data[i] in b'{}[]:,"']
        if len(marks) >= 2:
            i, j = rng.choice(marks, 2, replace=False)
            data[i], data[j] = data[j], data[i]
    return bytes(data)


def test_mutation_fuzz_never_crashes(tmp_path):
    rng = np.random.default_rng(2024)
    sources = [valid_file(tmp_path).read_bytes()]
    ember.manual_seed(0)
    sources.append(_bytes_of(tmp_path, {"w": ember.randn(3, 2), "i": ember.arange(3), "s": ember.tensor(1.0),
                                        "e": ember.zeros(0), "data": ember.randn(64)}))
    st_numpy = None
    try:
        import safetensors.numpy as st_numpy
    except ImportError:
        pass
    if st_numpy is not None:
        sources.append(st_numpy.save({"h": np.ones(3, np.float16), "u": np.arange(4, dtype=np.uint16)},
                                     metadata={"a": "b"}))
    path = tmp_path / "fuzz.safetensors"
    outcomes = {"ok": 0, "error": 0}
    for trial in range(400):
        data = sources[trial % len(sources)]
        for _ in range(rng.integers(1, 3)):
            data = mutate(data, rng)
        write(path, data)
        try:
            out = ember.load(path)
        except HOSTILE as e:
            assert str(e), "an error must say what is wrong"
            outcomes["error"] += 1
            continue
        outcomes["ok"] += 1
        for name, t in out.items():  # whatever loads is a well-formed tensor
            assert isinstance(name, str)
            assert t.numel() == int(np.prod(t.shape))
            t.numpy()
    assert outcomes["error"] > 200 and outcomes["ok"] > 0, outcomes


def _bytes_of(tmp_path, tensors):
    path = tmp_path / "src.safetensors"
    ember.save(tensors, path)
    return path.read_bytes()


# ---- atomic writes -----------------------------------------------------------------------------------------

class FileSizeLimit:
    """Makes writes beyond `limit` bytes fail with EFBIG inside this process: the disk 'fills up'
    in the middle of a write, in the C++ writer, without killing the process."""

    def __init__(self, limit):
        self.limit = limit

    def __enter__(self):
        self.old = resource.getrlimit(resource.RLIMIT_FSIZE)
        self.old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit, self.old[1]))

    def __exit__(self, *exc):
        resource.setrlimit(resource.RLIMIT_FSIZE, self.old)
        signal.signal(signal.SIGXFSZ, self.old_handler)


def test_interrupted_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.safetensors"
    ember.save({"w": ember.ones(10)}, path)
    before = path.read_bytes()
    big = {"w": ember.zeros(1 << 20), "v": ember.zeros(1 << 18)}
    with FileSizeLimit(1 << 20):
        with pytest.raises(RuntimeError, match="model.safetensors.*File too large"):
            ember.save(big, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"], "the temp file must be removed"
    assert ember.load(path)["w"].tolist() == [1.0] * 10


def test_exception_while_preparing_a_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.safetensors"
    ember.save({"w": ember.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        ember.save({"w": ember.zeros(3), "bad": object()}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.safetensors"]


def test_interrupted_text_write_keeps_the_old_file(tmp_path):
    from ember.io import atomic_write_text

    path = tmp_path / "history.json"
    atomic_write_text(path, "old")
    with FileSizeLimit(1000):
        with pytest.raises(RuntimeError, match="File too large"):
            atomic_write_text(path, "x" * 5000)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["history.json"]
    atomic_write_text(path, "new")
    assert path.read_text() == "new"


def test_a_process_killed_mid_write_leaves_the_old_file(tmp_path):
    # SIGXFSZ's default action kills the writer in the middle of its write() calls.
    path = tmp_path / "model.safetensors"
    ember.save({"w": ember.ones(10)}, path)
    before = path.read_bytes()
    result = run_python(f"""
        import resource, signal, ember
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it by default
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
        ember.save({{"w": ember.zeros(1 << 21)}}, {str(path)!r})
    """)
    assert result.returncode == -signal.SIGXFSZ, (result.returncode, result.stderr)
    assert path.read_bytes() == before
    assert ember.load(path)["w"].tolist() == [1.0] * 10


def test_save_replaces_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    ember.save({"a": ember.ones(1000)}, path)
    ember.save({"b": ember.zeros(2)}, path)
    assert list(ember.load(path)) == ["b"]
    assert os.listdir(tmp_path) == ["m.safetensors"]


# ---- bad paths ---------------------------------------------------------------------------------------------

def test_bad_paths(tmp_path):
    t = {"a": ember.ones(1)}
    with pytest.raises(IsADirectoryError, match="directory"):
        ember.save(t, tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ember.save(t, tmp_path / "missing" / "x.safetensors")
    with pytest.raises(IsADirectoryError, match="directory"):
        ember.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        ember.load(tmp_path / "missing.safetensors")
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "missing" / "x.safetensors")
    with pytest.raises(TypeError):
        ember.load(42)
    if os.path.exists("/dev/zero"):  # endless, not a file: refused before reading
        with pytest.raises((ValueError, OSError, RuntimeError), match="not a regular file"):
            ember.load("/dev/zero")
    model = nn.Linear(2, 2)
    with pytest.raises(FileNotFoundError):
        model.save(tmp_path / "missing" / "x.safetensors")
    with pytest.raises(IsADirectoryError):
        model.load(tmp_path)
    assert os.listdir(tmp_path) == []


def test_str_and_pathlike_paths(tmp_path):
    ember.save({"a": ember.ones(1)}, str(tmp_path / "s.safetensors"))
    assert list(ember.load(str(tmp_path / "s.safetensors"))) == ["a"]
    assert list(ember.load(tmp_path / "s.safetensors")) == ["a"]
