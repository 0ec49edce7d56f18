"""ONNX export: ember.onnx.export(model, example_input, path).

The graph is built from the module tree, not by tracing: Sequential containers run their children in
order, and each known layer maps to the ONNX operators that compute it in eval mode (dropout is
the identity, batch norm uses its running statistics). Weights go in as initializers under their
state_dict names. Needs the `onnx` package (pip install 'ember[onnx]').

Recurrent layers (RNN with tanh or relu, LSTM, GRU; any num_layers, bidirectional, batch_first,
unbatched input) become ONNX's RNN/LSTM/GRU operators, one per layer, starting from zero states.
Their weights are regrouped into ONNX's gate order and per-layer W, R, B tensors, named after the
parameters they come from (`rnn.weight_ih_l0.W`, `rnn.weight_hh_l0.R`, `rnn.bias_l0.B`). A bare
recurrent module exports with its three (GRU, RNN: two) outputs, named output, h_n, c_n.

A model that is not a plain Sequential (an LSTM followed by picking the last time step and a
Linear head, say) exports through a method `onnx_export(self, g, x, prefix)` on its class: it
receives the graph builder `g`, the name of its input value `x` and its state_dict prefix, and
returns the name of its output value (or a tuple of them). `g.emit(child, x, prefix + "child.")`
emits a submodule as the exporter would; `g.op(op_type, inputs, **attributes)` adds an ONNX node;
`g.const(numpy_array)` a constant. examples/sequence_classification.py shows one.
"""
from __future__ import annotations

import math

import numpy as np

OPSET = 17


class _Graph:
    """Nodes and initializers of the graph under construction; fresh value names on demand."""

    def __init__(self, helper, numpy_helper, table, input_shapes):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self._count = [], [], 0
        self._table, self._input_shapes = table, input_shapes

    def name(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, array, name=None):
        name = name or self.name("const")
        # asarray, not ascontiguousarray: that one turns a 0-d array (a scalar Gather index) into shape [1]
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array, order="C"), name))
        return name

    def weight(self, tensor, name):
        return self.const(tensor.detach().numpy(), name)

    def op(self, op_type, inputs, hint=None, outputs=None, **attrs):
        """Adds a node; returns its output's name, or a list of `outputs` names when that is given."""
        outs = [self.name(hint or op_type.lower()) for _ in range(outputs or 1)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs if outputs else outs[0]

    def emit(self, module, x, prefix):
        """Emits `module` applied to value `x` (for onnx_export methods that run their children)."""
        return _emit(self, self._table, module, x, prefix)

    def input_shape(self, module):
        """The shape of the tensor `module` received in the export's forward pass (None if not a tensor):
        the graph carries no shapes, and a layer like LSTM treats 2-D (unbatched) input differently."""
        return self._input_shapes.get(id(module))


def _scalar(g, value, dtype=np.float32):
    return g.const(np.asarray(value, dtype=dtype))


def _linear(g, m, x, prefix):
    # Gemm takes 2-D inputs only; MatMul + Add covers any leading dims. The weight keeps its
    # state_dict name and layout; the Transpose folds away when a runtime loads the graph.
    w = g.op("Transpose", [g.weight(m.weight, f"{prefix}weight")], perm=[1, 0])
    y = g.op("MatMul", [x, w])
    return g.op("Add", [y, g.weight(m.bias, f"{prefix}bias")]) if m.bias is not None else y


def _conv(g, m, x, prefix):
    inputs = [x, g.weight(m.weight, f"{prefix}weight")]
    if m.bias is not None:
        inputs.append(g.weight(m.bias, f"{prefix}bias"))
    return g.op("Conv", inputs, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                pads=list(m.padding) * 2, dilations=list(m.dilation), group=m.groups)


def _pool_args(m, n):
    def tup(v):
        return list(v) if isinstance(v, (tuple, list)) else [v] * n

    stride = m.stride if m.stride not in (None, ()) else m.kernel_size
    return dict(kernel_shape=tup(m.kernel_size), strides=tup(stride), pads=tup(m.padding) * 2,
                ceil_mode=int(bool(m.ceil_mode)))


def _max_pool(n):
    def emit(g, m, x, prefix):
        if getattr(m, "return_indices", False):
            raise NotImplementedError("ONNX export of max pooling with return_indices=True is not supported")
        dil = m.dilation if isinstance(m.dilation, (tuple, list)) else [m.dilation] * n
        return g.op("MaxPool", [x], dilations=list(dil), **_pool_args(m, n))

    return emit


def _avg_pool(g, m, x, prefix):
    return g.op("AveragePool", [x], count_include_pad=int(bool(m.count_include_pad)), **_pool_args(m, 2))


def _adaptive_avg_pool(g, m, x, prefix):
    size = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size, m.output_size)
    if tuple(size) != (1, 1):
        raise NotImplementedError(f"ONNX export of AdaptiveAvgPool2d supports output_size 1 only, got {size}")
    return g.op("GlobalAveragePool", [x])


