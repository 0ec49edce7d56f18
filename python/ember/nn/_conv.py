"""Functional convolution and pooling (torch.nn.functional's signatures) over ember._C._conv."""
from __future__ import annotations

from .. import _C

_conv = _C._conv


def _tuple(v, n, name):
    if isinstance(v, bool):
        raise TypeError(f"{name} must be an int or a tuple of ints, got bool")
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) == 1:
        v = v * n
    if len(v) != n or not all(isinstance(x, int) for x in v):
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {v}")
    return v


def _same_padding(weight, dilation, n):
    pads = []
    for k, d in zip(weight.shape[-n:], dilation):
        total = d * (k - 1)
        if total % 2:
            raise NotImplementedError("padding='same' with an even effective kernel size needs asymmetric padding, "
                                      "which is not supported; pad explicitly")
        pads.append(total // 2)
    return tuple(pads)


def _padding(padding, weight, dilation, n):
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * n
        if padding == "same":
            return _same_padding(weight, dilation, n)
        raise ValueError(f"Invalid padding string {padding!r}, should be one of 'valid', 'same'")
    return _tuple(padding, n, "padding")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    dilation = _tuple(dilation, 2, "dilation")
    return _conv.conv2d(input, weight, bias, _tuple(stride, 2, "stride"), _padding(padding, weight, dilation, 2),
                        dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    dilation = _tuple(dilation, 1, "dilation")
    return _conv.conv1d(input, weight, bias, _tuple(stride, 1, "stride")[0], _padding(padding, weight, dilation, 1)[0],
                        dilation[0], groups)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    k = _tuple(kernel_size, 2, "kernel_size")
    s = _tuple(stride, 2, "stride") if stride not in (None, ()) else k
    args = (input, k, s, _tuple(padding, 2, "padding"), _tuple(dilation, 2, "dilation"), ceil_mode)
    if return_indices:
        return _conv.max_pool2d_with_indices(*args)
    return _conv.max_pool2d(*args)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    if return_indices:
        out, idx = max_pool2d(input.unsqueeze(-2), (1, _tuple(kernel_size, 1, "kernel_size")[0]),
                              (1, _tuple(stride if stride not in (None, ()) else kernel_size, 1, "stride")[0]),
                              (0, _tuple(padding, 1, "padding")[0]), (1, _tuple(dilation, 1, "dilation")[0]),
                              ceil_mode, True)
        return out.squeeze(-2), idx.squeeze(-2)
    k = _tuple(kernel_size, 1, "kernel_size")[0]
    s = _tuple(stride, 1, "stride")[0] if stride not in (None, ()) else k
    return _conv.max_pool1d(input, k, s, _tuple(padding, 1, "padding")[0], _tuple(dilation, 1, "dilation")[0],
                            ceil_mode)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    k = _tuple(kernel_size, 2, "kernel_size")
    s = _tuple(stride, 2, "stride") if stride not in (None, ()) else k
    return _conv.avg_pool2d(input, k, s, _tuple(padding, 2, "padding"), ceil_mode, count_include_pad)


def adaptive_avg_pool2d(input, output_size):
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    h, w = output_size
    h = input.shape[-2] if h is None else h
    w = input.shape[-1] if w is None else w
    return _conv.adaptive_avg_pool2d(input, (h, w))
