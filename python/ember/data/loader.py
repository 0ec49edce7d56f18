"""DataLoader: batches from a dataset, shuffled each epoch by a seeded generator.

For TensorDataset (and Subsets of it) a batch is gathered in C++ with index_select from
contiguous arrays; there is no per-sample Python on that path.
"""
from __future__ import annotations

import math

from .. import _C
from .dataset import _gather, _index


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"dataset must be a Dataset (with __len__ and __getitem__), got {type(dataset).__name__}")
        batch_size = _positive_int(batch_size)
        if seed is not None and _index(seed) is None:
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        # seed=None draws each epoch's order from ember's global generator (ember.manual_seed);
        # an int gives the loader its own reproducible stream, one order per epoch number.
        self.seed = None if seed is None else _index(seed)
        self._epoch = 0

    def set_epoch(self, epoch):
        """Sets the epoch number the next pass uses for a seeded shuffle, so a loader rebuilt to
        resume training continues the same sequence of orders (fit() calls it each epoch)."""
        if _index(epoch) is None or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        self._epoch = _index(epoch)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return _C.arange(0.0, float(n), 1.0, _C.dtype.int64)
        if self.seed is None:
            return _C.randperm(n)
        import numpy as np

        rng = np.random.default_rng([self.seed, self._epoch])
        return _C.from_numpy(rng.permutation(n).astype(np.int64))

    def __iter__(self):
        order = self._order()
        self._epoch += 1
        n = order.shape[0]
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield _gather(self.dataset, order[start:min(start + self.batch_size, n)])


def _positive_int(batch_size):
    b = _index(batch_size)
    if b is None or b <= 0:
        raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size!r}")
    return b
