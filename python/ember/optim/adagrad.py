"""Adagrad (torch.optim.Adagrad)."""
from __future__ import annotations

from .. import full_like
from .optimizer import Optimizer, _check_unsupported, _new_step, _optim


class Adagrad(Optimizer):
    """Adagrad, torch.optim.Adagrad's rule:

        g = -grad if maximize else grad;  g += weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay);  sum += g * g;  p -= clr * g / (sqrt(sum) + eps)

    State per parameter, created with the group as torch does: "step" (float32 scalar tensor) and
    "sum" (starting at initial_accumulator_value; a group added later uses its own value, where
    torch's lazy path would take the optimizer's default).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _optim.check_adagrad_options(lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize)
        _check_unsupported(differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _init_group_state(self, group):
        for p in group["params"]:
            self._init_state(self.state[p], p, group)

    @staticmethod
    def _init_state(state, p, group):
        if not state:
            state["step"] = _new_step()
            state["sum"] = full_like(p, group["initial_accumulator_value"])

    def _step_group(self, group, params, grads):
        sums, steps = [], []
        for p in params:
            state = self.state[p]
            self._init_state(state, p, group)
            sums.append(state["sum"])
            steps.append(state["step"])
        _optim.adagrad_step(params, grads, sums, steps, lr=group["lr"], lr_decay=group["lr_decay"],
                            weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"])
