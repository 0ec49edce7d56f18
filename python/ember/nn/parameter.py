"""nn.Parameter: a tensor that a Module registers as a learnable parameter."""
from __future__ import annotations

from .._C import Tensor


class Parameter(Tensor):
    """A leaf tensor with requires_grad=True (by default) that shares `data`'s storage."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            from .. import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a tensor, got {type(data).__name__}")
        super().__init__(data.detach())
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor(self.detach()), self.requires_grad))


class Buffer:
    """Marker type for torch-style `self.x = nn.Buffer(t)` registration."""

    def __init__(self, data, persistent=True):
        self.data = data
        self.persistent = persistent
