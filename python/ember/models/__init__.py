"""ember.models: ready-made networks, buildable by name for the CLI.

    from ember import models
    net = models.build("lenet5", input_shape=(1, 28, 28), num_classes=10)
"""
from __future__ import annotations

from .cnn import LeNet5, SmallCNN, VGGSmall
from .mlp import MLP, LogisticRegression, Perceptron, activation

_REGISTRY = {
    "perceptron": Perceptron,
    "logreg": LogisticRegression,
    "mlp": MLP,
    "lenet5": LeNet5,
    "cnn": SmallCNN,
    "vgg-small": VGGSmall,
}
_ALIASES = {"logistic-regression": "logreg", "lenet": "lenet5", "lenet-5": "lenet5", "vgg": "vgg-small",
            "small-cnn": "cnn"}


def available():
    return list(_REGISTRY)


def canonical(name):
    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(_REGISTRY)}")
    return key


def build(name, input_shape, num_classes, **kwargs):
    """The model called `name` for samples of `input_shape` (no batch dim) and `num_classes` outputs."""
    return _REGISTRY[canonical(name)](input_shape, num_classes, **kwargs)


__all__ = ["MLP", "Perceptron", "LogisticRegression", "LeNet5", "SmallCNN", "VGGSmall", "build", "available",
           "canonical", "activation"]
