"""Dataset types. A TensorDataset keeps whole arrays as tensors so the loader can gather a batch
with one C++ index_select per tensor instead of a Python loop over samples."""
from __future__ import annotations

import math
import operator

from .. import _C
from .._C import Tensor


class Dataset:
    """Map-style dataset: implement __getitem__(i) and __len__()."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


def _to_tensor(a):
    if isinstance(a, Tensor):
        return a
    from .. import tensor

    return tensor(a) if not hasattr(a, "__array_interface__") else _from_array(a)


def _from_array(a):
    import numpy as np

    from .._tensor import _normalize_array

    return _C.from_numpy(np.ascontiguousarray(_normalize_array(np.asarray(a), from_python=False)))


class TensorDataset(Dataset):
    """Samples are rows (dim 0) of each tensor; numpy arrays are wrapped without copying."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(_to_tensor(t) for t in tensors)
        n = self.tensors[0].shape[0] if self.tensors[0].ndim else None
        for t in self.tensors:
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError("Size mismatch between tensors: every tensor needs the same size in dim 0, got "
                                 + ", ".join(str(tuple(x.shape)) for x in self.tensors))

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def gather(self, indices):
        """The batch at an int64 index tensor: one C++ gather per tensor."""
        return tuple(_C.index_select(t, 0, indices) for t in self.tensors)


class Subset(Dataset):
    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices if isinstance(indices, Tensor) else _C.from_numpy(_as_int64(indices))

    def __getitem__(self, i):
        return self.dataset[int(self.indices[i].item())]

    def __len__(self):
        return self.indices.shape[0]

    def gather(self, indices):
        return _gather(self.dataset, _C.index_select(self.indices, 0, indices))


def _as_int64(indices):
    import numpy as np

    arr = np.asarray(indices)
    if arr.ndim != 1:
        raise ValueError(f"Subset indices must be a 1-d sequence of ints, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":  # a float index would be silently truncated
        raise TypeError(f"Subset indices must be integers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _gather(dataset, indices):
    if hasattr(dataset, "gather"):
        return dataset.gather(indices)
    samples = [dataset[int(i)] for i in indices.tolist()]
    return collate(samples)


def collate(samples):
    """Stacks a list of samples (tensors, numbers or tuples of them) into a batch."""
    from .. import stack, tensor

    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, Tensor):
        return stack(list(samples))
    return tensor(samples)


def random_split(dataset, lengths, seed=None):
    """Splits into non-overlapping Subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    counts = [_index(x) for x in lengths]
    if any(c is None or c < 0 for c in counts):
        raise ValueError(f"lengths must be non-negative ints or fractions summing to 1, got {lengths}")
    lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths ({sum(lengths)}) does not equal the length of the input dataset ({n})")
    perm = _permutation(n, seed)
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out


def _permutation(n, seed):
    if seed is None:
        return _C.randperm(n)
    import numpy as np

    return _C.from_numpy(np.random.default_rng(seed).permutation(n).astype(np.int64))


def _index(v):
    """v as a Python int if it is an integer (numpy ints too, bools not), else None."""
    if isinstance(v, bool):
        return None
    try:
        return operator.index(v)
    except TypeError:
        return None

