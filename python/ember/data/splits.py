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
        labels = _labels(stratify, n)
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


def kfold(n, k=5, shuffle=True, seed=0, stratify=None):
    """Yields (train_indices, val_indices) int64 numpy arrays for k-fold cross-validation over n
    samples. With `stratify=labels`, each class is spread evenly over the folds (counts per fold
    differ by at most one), as scikit-learn's StratifiedKFold."""
    import numpy as np

    from .dataset import _index

    if _index(k) is None or not 2 <= k <= n:
        raise ValueError(f"k must be an integer between 2 and the number of samples ({n}), got {k!r}")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n) if shuffle else np.arange(n)
    if stratify is None:
        folds = np.array_split(idx, k)
    else:
        # Sort by class (stably, keeping the shuffled order inside a class), then deal the
        # samples round-robin: fold sizes and per-class counts each differ by at most one.
        labels = _labels(stratify, n)
        dealt = idx[np.argsort(labels[idx], kind="stable")]
        folds = [np.sort(dealt[i::k]) if not shuffle else dealt[i::k] for i in range(k)]
    folds = [f.astype(np.int64) for f in folds]
    for i in range(k):
        yield np.concatenate(folds[:i] + folds[i + 1:]), folds[i]


def _labels(stratify, n):
    import numpy as np

    labels = np.asarray(stratify)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"stratify must be a 1-d array of {n} labels (one per sample), got shape {labels.shape}")
    return labels
