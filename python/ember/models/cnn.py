"""Convolutional models: LeNet-5, a small batch-norm CNN for 28×28 images, a small VGG for CIFAR."""
from __future__ import annotations

from collections import OrderedDict

from .. import nn


def _image_shape(input_shape):
    shape = tuple(input_shape) if not isinstance(input_shape, int) else ()
    if len(shape) != 3 or any(not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"a conv net needs input_shape (channels, height, width), got {input_shape!r}")
    return shape


def _pooled(size, times):
    for _ in range(times):
        size //= 2
    return size


class LeNet5(nn.Sequential):
    """LeCun et al. 1998 with ReLU and max pooling: conv5-pool-conv5-pool-fc120-fc84-fc10.

    28×28 inputs get padding 2 on the first conv, so the classic 32×32 geometry follows."""

    default_loss = "cross_entropy"

    def __init__(self, input_shape=(1, 28, 28), num_classes=10):
        c, h, w = _image_shape(input_shape)
        pad = 2 if min(h, w) < 32 else 0
        h, w = _pooled(h + 2 * pad - 4, 1), _pooled(w + 2 * pad - 4, 1)
        h, w = _pooled(h - 4, 1), _pooled(w - 4, 1)
        if h < 1 or w < 1:
            raise ValueError(f"LeNet-5 needs images of at least 28×28 pixels, got {input_shape[1:]}")
        features = nn.Sequential(
            nn.Conv2d(c, 6, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * h * w, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))
        super().__init__(OrderedDict(features=features, classifier=classifier))


def _conv_block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class SmallCNN(nn.Sequential):
    """conv-BN-ReLU blocks of width w (28×28), 2w (14×14) and 2w (7×7) with 2×2 max pooling between them,
    then dropout and two Linear layers: the Fashion-MNIST network of the main job. Sized so that an
    epoch of 60,000 images takes well under a minute on two cores."""

    default_loss = "cross_entropy"

    def __init__(self, input_shape=(1, 28, 28), num_classes=10, width=32, dropout=0.3):
        c, h, w = _image_shape(input_shape)
        h, w = _pooled(h, 2), _pooled(w, 2)
        if h < 1 or w < 1:
            raise ValueError(f"SmallCNN needs images of at least 4×4 pixels, got {input_shape[1:]}")
        features = nn.Sequential(
            *_conv_block(c, width), nn.MaxPool2d(2),
            *_conv_block(width, 2 * width), nn.MaxPool2d(2),
            *_conv_block(2 * width, 2 * width))
        classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * h * w, 128), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(128, num_classes))
        super().__init__(OrderedDict(features=features, classifier=classifier))


class VGGSmall(nn.Sequential):
    """A VGG-style CIFAR network: three stages of two conv-BN-ReLU blocks and max pooling, global average
    pooling, dropout, a Linear classifier."""

    default_loss = "cross_entropy"

    def __init__(self, input_shape=(3, 32, 32), num_classes=10, widths=(32, 64, 128), dropout=0.3):
        c = _image_shape(input_shape)[0]
        layers = []
        for w in widths:
            layers += [*_conv_block(c, w), *_conv_block(w, w), nn.MaxPool2d(2)]
            c = w
        features = nn.Sequential(*layers)
        classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                   nn.Linear(c, num_classes))
        super().__init__(OrderedDict(features=features, classifier=classifier))

