"""Optimizers (torch.optim's names, defaults, update rules and state dicts) and LR schedules.

    opt = ember.optim.Adam(model.parameters(), lr=1e-3)
    loss.backward(); opt.step(); opt.zero_grad()

Each step of a parameter group is one call into the C++ core, where fused kernels update all the
group's tensors in one pass over memory, split across threads by element count.
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer, required
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "lr_scheduler", "required"]