def _batch_norm(g, m, x, prefix):
    if m.running_mean is None:
        raise NotImplementedError("ONNX export of BatchNorm needs running statistics (track_running_stats=True)")
    c = m.num_features
    w = g.weight(m.weight, f"{prefix}weight") if m.weight is not None else g.const(np.ones(c, np.float32))
    b = g.weight(m.bias, f"{prefix}bias") if m.bias is not None else g.const(np.zeros(c, np.float32))
    return g.op("BatchNormalization", [x, w, b, g.weight(m.running_mean, f"{prefix}running_mean"),
                                       g.weight(m.running_var, f"{prefix}running_var")], epsilon=float(m.eps))


def _layer_norm(g, m, x, prefix):
    shape = tuple(m.normalized_shape)
    w = g.weight(m.weight, f"{prefix}weight") if m.weight is not None else g.const(np.ones(shape, np.float32))
    inputs = [x, w] + ([g.weight(m.bias, f"{prefix}bias")] if getattr(m, "bias", None) is not None else [])
    return g.op("LayerNormalization", inputs, axis=-len(shape), epsilon=float(m.eps))


def _flatten(g, m, x, prefix):
    if m.end_dim != -1:
        raise NotImplementedError("ONNX export of Flatten supports end_dim=-1 only")
    return g.op("Flatten", [x], axis=m.start_dim)


def _identity(g, m, x, prefix):
    return x


def _unary(op_type, **fixed):
    def emit(g, m, x, prefix):
        return g.op(op_type, [x], **fixed)

    return emit


def _clip(lo, hi):
    def emit(g, m, x, prefix):
        low = getattr(m, "min_val", lo) if lo is None else lo
        high = getattr(m, "max_val", hi) if hi is None else hi
        return g.op("Clip", [x, _scalar(g, low), _scalar(g, high)])

    return emit


def _leaky_relu(g, m, x, prefix):
    return g.op("LeakyRelu", [x], alpha=float(m.negative_slope))


def _elu(g, m, x, prefix):
    return g.op("Elu", [x], alpha=float(m.alpha))


def _gelu(g, m, x, prefix):
    if getattr(m, "approximate", "none") == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [cube, _scalar(g, 0.044715)])]),
                             _scalar(g, math.sqrt(2 / math.pi))])
        t = g.op("Tanh", [inner])
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        t = g.op("Erf", [g.op("Div", [x, _scalar(g, math.sqrt(2.0))])])
    return g.op("Mul", [g.op("Mul", [x, _scalar(g, 0.5)]), g.op("Add", [t, _scalar(g, 1.0)])])


def _silu(g, m, x, prefix):
    return g.op("Mul", [x, g.op("Sigmoid", [x])])


def _softplus(g, m, x, prefix):
    beta, threshold = float(getattr(m, "beta", 1.0)), float(getattr(m, "threshold", 20.0))
    bx = g.op("Mul", [x, _scalar(g, beta)])
    soft = g.op("Div", [g.op("Softplus", [bx]), _scalar(g, beta)])
    return g.op("Where", [g.op("Greater", [bx, _scalar(g, threshold)]), x, soft])


def _softmax(op_type):
    def emit(g, m, x, prefix):
        if m.dim is None:
            raise NotImplementedError(f"ONNX export of {type(m).__name__} needs an explicit dim")
        return g.op(op_type, [x], axis=int(m.dim))

    return emit


