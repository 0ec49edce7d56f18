"""Classification metrics over tensor ops (argmax, comparisons, sums, one matmul): no Python loops
over samples.

    acc = ember.metrics.accuracy(model(x), y)          # logits, probabilities or labels
    cm = ember.metrics.confusion_matrix(model(x), y, num_classes=10)

Predictions may be given as
- scores [N, C] (or [N, C, d...], or [C] for one sample): the class is the argmax over C;
- one score per sample, the target's shape (binary): class 1 where score >= threshold
  (0.5 suits probabilities; pass threshold=0.0 for logits);
- integer (or bool) class labels of the target's shape.
Targets are class labels; a floating target with the scores' shape [N, C] (one-hot or class
probabilities) is reduced by argmax too.
"""
from __future__ import annotations

from . import _C
from ._C import Tensor
from .autograd import no_grad

__all__ = ["accuracy", "zero_one_error", "confusion_matrix"]

_INT64 = _C.dtype.int64


def _check(t, name):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be an ember.Tensor, got {type(t).__name__}")


def _labels(input, target, threshold):
    """(predicted labels, target labels) as int64 tensors of one shape."""
    _check(input, "input")
    _check(target, "target")
    if not input.is_floating_point():
        pred = input
    elif input.ndim == target.ndim + 1:
        pred = _C.argmax(input, 1 if input.ndim > 1 else 0, False)
    elif tuple(input.shape) == tuple(target.shape):
        if input.ndim >= 2 and input.shape[1] > 1 and target.is_floating_point():
            return _C.argmax(input, 1, False), _C.argmax(target, 1, False)
        pred = input >= threshold
    else:
        raise ValueError(f"input of shape {tuple(input.shape)} does not match target of shape {tuple(target.shape)}: "
                         "expected scores [N, C, ...] with target [N, ...], or both of one shape")
    if tuple(pred.shape) != tuple(target.shape):
        raise ValueError(f"predicted labels of shape {tuple(pred.shape)} do not match target of shape "
                         f"{tuple(target.shape)}")
    return pred.to(_INT64), target.to(_INT64)


def accuracy(input, target, threshold=0.5):
    """Fraction of samples whose predicted class equals the target, as a Python float (nan when
    there are no samples)."""
    with no_grad():
        pred, tgt = _labels(input, target, threshold)
        n = tgt.numel()
        if n == 0:
            return float("nan")
        return (pred == tgt).sum().item() / n


def zero_one_error(input, target, threshold=0.5):
    """Fraction of misclassified samples: 1 - accuracy."""
    return 1.0 - accuracy(input, target, threshold)


def confusion_matrix(pred, target, num_classes=None, threshold=0.5):
    """[K, K] int64 counts: row = true class, column = predicted class (scikit-learn's layout).

    `pred` may be labels or scores (see the module notes); num_classes defaults to the largest
    label seen + 1. Labels outside [0, num_classes) raise ValueError.
    """
    with no_grad():
        p, t = _labels(pred, target, threshold)
        p, t = p.reshape(-1), t.reshape(-1)
        if num_classes is None:
            num_classes = 1 + max(p.max().item(), t.max().item()) if t.numel() else 0
        num_classes = int(num_classes)
        if num_classes < 0:
            raise ValueError(f"num_classes must be non-negative, got {num_classes}")
        for name, v in (("predicted", p), ("target", t)):
            if v.numel() and (v.min().item() < 0 or v.max().item() >= num_classes):
                bad = v.min().item() if v.min().item() < 0 else v.max().item()
                raise ValueError(f"{name} label {bad} is outside [0, {num_classes}) (num_classes={num_classes})")
        # one-hot rows compared against arange, then counts = onehot(t)^T @ onehot(p): exact in float64
        classes = _C.arange(0, num_classes, 1, _INT64).reshape(1, -1)
        oh_t = (t.reshape(-1, 1) == classes).to(_C.dtype.float64)
        oh_p = (p.reshape(-1, 1) == classes).to(_C.dtype.float64)
        return _C.matmul(oh_t.t(), oh_p).to(_INT64)
