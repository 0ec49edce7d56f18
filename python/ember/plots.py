"""PNG plots of a training run: loss/accuracy curves, the decision boundary of a 2-D classifier, the
first layer's filters of a conv net. matplotlib is optional (the `plot` extra); without it the
functions return None and say so once."""
from __future__ import annotations

import math
import os
import sys

import numpy as np

_warned = False


def _pyplot():
    global _warned
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never needs a screen
        import matplotlib.pyplot as plt
    except ImportError:
        if not _warned:
            print("matplotlib is not installed: skipping plots (pip install 'ember[plot]')", file=sys.stderr)
            _warned = True
        return None
    return plt


def _save(fig, plt, path):
    tmp = f"{path}.tmp{os.getpid()}.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)  # a reader never sees half a PNG
    return path


def training_curves(history, path, metric="loss"):
    """One PNG with the train and validation curve of `metric` ('loss' or 'accuracy') per epoch."""
    plt = _pyplot()
    series = {k: history[k] for k in (metric, f"val_{metric}") if k in history.keys()}
    if plt is None or not series:
        return None
    epochs = history["epoch"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, values in series.items():
        ax.plot(epochs, values, marker="o", ms=3, label="validation" if name.startswith("val_") else "train")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, plt, path)


def decision_boundary(predict_fn, x, y, path, resolution=200):
    """The regions a 2-D classifier assigns to each class, with the points on top.
    predict_fn maps an (n, 2) float32 array to (n,) class indices."""
    plt = _pyplot()
    if plt is None:
        return None
    pad = 0.1 * (x.max(0) - x.min(0))
    lo, hi = x.min(0) - pad, x.max(0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    regions = np.asarray(predict_fn(grid)).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.contourf(gx, gy, regions, levels=np.arange(regions.max() + 2) - 0.5, alpha=0.3, cmap="coolwarm")
    ax.scatter(x[:, 0], x[:, 1], c=y, s=6, cmap="coolwarm", edgecolors="none")
    ax.set_title("decision boundary")
    return _save(fig, plt, path)


def filters(weight, path):
    """The first conv layer's kernels (out_channels, in_channels, kh, kw) as a grid of images; the input
    channels are averaged so colour and grey images read the same way."""
    plt = _pyplot()
    if plt is None:
        return None
    w = np.asarray(weight, dtype=np.float32).mean(axis=1)
    n = w.shape[0]
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(w[i], cmap="gray")
    fig.suptitle("first-layer filters")
    return _save(fig, plt, path)