def _maxout(g, m, x, prefix):
    # (N, C*k, ...) -> (N, C, k, ...) -> max over the k pieces
    k = int(m.pieces)
    shape = g.op("Shape", [x])
    head = g.op("Slice", [shape, g.const(np.array([0], np.int64)), g.const(np.array([1], np.int64))])
    tail = g.op("Slice", [shape, g.const(np.array([2], np.int64)), g.const(np.array([2**62], np.int64))])
    split = g.op("Concat", [head, g.const(np.array([-1, k], np.int64)), tail], axis=0)
    return g.op("ReduceMax", [g.op("Reshape", [x, split])], axes=[2], keepdims=0)


def _emitters():
    from . import nn

    table = {
        nn.Linear: _linear, nn.Conv1d: _conv, nn.Conv2d: _conv, nn.MaxPool1d: _max_pool(1),
        nn.MaxPool2d: _max_pool(2), nn.AvgPool2d: _avg_pool, nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
        nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm, nn.LayerNorm: _layer_norm,
        nn.Dropout: _identity, nn.Dropout2d: _identity, nn.Identity: _identity, nn.Flatten: _flatten,
        nn.ReLU: _unary("Relu"), nn.Sigmoid: _unary("Sigmoid"), nn.Tanh: _unary("Tanh"),
        nn.ReLU6: _clip(0.0, 6.0), nn.Hardtanh: _clip(None, None), nn.LeakyReLU: _leaky_relu, nn.ELU: _elu,
        nn.SELU: _unary("Selu", alpha=1.6732632423543772, gamma=1.0507009873554805), nn.GELU: _gelu,
        nn.SiLU: _silu, nn.Softplus: _softplus, nn.Softmax: _softmax("Softmax"),
        nn.LogSoftmax: _softmax("LogSoftmax"), nn.Maxout: _maxout,
    }
    for name, emit in _extra_emitters().items():
        cls = getattr(nn, name, None)
        if cls is not None:
            table[cls] = emit
    return table


def _extra_emitters():
    """Layers whose export lives with them (recurrent ones): name -> emitter, looked up lazily."""
    try:
        from ._onnx_recurrent import EMITTERS
    except ImportError:
        return {}
    return EMITTERS


def _emit(g, table, module, x, prefix):
    from . import nn

    if callable(getattr(type(module), "onnx_export", None)):  # the model says how it exports (custom forward)
        return module.onnx_export(g, x, prefix)
    if isinstance(module, nn.Sequential):
        for name, child in module._modules.items():
            x = _emit(g, table, child, x, f"{prefix}{name}.")
        return x
    for cls in type(module).__mro__:
        if cls in table:
            return table[cls](g, module, x, prefix)
    raise NotImplementedError(
        f"ONNX export does not know how to export {type(module).__name__} (at '{prefix.rstrip('.') or 'model'}'); "
        "supported: Sequential containers of " + ", ".join(sorted(c.__name__ for c in table)) +
        ", and modules with an onnx_export(g, x, prefix) method (see ember.onnx's docstring)")


def _leaves(value):
    """A forward's result as a flat list: recurrent layers return (output, h_n) or (output, (h_n, c_n))."""
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _default_dynamic_axes(model, x):
    """{0: 'batch'}, except where the input goes straight into a recurrent layer: there the batch
    axis is 1 unless batch_first, and the sequence length varies too."""
    from . import nn

    first = model
    while isinstance(first, nn.Sequential) and len(first):
        first = first[0]
    if isinstance(first, nn.RNNBase) and len(x.shape) in (2, 3):
        if len(x.shape) == 2:
            return {0: "sequence"}
        return {0: "batch", 1: "sequence"} if first.batch_first else {0: "sequence", 1: "batch"}
    return {0: "batch"}


