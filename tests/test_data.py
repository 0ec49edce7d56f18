"""ember.data: datasets, the DataLoader, random_split, train_val_test_split and kfold.

Every loader test tags each sample with its own index (a label column equal to the row number,
and feature rows derived from it), so a batch can be checked for both coverage and correct
gathering: the features of a batch must be exactly the rows its labels name.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.data import DataLoader, Dataset, Subset, TensorDataset, kfold, random_split, train_val_test_split


def tagged(n, dtype=np.float32):
    """Features whose row i is [i, -i, 0.5 i] and labels i: any mix-up between them shows."""
    ids = np.arange(n, dtype=np.int64)
    x = np.stack([ids, -ids, 0.5 * ids], axis=1).astype(dtype)
    return x, ids


def epoch_ids(loader, x_of=None):
    """Labels seen in one pass over `loader`, in order; checks each batch's features match."""
    seen = []
    for xb, yb in loader:
        ids = yb.numpy()
        assert xb.shape[0] == yb.shape[0]
        if x_of is not None:
            np.testing.assert_array_equal(xb.numpy(), x_of[ids])
        seen.append(ids)
    return np.concatenate(seen) if seen else np.zeros(0, np.int64)


# ---- coverage: every sample once per epoch -----------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 10, 17, 64])
@pytest.mark.parametrize("batch_size", [1, 3, 8, 17, 100])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_covers_every_sample_once_per_epoch(n, batch_size, shuffle, drop_last):
    x, y = tagged(n)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=7)
    full, rest = divmod(n, batch_size)
    expected_batches = full if drop_last else full + (rest > 0)
    assert len(loader) == expected_batches
    for _ in range(3):  # several epochs from the same loader
        sizes = [yb.shape[0] for _, yb in loader]
        assert len(sizes) == expected_batches
        assert all(s == batch_size for s in sizes[:full])
        if not drop_last and rest:
            assert sizes[-1] == rest
        ids = epoch_ids(loader, x)
        assert len(np.unique(ids)) == len(ids), "a sample was repeated within an epoch"
        if drop_last:
            assert len(ids) == full * batch_size
            assert set(ids) <= set(range(n))
        else:
            np.testing.assert_array_equal(np.sort(ids), np.arange(n))
        if not shuffle:
            np.testing.assert_array_equal(ids, np.arange(len(ids)))


def test_drop_last_drops_different_samples_when_shuffled():
    # Over many epochs every sample is seen, even though each epoch leaves out n % batch_size.
    x, y = tagged(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, drop_last=True, seed=3)
    seen = set()
    for _ in range(20):
        ids = epoch_ids(loader)
        assert len(ids) == 8
        seen |= set(ids.tolist())
    assert seen == set(range(10))


def test_empty_dataset_gives_no_batches():
    loader = DataLoader(TensorDataset(np.zeros((0, 3), np.float32), np.zeros(0, np.int64)), batch_size=4,
                        shuffle=True)
    assert len(loader) == 0
    assert list(loader) == []


# ---- seeded shuffling --------------------------------------------------------------------------------------

def orders(loader, epochs):
    return [epoch_ids(loader).tolist() for _ in range(epochs)]


def test_seeded_shuffle_repeats_and_differs_across_epochs():
    x, y = tagged(50)
    a = orders(DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True, seed=11), 4)
    b = orders(DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True, seed=11), 4)
    c = orders(DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True, seed=12), 4)
    assert a == b, "the same seed must give the same order, epoch by epoch"
    assert len({tuple(o) for o in a}) == 4, "each epoch must draw a new order"
    assert all(o != list(range(50)) for o in a)
    assert a != c and a[0] != c[0]


def test_seeded_shuffle_ignores_the_global_generator():
    x, y = tagged(30)
    ember.manual_seed(1)
    a = orders(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=5), 2)
    ember.manual_seed(2)
    b = orders(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=5), 2)
    assert a == b


def test_unseeded_shuffle_follows_ember_manual_seed():
    x, y = tagged(30)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True)
    ember.manual_seed(123)
    a = orders(loader, 3)
    ember.manual_seed(123)
    b = orders(loader, 3)
    ember.manual_seed(124)
    c = orders(loader, 3)
    assert a == b and a != c
    assert len({tuple(o) for o in a}) == 3


