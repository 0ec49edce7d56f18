"""SGD with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD)."""
from __future__ import annotations

from .optimizer import Optimizer, _check_unsupported, _optim


class SGD(Optimizer):
    """Stochastic gradient descent, torch.optim.SGD's rule:

        g = -grad if maximize else grad;  g += weight_decay * p
        buf = g (first step) or momentum * buf + (1 - dampening) * g
        g = g + momentum * buf (nesterov) or buf;  p -= lr * g

    State per parameter: "momentum_buffer" (only when momentum != 0).
    foreach/fused are accepted for torch compatibility; every step is one fused multi-tensor call.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _optim.check_sgd_options(lr, momentum, dampening, weight_decay, nesterov, maximize)
        _check_unsupported(differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _step_group(self, group, params, grads):
        momentum = group["momentum"]
        bufs = [self.state[p].get("momentum_buffer") for p in params] if momentum != 0 else []
        bufs = _optim.sgd_step(params, grads, bufs, lr=group["lr"], momentum=momentum, dampening=group["dampening"],
                               weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                               maximize=group["maximize"])
        for p, b in zip(params, bufs):
            self.state[p]["momentum_buffer"] = b
