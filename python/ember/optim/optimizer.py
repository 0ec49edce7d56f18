"""Optimizer: torch.optim.Optimizer's bookkeeping (param groups, per-parameter state, state dicts).

The update itself is C++ (ember._C._optim): a subclass's `_step_group` collects the tensors of
one group and makes one call that updates them all. Everything here is the part torch users
touch: `param_groups` is a list of dicts (defaults filled in; schedulers edit group["lr"]),
`state` maps each parameter to a dict of tensors with torch's names ("step", "exp_avg", ...),
and `state_dict()` has torch's layout, so a checkpoint resumes bit for bit.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import chain

from .. import _C
from .._C import Tensor
from ..autograd import enable_grad

_optim = _C._optim


class _RequiredParameter:
    """Marks a hyper-parameter without a default (torch.optim.optimizer.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _new_step():
    """A fresh step counter: a float32 scalar tensor, as torch keeps it."""
    return _C.zeros((), _C.dtype.float32)


def _check_unsupported(differentiable=False):
    if differentiable:
        raise NotImplementedError("differentiable=True is not supported: ember's optimizer steps are not "
                                  "recorded by autograd")


class Optimizer:
    """Base class of the optimizers.

    params: an iterable of tensors, or of dicts that each hold "params" (a parameter group) and
    any hyper-parameters that differ from `defaults` for that group.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- groups -------------------------------------------------------------------------------

    def add_param_group(self, param_group):
        """Adds a group of parameters (a dict with "params"); missing hyper-parameters take the
        optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        param_group = dict(param_group)
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_floating_point():
                raise TypeError(f"optimizer can only optimize floating-point tensors, got {p.dtype}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            # torch only warns, then updates such a parameter twice per step; ember's steps update
            # all tensors of a group at once, so a repeat is refused.
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        param_group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        self._init_group_state(param_group)

    def _init_group_state(self, group):
        """Hook for optimizers whose state exists before the first step (Adagrad)."""

    # ---- stepping -----------------------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Drops the gradients (set_to_none=True) or fills them with zeros, detached from any graph."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient. A closure, when given, is called
        first with grad mode on (it recomputes the loss and its gradients); its result is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads = [], []
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    params.append(p)
                    grads.append(g)
            if params:
                self._step_group(group, params, grads)
        return loss

    def _step_group(self, group, params, grads):
        raise NotImplementedError

    # ---- state dicts --------------------------------------------------------------------------

    def state_dict(self):
        """{"state": {index: {name: tensor or value}}, "param_groups": [{..., "params": [index]}]},
        parameters numbered in group order, as torch. The tensors are the optimizer's own (not
        copies), as in torch: save or copy them before stepping on if you want a snapshot."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            key = index[id(p)] if isinstance(p, Tensor) else p
            state[key] = dict(s)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restores a state_dict() (also one that went through JSON, as in ember.io checkpoints:
        string indices and lists for tuples are accepted). Tensors are copied, to the parameter's
        dtype (except "step")."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict or "state" not in state_dict:
            raise ValueError("expected a dict with 'state' and 'param_groups', as returned by state_dict()")
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if isinstance(key, str) and key.lstrip("-").isdigit():
                key = int(key)  # a checkpoint's JSON turned the indices into strings
            if key in id_map:
                param = id_map[key]
                state[param] = {name: _cast_state(param, name, v, key) for name, v in value.items()}
            else:
                state[key] = value
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            new = {}
            for k, v in saved.items():
                if k == "params":
                    continue
                # JSON has no tuples: give back the type the group holds now (betas).
                if isinstance(v, list) and isinstance(group.get(k), tuple):
                    v = tuple(v)
                new[k] = v
            new["params"] = group["params"]
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups

    # ---- printing -------------------------------------------------------------------------------

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)


def _cast_state(param, name, value, index):
    if name == "step":
        if isinstance(value, Tensor):
            return value.detach().clone()
        return _C.full((), float(value), _C.dtype.float32)  # older torch format: a Python number
    if isinstance(value, Tensor):
        if tuple(value.shape) != tuple(param.shape):
            raise ValueError(f"loaded state for parameter {index} holds {name!r} of shape {tuple(value.shape)}, "
                             f"but the parameter has shape {tuple(param.shape)}")
        return value.detach().to(param.dtype).clone()
    return value

