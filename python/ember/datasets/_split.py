"""The common return type and the seeded, version-proof train/test split."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np


@dataclass(frozen=True, eq=False)
class Split:
    """Arrays of one data set, already split into train and test.

    Images are float32 NCHW scaled to [0, 1]; 2-D point sets are float32 (N, 2); labels are
    int64 in ``0 .. num_classes - 1``. Unpacks as ``x_train, y_train, x_test, y_test``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.class_names

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.x_train, self.y_train, self.x_test, self.y_test))

    def __repr__(self) -> str:
        return (f"Split(name={self.name!r}, x_train={self.x_train.shape} {self.x_train.dtype}, "
                f"x_test={self.x_test.shape}, num_classes={self.num_classes})")


def _splitmix64(x: np.ndarray) -> np.ndarray:
    # SplitMix64 finaliser. Written out here rather than using numpy's Generator because
    # numpy does not promise the same stream across releases, and a "fixed" split must not move
    # when numpy is upgraded. uint64 array arithmetic wraps silently, which is what we want.
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def stable_permutation(n: int, seed: int) -> np.ndarray:
    """A permutation of ``range(n)`` that depends only on (n, seed), on any numpy version."""
    key = _splitmix64(np.arange(n, dtype=np.uint64) ^ _splitmix64(np.array([seed], np.uint64)))
    return np.argsort(key, kind="stable")


def _quota(counts: np.ndarray, n_test: int) -> np.ndarray:
    # Largest-remainder allocation: each class gets its share of the test set, and the shares
    # add up to exactly n_test (plain rounding can miss by one or two).
    exact = counts * (n_test / counts.sum())
    q = np.floor(exact).astype(np.int64)
    short = n_test - int(q.sum())
    order = np.argsort(-(exact - q), kind="stable")
    q[order[:short]] += 1
    return q


def stratified_split(y: np.ndarray, test_size: float | int, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train_idx, test_idx)``: each class keeps its share in both parts.

    ``test_size`` is a fraction in (0, 1) (the count is rounded up, as scikit-learn does, so
    20 % of 1,797 is 360) or a whole number of samples. Both index arrays come out in a
    seeded random order, so a file sorted by label does not give a label-sorted training set.
    """
    y = np.asarray(y)
    n = y.shape[0]
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, float) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a sample count, "
                         f"got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} of {n} samples for testing; "
                         f"both parts must be non-empty")

    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    perm = stable_permutation(n, seed)
    cls = inverse[perm]
    # Rank of each (permuted) sample within its class: sort by class, keeping the random order.
    by_class = np.argsort(cls, kind="stable")
    starts = np.cumsum(counts) - counts
    rank = np.empty(n, np.int64)
    rank[by_class] = np.arange(n) - starts[cls[by_class]]
    is_test = rank < _quota(counts, n_test)[cls]
    return perm[~is_test], perm[is_test]


def make_split(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], name: str,
               test_size: float | int, seed: int) -> Split:
    tr, te = stratified_split(y, test_size, seed)
    return Split(x[tr], y[tr], x[te], y[te], tuple(class_names), name)
