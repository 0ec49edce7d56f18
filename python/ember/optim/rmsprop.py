"""RMSprop, plain or centered, with optional momentum (torch.optim.RMSprop)."""
from __future__ import annotations

from .. import zeros_like
from .optimizer import Optimizer, _check_unsupported, _new_step, _optim


class RMSprop(Optimizer):
    """RMSprop, torch.optim.RMSprop's rule:

        g = -grad if maximize else grad;  g += weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        centered: ga = alpha * ga + (1 - alpha) * g;  avg = sqrt(v - ga * ga) + eps   else avg = sqrt(v) + eps
        momentum > 0: buf = momentum * buf + g / avg;  p -= lr * buf     else p -= lr * g / avg

    State per parameter: "step" (float32 scalar tensor), "square_avg", "momentum_buffer" (momentum
    > 0) and "grad_avg" (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _optim.check_rmsprop_options(lr, alpha, eps, weight_decay, momentum, centered, maximize)
        _check_unsupported(differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group, params, grads):
        momentum, centered = group["momentum"], group["centered"]
        square_avgs, grad_avgs, bufs, steps = [], [], [], []
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = _new_step()
                state["square_avg"] = zeros_like(p)
            square_avgs.append(state["square_avg"])
            steps.append(state["step"])
            if momentum > 0:
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = zeros_like(p)
                bufs.append(state["momentum_buffer"])
            if centered:
                if "grad_avg" not in state:
                    state["grad_avg"] = zeros_like(p)
                grad_avgs.append(state["grad_avg"])
        _optim.rmsprop_step(params, grads, square_avgs, grad_avgs, bufs, steps, lr=group["lr"], alpha=group["alpha"],
                            eps=group["eps"], weight_decay=group["weight_decay"], momentum=momentum, centered=centered,
                            maximize=group["maximize"])