def _output_dims(model, x, axes, outs):
    """The outputs' declared shapes: an output dimension is symbolic when it follows a dynamic input
    axis, found by running the model once more with that axis one longer (measured, not guessed
    from equal sizes, so a time-major LSTM's h_n keeps its fixed first dim)."""
    from . import tensor
    from .autograd import no_grad

    dims = [list(o.shape) for o in outs]
    base = x.detach().numpy()
    for axis, name in axes.items():
        grown = np.concatenate([base, np.take(base, [-1], axis=axis)], axis=axis)
        with no_grad():
            probe = _leaves(model(tensor(grown)))
        for d, before, after in zip(dims, outs, probe):
            for i, (n0, n1) in enumerate(zip(before.shape, after.shape)):
                if n0 != n1:  # two input axes moving one output dim (a flatten): leave it unnamed
                    d[i] = name if isinstance(d[i], int) else None
    return dims


def _output_names(output_name, model, n):
    from . import nn

    if not isinstance(output_name, str):
        names = list(output_name)
        if len(names) != n:
            raise ValueError(f"output_name names {len(names)} outputs, but the model returns {n}")
        return names
    if n == 1:
        return [output_name]
    if isinstance(model, nn.RNNBase):  # torch's names for (output, h_n[, c_n])
        return [output_name, "h_n", "c_n"][:n]
    return [output_name] + [f"{output_name}_{i}" for i in range(1, n)]


def export(model, example_input, path, input_name="input", output_name="output", dynamic_batch=True,
           opset=OPSET, dynamic_axes=None):
    """Writes `model` (in eval mode) as an ONNX file at `path` and returns the onnx.ModelProto.

    example_input fixes the input's shape and dtype. With dynamic_batch, its batch axis (the first;
    the second for a time-major recurrent layer, whose sequence axis is dynamic too) becomes
    symbolic; dynamic_axes ({axis: name}) chooses them instead, and the output dimensions that
    follow them are found by running the model. A model returning a tuple (a bare LSTM: output,
    h_n, c_n) gets one graph output per tensor; output_name may be a list naming each. The graph
    is checked with onnx.checker before it is written; the file is written atomically."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("ember.onnx.export needs the onnx package: pip install 'ember[onnx]'") from None
    from . import Tensor, tensor
    from .io.files import atomic_write_bytes, check_writable_path

    path = check_writable_path(path)
    x = example_input if isinstance(example_input, Tensor) else tensor(example_input)
    if x.dtype.name != "float32":
        raise TypeError(f"ONNX export expects a float32 example input, got {x.dtype}")
    if dynamic_axes is None:
        dynamic_axes = _default_dynamic_axes(model, x) if dynamic_batch and x.shape else {}
    if any(not -len(x.shape) <= int(a) < len(x.shape) for a in dynamic_axes):
        raise ValueError(f"dynamic_axes {dynamic_axes} do not fit the {len(x.shape)}-D example input")
    dynamic_axes = {int(a) % len(x.shape): name for a, name in dynamic_axes.items()}
    was_training = model.training
    model.eval()
    input_shapes = {}

    def record(module, args):  # what each module receives, for emitters that depend on the rank
        input_shapes[id(module)] = tuple(args[0].shape) if args and isinstance(args[0], Tensor) else None

    handles = [m.register_forward_pre_hook(record) for m in model.modules()]
    try:
        from .autograd import no_grad

        try:
            with no_grad():
                outs = _leaves(model(x))  # the outputs' shapes, and a check that forward runs
        finally:
            for h in handles:
                h.remove()
        out_dims = _output_dims(model, x, dynamic_axes, outs)
        g = _Graph(helper, numpy_helper, _emitters(), input_shapes)
        values = _leaves(g.emit(model, input_name, ""))
        if len(values) != len(outs):
            raise RuntimeError(f"ONNX export built {len(values)} outputs where the model returns {len(outs)}")
        out_names = _output_names(output_name, model, len(outs))
        for value, name in zip(values, out_names):
            g.nodes.append(helper.make_node("Identity", [value], [name]))
    finally:
        model.train(was_training)
    dims = [dynamic_axes.get(i, n) for i, n in enumerate(x.shape)]
    graph = helper.make_graph(
        g.nodes, type(model).__name__,
        [helper.make_tensor_value_info(input_name, onnx.TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, d) for name, d in zip(out_names, out_dims)],
        g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="ember")
    proto.ir_version = min(proto.ir_version, 9)  # readable by onnxruntime releases of the last two years
    onnx.checker.check_model(proto, full_check=True)
    atomic_write_bytes(path, proto.SerializeToString())
    return proto
