"""Module forms of the losses, with torch.nn's constructor signatures (the deprecated size_average
and reduce arguments included, mapped to `reduction` by torch's legacy rule)."""
from __future__ import annotations

from . import functional as F
from ._loss import _reduction
from .module import Module


class _Loss(Module):
    _fn = ""  # name of the function in ember.nn.functional, looked up per call
    _args = ()

    def __init__(self, size_average=None, reduce=None, reduction="mean", **kwargs):
        super().__init__()
        self.reduction = _reduction(size_average, reduce, reduction)
        for k, v in kwargs.items():
            if k in ("weight", "pos_weight"):  # buffers: they follow .to() and state_dict, like torch
                self.register_buffer(k, v)
            else:
                setattr(self, k, v)

    def forward(self, input, target):
        kwargs = {k: getattr(self, k) for k in self._args}
        return getattr(F, self._fn)(input, target, reduction=self.reduction, **kwargs)

    def extra_repr(self):
        return f"reduction={self.reduction}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    _fn = "mse_loss"

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)


class L1Loss(_Loss):
    _fn = "l1_loss"

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)


class SmoothL1Loss(_Loss):
    _fn = "smooth_l1_loss"
    _args = ("beta",)

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction, beta=beta)


class HuberLoss(_Loss):
    _fn = "huber_loss"
    _args = ("delta",)

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction, delta=delta)


class BCELoss(_Loss):
    _fn = "binary_cross_entropy"
    _args = ("weight",)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=weight)


class BCEWithLogitsLoss(_Loss):
    _fn = "binary_cross_entropy_with_logits"
    _args = ("weight", "pos_weight")

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction, weight=weight, pos_weight=pos_weight)


class CrossEntropyLoss(_Loss):
    _fn = "cross_entropy"
    _args = ("weight", "ignore_index", "label_smoothing")

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(size_average, reduce, reduction, weight=weight, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)


class NLLLoss(_Loss):
    _fn = "nll_loss"
    _args = ("weight", "ignore_index")

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=weight, ignore_index=ignore_index)


class HingeEmbeddingLoss(_Loss):
    _fn = "hinge_embedding_loss"
    _args = ("margin",)

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, margin=margin)


class MultiMarginLoss(_Loss):
    """The multi-class SVM hinge loss."""

    _fn = "multi_margin_loss"
    _args = ("p", "margin", "weight")

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
        if p not in (1, 2):
            raise ValueError("only p == 1 and p == 2 supported")
        super().__init__(size_average, reduce, reduction, p=p, margin=margin, weight=weight)


class KLDivLoss(_Loss):
    _fn = "kl_div"
    _args = ("log_target",)

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction, log_target=log_target)
