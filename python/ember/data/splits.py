"""Train/validation/test splits and k-fold cross-validation indices."""
from __future__ import annotations


def train_val_test_split(*arrays, val=0.1, test=0.1, seed=0, stratify=None):
    """Splits arrays (numpy or tensors, same length) into train, validation and test parts.

    Returns a flat tuple: (a_train, a_val, a_test, b_train, b_val, b_test, ...). With
    `stratify=labels`, every class keeps its proportion in each part.
    """
    import numpy as np

    if not arrays:
        raise ValueError("train_val_test_split needs at least one array")
    n = len(arrays[0])
    for a in arrays:
        if len(a) != n:
            raise ValueError("all arrays must have the same length")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val and test must be fractions with val + test < 1, got val={val}, test={test}")
    rng = np.random.default_rng(seed)
    if stratify is None:
        perm = rng.permutation(n)
        n_test, n_val = int(round(n * test)), int(round(n * val))
        parts = [perm[n_test + n_val:], perm[n_test:n_test + n_val], perm[:n_test]]
    else:
        labels = np.asarray(stratify)
        parts = [[], [], []]
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            n_test, n_val = int(round(len(idx) * test)), int(round(len(idx) * val))
            parts[0].append(idx[n_test + n_val:])
            parts[1].append(idx[n_test:n_test + n_val])
            parts[2].append(idx[:n_test])
        parts = [rng.permutation(np.concatenate(p)) for p in parts]
    out = []
    for a in arrays:
        for p in parts:
            out.append(_take(a, p))
    return tuple(out)


def _take(a, idx):
    import numpy as np

    from .._C import Tensor

    if isinstance(a, Tensor):
        from .. import _C

        return _C.index_select(a, 0, _C.from_numpy(np.ascontiguousarray(idx, dtype=np.int64)))
    return np.asarray(a)[idx]


def kfold(n, k=5, shuffle=True, seed=0):
    """Yields (train_indices, val_indices) numpy arrays for k-fold cross-validation over n samples."""
    import numpy as np

    if not 2 <= k <= n:
        raise ValueError(f"k must be between 2 and the number of samples ({n}), got {k}")
    idx = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    folds = np.array_split(idx, k)
    for i in range(k):
        yield np.concatenate(folds[:i] + folds[i + 1:]), folds[i]
