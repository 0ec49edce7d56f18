"""Fully connected models: the perceptron / logistic regression and the multi-layer perceptron."""
from __future__ import annotations

from math import prod

from .. import nn

_ACTIVATIONS = {
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
    "gelu": nn.GELU, "selu": nn.SELU, "silu": nn.SiLU,
}


def activation(name):
    """An activation module by name ('relu', 'tanh', 'sigmoid', ...)."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(_ACTIVATIONS)}") from None


def _features(input_shape):
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if not shape or any(not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"input_shape must be positive ints (one sample, no batch dim), got {input_shape!r}")
    return prod(shape)


class LogisticRegression(nn.Sequential):
    """Flatten + one Linear layer: softmax (multinomial logistic) regression with cross-entropy."""

    default_loss = "cross_entropy"

    def __init__(self, input_shape, num_classes):
        super().__init__(nn.Flatten(), nn.Linear(_features(input_shape), num_classes))


class Perceptron(LogisticRegression):
    """Rosenblatt's linear classifier, trained with the multi-class hinge (perceptron-style) loss."""

    default_loss = "hinge"


class MLP(nn.Sequential):
    """Flatten, then [Linear -> (BatchNorm) -> activation -> (Dropout)] per hidden width, then Linear."""

    default_loss = "cross_entropy"

    def __init__(self, input_shape, num_classes, hidden=(256, 128), activation_name="relu", dropout=0.0,
                 batch_norm=False):
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        layers = [nn.Flatten()]
        width = _features(input_shape)
        for h in hidden:
            if not isinstance(h, int) or h < 1:
                raise ValueError(f"hidden widths must be positive ints, got {hidden!r}")
            layers.append(nn.Linear(width, h))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(activation(activation_name))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)
