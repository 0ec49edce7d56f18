"""ONNX export of nn.RNN / nn.LSTM / nn.GRU (picked up by ember.onnx through EMITTERS).

Each layer becomes one ONNX RNN/LSTM/GRU node (opset 14+ semantics). What differs from ember's
(torch's) layout, and is converted here:
- gate order inside the stacked weights: torch LSTM i,f,g,o -> ONNX i,o,f,c; torch GRU r,z,n -> ONNX z,r,h;
- W [dirs, gates*H, in], R [dirs, gates*H, H], B [dirs, 2*gates*H] = (input bias, hidden bias), the
  reverse direction stacked after the forward one;
- torch's GRU applies the hidden bias inside r * (W_hn h + b_hn): ONNX's linear_before_reset=1;
- Y is [seq, dirs, batch, H]: the next layer, and the module's output, want [seq, batch, dirs*H];
- h_n / c_n are [layers*dirs, batch, H]: each layer's Y_h / Y_c concatenated.
Initial states are zeros (ONNX's default when initial_h/initial_c are absent), as in forward(x).
batch_first goes through Transposes: onnxruntime's CPU kernels do not implement layout=1.
"""
from __future__ import annotations

import numpy as np

# for each ONNX gate block, the torch gate block it comes from
_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}
_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _axes(g, *axes):
    return g.const(np.array(axes, np.int64))


def _recurrent(g, m, x, prefix):
    if getattr(m, "proj_size", 0):
        raise NotImplementedError(f"ONNX export of {type(m).__name__} with proj_size={m.proj_size} is not supported "
                                  "(ONNX's LSTM has no projection)")
    shape = g.input_shape(m)
    if shape is None or len(shape) not in (2, 3):
        raise ValueError(f"ONNX export of {type(m).__name__} (at '{prefix.rstrip('.') or 'model'}') needs a 2-D "
                         f"(unbatched) or 3-D input tensor, got {shape}")
    unbatched = len(shape) == 2
    hidden, dirs, order = m.hidden_size, 2 if m.bidirectional else 1, _ORDER[m.mode]
    attrs = dict(hidden_size=hidden, direction="bidirectional" if dirs == 2 else "forward")
    if m.mode == "GRU":
        attrs["linear_before_reset"] = 1
    if m.mode == "RNN_RELU":
        attrs["activations"] = ["Relu"] * dirs  # one per direction
    n_states = 2 if m.mode == "LSTM" else 1

    if unbatched:  # [seq, in] -> [seq, 1, in]
        x = g.op("Unsqueeze", [x, _axes(g, 1)])
    elif m.batch_first:
        x = g.op("Transpose", [x], perm=[1, 0, 2])

    def stacked(name, k):  # [dirs, gates*H, ...] in ONNX's gate order
        mats = []
        for suffix in [f"_l{k}", f"_l{k}_reverse"][:dirs]:
            w = getattr(m, name + suffix).detach().numpy()
            mats.append(np.concatenate([w[i * hidden:(i + 1) * hidden] for i in order]))
        return np.stack(mats)

    states = [[] for _ in range(n_states)]
    for k in range(m.num_layers):  # dropout between layers is the identity in eval mode
        inputs = [x, g.const(stacked("weight_ih", k), f"{prefix}weight_ih_l{k}.W"),
                  g.const(stacked("weight_hh", k), f"{prefix}weight_hh_l{k}.R")]
        if m.bias:
            b = np.concatenate([stacked("bias_ih", k), stacked("bias_hh", k)], axis=1)
            inputs.append(g.const(b, f"{prefix}bias_l{k}.B"))
        y, *layer_states = g.op(_OP[m.mode], inputs, hint=f"{_OP[m.mode].lower()}_l{k}", outputs=1 + n_states,
                                **attrs)
        if dirs == 1:  # [seq, 1, batch, H] -> [seq, batch, H]
            x = g.op("Squeeze", [y, _axes(g, 1)])
        else:  # [seq, 2, batch, H] -> [seq, batch, 2, H] -> [seq, batch, 2H] (forward half first, as torch)
            x = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]), _axes(g, 0, 0, dirs * hidden)])
        for acc, s in zip(states, layer_states):
            acc.append(s)
    states = [acc[0] if len(acc) == 1 else g.op("Concat", acc, axis=0) for acc in states]

    if unbatched:
        x = g.op("Squeeze", [x, _axes(g, 1)])
        states = [g.op("Squeeze", [s, _axes(g, 1)]) for s in states]
    elif m.batch_first:  # output goes back to [batch, seq, ...]; h_n/c_n stay [layers*dirs, batch, H]
        x = g.op("Transpose", [x], perm=[1, 0, 2])
    return (x, tuple(states)) if m.mode == "LSTM" else (x, states[0])


EMITTERS = {"RNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent}
