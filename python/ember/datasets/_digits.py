"""scikit-learn's 8x8 handwritten digits (UCI optdigits test set), read from its bundled CSV."""

from __future__ import annotations

import numpy as np

from ._csv import read_int_csv
from ._files import packaged_file
from ._split import Split, make_split

DIGITS_INSTALL = "pip install scikit-learn"
DIGIT_NAMES = tuple(str(i) for i in range(10))


def load_digits(test_size: float | int = 0.2, seed: int = 0) -> Split:
    """1,797 digit images, x float32 (N, 1, 8, 8) in [0, 1], y int64 in 0..9.

    Read straight from ``sklearn/datasets/data/digits.csv.gz`` (64 pixel columns with values
    0..16, then the label) without importing scikit-learn. The split is stratified and fixed
    by ``seed``: the default 20 % gives 1,437 train / 360 test, the same on every machine.
    """
    path = packaged_file("digits", "sklearn", "datasets/data/digits.csv.gz", DIGITS_INSTALL)
    table = read_int_csv(path, n_cols=65, max_value=16)
    y = table[:, -1].astype(np.int64)
    if y.size and y.max() > 9:
        raise ValueError(f"{path}: labels span {y.min()}..{y.max()}, expected 0..9")
    x = table[:, :-1].reshape(-1, 1, 8, 8).astype(np.float32)
    x /= np.float32(16.0)
    return make_split(x, y, DIGIT_NAMES, "digits", test_size, seed)
