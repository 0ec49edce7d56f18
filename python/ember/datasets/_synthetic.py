"""Seeded 2-D point sets for the perceptron and decision-boundary lessons.

Each returns ``(X, y)``: X float32 (n, 2), y int64, rows in a seeded random order. Classes get
``n // k`` or ``n // k + 1`` points each, never a lopsided random count, so a lesson's accuracy
is not muddied by imbalance. Noise is the standard deviation of Gaussian jitter added to both
coordinates.
"""

from __future__ import annotations

import numpy as np


def _check(n: int, min_n: int, noise: float) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < min_n:
        raise ValueError(f"n must be an integer >= {min_n}, got {n!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")


def _labels(n: int, k: int) -> np.ndarray:
    # 0, 1, ..., k-1, 0, 1, ...: counts differ by at most one.
    return np.arange(n, dtype=np.int64) % k


def _finish(x: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    if noise:
        x = x + rng.normal(0.0, noise, size=x.shape)
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order]


def two_spirals(n: int = 200, noise: float = 0.0, seed: int = 0, turns: float = 1.5
                ) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved Archimedean spirals (class 1 is class 0 turned half a circle), radius
    growing to 1 over ``turns`` turns. Needs a hidden layer; a line gets ~50 %."""
    _check(n, 2, noise)
    if not turns > 0:
        raise ValueError(f"turns must be > 0, got {turns!r}")
    rng = np.random.default_rng(seed)
    y = _labels(n, 2)
    # sqrt spreads points evenly along the arc instead of crowding the centre.
    t = np.sqrt(rng.uniform(0.02, 1.0, size=n))
    angle = 2 * np.pi * turns * t + np.pi * y
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return _finish(x, y, noise, rng)


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's make_moons layout): class 0 the upper arc
    centred at (0, 0), class 1 the lower arc centred at (1, 0.5)."""
    _check(n, 2, noise)
    rng = np.random.default_rng(seed)
    y = _labels(n, 2)
    t = rng.uniform(0.0, np.pi, size=n)
    x = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    return _finish(x, y, noise, rng)


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """A ring of radius 1 (class 0) around a ring of radius ``factor`` (class 1)."""
    _check(n, 2, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    y = _labels(n, 2)
    t = rng.uniform(0.0, 2 * np.pi, size=n)
    r = np.where(y == 0, 1.0, factor)
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    return _finish(x, y, noise, rng)


def xor(n: int = 200, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in the four quadrants of [-1, 1]^2, label 1 where the signs of the two
    coordinates differ: the set a single perceptron cannot learn. Quadrants get equal counts."""
    _check(n, 4, noise)
    rng = np.random.default_rng(seed)
    quadrant = np.arange(n) % 4
    signs = np.stack([np.where(quadrant & 1, -1.0, 1.0), np.where(quadrant & 2, -1.0, 1.0)], 1)
    x = signs * rng.uniform(0.0, 1.0, size=(n, 2))
    y = (signs[:, 0] != signs[:, 1]).astype(np.int64)
    return _finish(x, y, noise, rng)


def blobs(n: int = 300, centers: int | np.ndarray = 3, std: float = 1.0, seed: int = 0,
          box: tuple[float, float] = (-10.0, 10.0)) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, one class per centre. ``centers`` is a count (centres drawn
    uniformly in ``box`` x ``box``) or a (k, 2) array of centres."""
    _check(n, 1, std)
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if not 1 <= centers <= n:
            raise ValueError(f"centers must be in 1..n={n}, got {centers}")
        c = rng.uniform(box[0], box[1], size=(int(centers), 2))
    else:
        c = np.asarray(centers, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != 2 or not 1 <= c.shape[0] <= n:
            raise ValueError(f"centers must be a count or a (k, 2) array with 1 <= k <= n, "
                             f"got shape {c.shape}")
    y = _labels(n, c.shape[0])
    return _finish(c[y], y, std, rng)


SYNTHETIC = {
    "spirals": two_spirals,
    "moons": moons,
    "circles": circles,
    "xor": xor,
    "blobs": blobs,
}
