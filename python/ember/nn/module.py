"""nn.Module: the base class of every layer and model, with torch's registration rules.

Assigning a Parameter to an attribute registers it, assigning a Module registers a submodule,
register_buffer() keeps non-learnable state (running statistics). Names in state_dict() are
the dotted attribute paths, exactly as torch names them, so weights copy across by name.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple

from .. import _C
from .._C import Tensor
from .parameter import Buffer, Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # --- forward -------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args, **kwargs):
        if not self._forward_pre_hooks and not self._forward_hooks:
            return self.forward(*args, **kwargs)
        for hook in self._forward_pre_hooks.values():
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook in self._forward_hooks.values():
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    def register_forward_hook(self, hook):
        return _register_hook(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook):
        return _register_hook(self._forward_pre_hooks, hook)

    # --- registration ----------------------------------------------------------------------------
    def _check_init(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign to {type(self).__name__} before Module.__init__() call")

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._check_init()
            self._discard(name, keep=self._parameters)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init()
            self._discard(name, keep=self._modules)
            self._modules[name] = value
        elif isinstance(value, Buffer):
            self._check_init()
            self._discard(name, keep=self._buffers)
            self.register_buffer(name, value.data, value.persistent)
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(ember.nn.Parameter or None expected)")
            self._parameters[name] = None
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(ember.nn.Module or None expected)")
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(ember.Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name, keep=None):
        # The store the name goes into is left alone: re-assigning an existing name keeps its
        # place in the registration order (state_dict, parameters(), Sequential[i]), as in torch.
        for d in (self.__dict__, self._parameters, self._buffers, self._modules):
            if d is not keep:
                d.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name, param):
        self._check_init()
        _check_name(name, self, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(ember.nn.Parameter or None required)")
        self._discard(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        self._check_init()
        _check_name(name, self, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(ember.Tensor or None required)")
        self._discard(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(name, self, "module")
        self._check_init()
        self._discard(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{part}`")
            mod = mod._modules[part]
        return mod

    # --- traversal ---------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        if remove_duplicate and id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, get, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, v in get(mod):
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only=False):
        return builtin_sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # --- modes -------------------------------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        # each child's own train(), as torch does, so a subclass that overrides it is honoured
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- dtype / device ---------------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        target = kwargs.get("dtype") or next((a for a in args if isinstance(a, _C.dtype)), None)
        for a in list(args) + [kwargs.get("device")]:
            if isinstance(a, str) and a != "cpu":
                raise RuntimeError(f"Cannot move module to '{a}': ember was built without CUDA support")
        if target is None:
            return self
        if not target.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={target}")
        from .. import no_grad

        with no_grad():
            for m in self.modules():
                for name, p in m._parameters.items():
                    if p is not None and p.dtype.is_floating_point and p.dtype != target:
                        m._parameters[name] = Parameter(p.to(target), p.requires_grad)
                for name, b in m._buffers.items():
                    if b is not None and b.dtype.is_floating_point and b.dtype != target:
                        m._buffers[name] = b.to(target)
        return self

    def float(self):
        return self.to(_C.dtype.float32)

    def double(self):
        return self.to(_C.dtype.float64)

    def cpu(self):
        return self

    def cuda(self, device=None):
        return self.to("cuda")

    # --- state dicts ------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        out = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copies tensors into the parameters and buffers of the same names (torch's names)."""
        from .. import no_grad, tensor

        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict and (missing or unexpected):  # torch's order: missing first
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        pending = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            src = state_dict[key]
            if not isinstance(src, Tensor):
                try:
                    src = tensor(src)
                except (TypeError, ValueError) as e:
                    errors.append(f'While copying the parameter named "{key}": {e}')
                    continue
            if tuple(src.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape {tuple(src.shape)} from "
                              f"checkpoint, the shape in current model is {tuple(target.shape)}.")
                continue
            pending.append((target, src))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for target, src in pending:
                target.copy_(src)
        return IncompatibleKeys(missing, unexpected)

    def save(self, path):
        """Writes the state dict to a safetensors file (atomically)."""
        from .. import io

        io.save(self.state_dict(), path)

    def load(self, path, strict=True):
        from .. import io

        return self.load_state_dict(io.load(path), strict=strict)

    # --- repr ------------------------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def _own_param_count(self):
        return builtin_sum(p.numel() for p in self._parameters.values() if p is not None)

    def __repr__(self):
        # torch's layout; leaves with weights also show their parameter count, so the tree reads
        # like a summary: "(0): Linear(in_features=3, out_features=4, bias=True)  # 16 params"
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ") if m is not None else "None"
            count = m._own_param_count() if m is not None and not m._modules else 0
            child_lines.append(f"({name}): {child}" + (f"  # {count:,} params" if count else ""))
        lines = extra_lines + child_lines
        head = type(self).__name__ + "("
        if not lines:
            return head + ")"
        if len(extra_lines) == 1 and not child_lines:
            return head + extra_lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def summary(self):
        """The module tree with each module's own parameter count and the total."""
        rows = []
        for name, m in self.named_modules():
            own = m._own_param_count()
            rows.append(f"{name or '(root)'}: {type(m).__name__}" + (f"  [{own:,} params]" if own else ""))
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        rows.append(f"total parameters: {total:,} (trainable: {trainable:,})")
        return "\n".join(rows)


builtin_sum = sum


def _check_name(name, module, what):
    if not isinstance(name, str):
        raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f"{what} name can't be empty or contain \".\", got: {name!r}")
    if name in module.__dict__ and not any(name in d for d in (module._parameters, module._buffers, module._modules)):
        raise KeyError(f"attribute '{name}' already exists")


class _RemovableHandle:
    def __init__(self, store, key):
        self._store, self._key = store, key

    def remove(self):
        self._store.pop(self._key, None)


_hook_counter = [0]


def _register_hook(store, hook):
    _hook_counter[0] += 1
    store[_hook_counter[0]] = hook
    return _RemovableHandle(store, _hook_counter[0])
