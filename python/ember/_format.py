"""A repr in torch's style: tensor([[1., 2.], [3., 4.]], requires_grad=True)."""
from __future__ import annotations


def _float_formatter(values):
    import numpy as np

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: f"{v}"
    if np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:
        return lambda v: f"{v:.0f}." if np.isfinite(v) else f"{v}"
    nonzero = np.abs(finite[finite != 0])
    if nonzero.size and (nonzero.max() >= 1e8 or nonzero.min() < 1e-4):
        return lambda v: f"{v:.4e}"
    return lambda v: f"{v:.4f}"


def _summarized(arr, threshold=1000, edge=3):
    """The elements a summarized print shows (first and last `edge` along each dim), as torch
    picks its number format from them only."""
    import numpy as np

    if arr.size <= threshold:
        return arr
    for ax in range(arr.ndim):
        n = arr.shape[ax]
        if n > 2 * edge:
            arr = np.concatenate([arr.take(range(edge), ax), arr.take(range(n - edge, n), ax)], ax)
    return arr


def format_tensor(t) -> str:
    import numpy as np

    from . import _C

    arr = t.detach().numpy()
    prefix = "tensor("
    if arr.dtype.kind == "f":
        shown = _summarized(arr).ravel()
        fmt = _float_formatter(shown)
        # torch pads every element to the widest one: tensor([ 1.5000, -2.2500])
        width = max((len(fmt(v)) for v in shown), default=0)
        formatter = {"float_kind": lambda v: fmt(v).rjust(width)}
    else:
        formatter = None
    if arr.ndim == 0:
        body = formatter["float_kind"](arr.item()) if formatter else repr(arr.item())
    else:
        body = np.array2string(arr, separator=", ", prefix=prefix, formatter=formatter, threshold=1000, edgeitems=3,
                               max_line_width=80)
    extras = []
    if t.dtype not in (_C.dtype.float32, _C.dtype.int64, _C.dtype.bool) or (t.numel() == 0 and
                                                                          t.dtype != _C.dtype.float32):
        extras.append(f"dtype=ember.{t.dtype.name}")
    if t.numel() == 0 and t.ndim != 1:
        extras.append(f"size={tuple(t.shape)}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