def test_set_epoch_selects_the_seeded_order():
    # A loader rebuilt for a resumed run continues the same sequence of orders.
    x, y = tagged(20)
    first = orders(DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True, seed=9), 3)
    loader = DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True, seed=9)
    loader.set_epoch(2)
    assert epoch_ids(loader).tolist() == first[2]


# ---- gathering ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("np_dtype, ember_dtype", [
    (np.float32, ember.float32), (np.float64, ember.float64), (np.int64, ember.int64), (np.int32, ember.int64),
    (np.uint8, ember.int64), (np.bool_, ember.bool), (np.float16, ember.float32),
])
def test_batches_gathered_from_numpy_arrays(rng, np_dtype, ember_dtype):
    n = 23
    x = (rng.standard_normal((n, 2, 3, 3)) * 5).astype(np_dtype)
    y = np.arange(n)
    loader = DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True, seed=0)
    for xb, yb in loader:
        assert xb.dtype == ember_dtype and yb.dtype == ember.int64
        assert tuple(xb.shape[1:]) == (2, 3, 3)
        np.testing.assert_array_equal(xb.numpy(), x[yb.numpy()].astype(xb.numpy().dtype))


def test_batches_gathered_from_noncontiguous_numpy_and_ember_tensors(rng):
    n = 19
    base = rng.standard_normal((n, 8))
    x_np = base[:, ::2]  # strided numpy view
    x_em = ember.tensor(base)[:, 1::2]  # strided ember view
    assert not x_np.flags.c_contiguous and not x_em.is_contiguous()
    x_em_np = base[:, 1::2]
    y = ember.arange(n)
    loader = DataLoader(TensorDataset(x_np, x_em, y), batch_size=5, shuffle=True, seed=2)
    for a, b, yb in loader:
        ids = yb.numpy()
        np.testing.assert_array_equal(a.numpy(), x_np[ids])
        np.testing.assert_array_equal(b.numpy(), x_em_np[ids])


def test_gathered_batches_are_independent_of_the_dataset():
    x, y = tagged(8)
    ds = TensorDataset(ember.tensor(x), y)
    xb, _ = next(iter(DataLoader(ds, batch_size=4)))
    xb.zero_()  # a batch is a copy: writing it must not touch the data set
    np.testing.assert_array_equal(ds.tensors[0].numpy(), x)


def test_tensor_dataset_indexing_and_errors():
    x, y = tagged(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.numpy(), x[3])
    assert yi.item() == 3
    assert ds[-1][1].item() == 4
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match=r"Size mismatch.*\(5, 3\).*\(4,\)"):
        TensorDataset(x, y[:4])
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(ember.tensor(1.0))


class SquaresDataset(Dataset):
    """A plain map-style data set: samples come from Python, one at a time."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.array([i, i * i], dtype=np.float32), i


def test_python_dataset_is_collated():
    loader = DataLoader(SquaresDataset(11), batch_size=4, shuffle=True, seed=1)
    ids = []
    for xb, yb in loader:
        assert xb.dtype == ember.float32 and yb.dtype == ember.int64
        i = yb.numpy()
        np.testing.assert_array_equal(xb.numpy(), np.stack([i, i * i], 1).astype(np.float32))
        ids += i.tolist()
    assert sorted(ids) == list(range(11))


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        len(Dataset())
    with pytest.raises(NotImplementedError):
        Dataset()[0]


# ---- random_split and Subset -------------------------------------------------------------------------------

def subset_ids(subset):
    return np.array([subset[i][1].item() for i in range(len(subset))], dtype=np.int64)


@pytest.mark.parametrize("lengths", [[7, 3, 0], [0.5, 0.3, 0.2], [1 / 3, 1 / 3, 1 / 3], [10]])
def test_random_split_partitions(lengths):
    x, y = tagged(10)
    parts = random_split(TensorDataset(x, y), lengths, seed=4)
    sizes = [len(p) for p in parts]
    assert sum(sizes) == 10
    if all(isinstance(v, int) for v in lengths):
        assert sizes == lengths
    else:
        for s, f in zip(sizes, lengths):
            assert math.floor(10 * f) <= s <= math.floor(10 * f) + 1
    ids = np.concatenate([subset_ids(p) for p in parts])
    np.testing.assert_array_equal(np.sort(ids), np.arange(10))


def test_random_split_is_seeded():
    ds = TensorDataset(*tagged(40))
    a = [subset_ids(p).tolist() for p in random_split(ds, [30, 10], seed=1)]
    b = [subset_ids(p).tolist() for p in random_split(ds, [30, 10], seed=1)]
    c = [subset_ids(p).tolist() for p in random_split(ds, [30, 10], seed=2)]
    assert a == b and a != c
    assert a[0] != list(range(30))
    ember.manual_seed(5)
    d = [subset_ids(p).tolist() for p in random_split(ds, [30, 10])]
    ember.manual_seed(5)
    e = [subset_ids(p).tolist() for p in random_split(ds, [30, 10])]
    assert d == e


def test_random_split_accepts_numpy_integer_lengths():
    parts = random_split(TensorDataset(*tagged(10)), np.array([6, 4]), seed=0)
    assert [len(p) for p in parts] == [6, 4]


def test_loader_over_subsets_gathers_the_right_rows():
    x, y = tagged(30)
    train, val = random_split(TensorDataset(x, y), [20, 10], seed=0)
    inner = Subset(train, [5, 0, 19, 7, 3])  # a Subset of a Subset
    expected = subset_ids(inner)
    assert len(inner) == 5
    for sub, want in ((train, subset_ids(train)), (val, subset_ids(val)), (inner, expected)):
        got = epoch_ids(DataLoader(sub, batch_size=3, shuffle=False), x)
        np.testing.assert_array_equal(got, want)
        got = epoch_ids(DataLoader(sub, batch_size=4, shuffle=True, seed=1), x)
        np.testing.assert_array_equal(np.sort(got), np.sort(want))


def test_subset_of_a_python_dataset():
    sub = Subset(SquaresDataset(10), [9, 2, 4])
    xb, yb = next(iter(DataLoader(sub, batch_size=3)))
    assert yb.tolist() == [9, 2, 4]
    np.testing.assert_array_equal(xb.numpy()[:, 1], [81, 4, 16])


def test_subset_index_errors():
    ds = TensorDataset(*tagged(5))
    with pytest.raises(IndexError, match="out of bounds"):
        list(DataLoader(Subset(ds, [0, 100]), batch_size=2))
    with pytest.raises(IndexError):
        Subset(ds, [1, 2])[2]
    with pytest.raises(TypeError, match="integers"):
        Subset(ds, [1.5])
    with pytest.raises(ValueError, match="1-d"):
        Subset(ds, [[0, 1]])
    assert len(Subset(ds, [])) == 0
    assert Subset(ds, [-1])[0][1].item() == 4  # negative indices count from the end, as in torch


@pytest.mark.parametrize("lengths, match", [
    ([5, 4], "does not equal the length"),
    ([6, 5], "does not equal the length"),
    ([12, -2], "non-negative"),
    ([0.5, 0.4], "fractions summing to 1"),
    ([1.5, -0.5], "non-negative"),
    ([5.0, 5.0], "fractions summing to 1"),
])
def test_random_split_bad_lengths(lengths, match):
    with pytest.raises(ValueError, match=match):
        random_split(TensorDataset(*tagged(10)), lengths)


# ---- train_val_test_split ----------------------------------------------------------------------------------

def test_train_val_test_split_partitions_and_keeps_rows_aligned():
    x, y = tagged(100)
    x_em = ember.tensor(x)
    parts = train_val_test_split(x, y, x_em, val=0.2, test=0.1, seed=3)
    assert len(parts) == 9
    (xtr, xva, xte, ytr, yva, yte, etr, eva, ete) = parts
    assert [len(a) for a in (ytr, yva, yte)] == [70, 20, 10]
    np.testing.assert_array_equal(np.sort(np.concatenate([ytr, yva, yte])), np.arange(100))
    for xs, ys, es in ((xtr, ytr, etr), (xva, yva, eva), (xte, yte, ete)):
        np.testing.assert_array_equal(xs, x[ys])  # rows travel together
        assert isinstance(es, ember.Tensor)
        np.testing.assert_array_equal(es.numpy(), x[ys])
    again = train_val_test_split(x, y, val=0.2, test=0.1, seed=3)
    np.testing.assert_array_equal(again[3], ytr)
    other = train_val_test_split(x, y, val=0.2, test=0.1, seed=4)
    assert not np.array_equal(other[3], ytr)


def test_train_val_test_split_without_val_or_test():
    x, y = tagged(10)
    xtr, xva, xte = train_val_test_split(x, val=0.0, test=0.0)
    assert len(xtr) == 10 and len(xva) == 0 and len(xte) == 0


def test_train_val_test_split_stratified_keeps_class_proportions(rng):
    # Imbalanced classes: 60 / 30 / 10 samples.
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    rng.shuffle(labels)
    ids = np.arange(100)
    tr, va, te, ltr, lva, lte = train_val_test_split(ids, labels, val=0.2, test=0.1, seed=0, stratify=labels)
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va, te])), ids)
    np.testing.assert_array_equal(ltr, labels[tr])
    for part, frac in ((va, 0.2), (te, 0.1), (tr, 0.7)):
        counts = np.bincount(labels[part], minlength=3)
        np.testing.assert_allclose(counts, np.array([60, 30, 10]) * frac, atol=1)
    # Labels as an ember tensor stratify the same way.
    again = train_val_test_split(ids, val=0.2, test=0.1, seed=0, stratify=ember.tensor(labels))
    np.testing.assert_array_equal(again[1], va)


@pytest.mark.parametrize("kwargs, match", [
    (dict(val=0.5, test=0.5), "val \\+ test < 1"),
    (dict(val=-0.1), "fractions"),
    (dict(test=1.0), "fractions"),
    (dict(stratify=np.zeros(9)), "stratify"),
])
def test_train_val_test_split_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_val_test_split(np.arange(10), **kwargs)


def test_train_val_test_split_needs_equal_lengths():
    with pytest.raises(ValueError, match="same length"):
        train_val_test_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match="at least one array"):
        train_val_test_split()


# ---- kfold -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, k", [(10, 2), (10, 3), (17, 5), (5, 5)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_kfold_partitions(n, k, shuffle):
    folds = list(kfold(n, k, shuffle=shuffle, seed=1))
    assert len(folds) == k
    vals = [v for _, v in folds]
    np.testing.assert_array_equal(np.sort(np.concatenate(vals)), np.arange(n))
    sizes = [len(v) for v in vals]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        assert train.dtype == np.int64 and val.dtype == np.int64
        np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
        assert not set(train.tolist()) & set(val.tolist())
    if not shuffle:
        np.testing.assert_array_equal(np.concatenate(vals), np.arange(n))


def test_kfold_is_seeded():
    a = [v.tolist() for _, v in kfold(20, 4, seed=3)]
    b = [v.tolist() for _, v in kfold(20, 4, seed=3)]
    c = [v.tolist() for _, v in kfold(20, 4, seed=4)]
    assert a == b and a != c


def test_kfold_stratified(rng):
    labels = np.repeat([0, 1, 2], [40, 25, 10])
    rng.shuffle(labels)
    folds = list(kfold(len(labels), 5, seed=0, stratify=labels))
    vals = [v for _, v in folds]
    np.testing.assert_array_equal(np.sort(np.concatenate(vals)), np.arange(75))
    for train, val in folds:
        assert len(val) == 15
        np.testing.assert_array_equal(np.bincount(labels[val], minlength=3), [8, 5, 2])
        np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(75))


def test_kfold_folds_usable_as_subsets():
    x, y = tagged(12)
    ds = TensorDataset(x, y)
    for train, val in kfold(12, 3, seed=0):
        got = epoch_ids(DataLoader(Subset(ds, val), batch_size=5), x)
        np.testing.assert_array_equal(got, val)


@pytest.mark.parametrize("n, k", [(10, 1), (10, 11), (10, 2.5), (10, 0)])
def test_kfold_bad_k(n, k):
    with pytest.raises((ValueError, TypeError), match="k must"):
        list(kfold(n, k))


def test_kfold_stratify_length_mismatch():
    with pytest.raises(ValueError, match="stratify"):
        list(kfold(10, 2, stratify=np.zeros(9)))


# ---- DataLoader arguments ----------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, None, "4"])
def test_loader_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(TensorDataset(*tagged(4)), batch_size=batch_size)


def test_loader_accepts_numpy_integer_batch_size():
    loader = DataLoader(TensorDataset(*tagged(10)), batch_size=np.int64(4))
    assert [yb.shape[0] for _, yb in loader] == [4, 4, 2]


def test_loader_rejects_non_datasets_and_bad_seeds():
    with pytest.raises(TypeError, match="dataset"):
        DataLoader(5)
    with pytest.raises(TypeError, match="seed"):
        DataLoader(TensorDataset(*tagged(4)), seed=1.5)
