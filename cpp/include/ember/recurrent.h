// Recurrent layers as ops with backpropagation through time: Elman RNN (tanh / relu), LSTM and
// GRU, with torch's gate layout (LSTM i, f, g, o; GRU r, z, n with b_hn inside r * (...)) and
// equations, so weights copied from torch.nn.RNN / LSTM / GRU give the same numbers.
//
// Each layer in each direction is one autograd node for the whole sequence: its backward walks
// the steps in reverse inside C++, so a 1,000-step sequence costs one node, not thousands.
#pragma once

#include <string>
#include <vector>

#include "ember/tensor.h"

namespace ember::functional {

// "RNN_TANH", "RNN_RELU", "LSTM" or "GRU" (torch's mode names).
enum class RnnMode { RnnTanh, RnnRelu, Lstm, Gru };
RnnMode rnn_mode(const std::string& name);

// One layer, one direction. input [T, B, I] ([B, T, I] with batch_first); h0 [B, H];
// c0 [B, H] for LSTM (ignored otherwise); w_ih [G*H, I], w_hh [G*H, H]; b_ih, b_hh [G*H] or
// undefined (G = 4 LSTM, 3 GRU, 1 RNN). reverse walks the sequence from its end (the second
// direction of a bidirectional layer). Returns {output (input's layout, H features), h_n, c_n}
// (c_n undefined unless LSTM).
std::vector<Tensor> rnn_layer(RnnMode mode, const Tensor& input, const Tensor& h0, const Tensor& c0,
                              const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                              bool batch_first = false, bool reverse = false);

// A stack of layers, torch.nn.RNN / LSTM / GRU's forward. input [T, B, I] ([B, T, I] with
// batch_first) or unbatched [T, I]; hx [L*D, B, H] (or [L*D, H] unbatched), undefined = zeros;
// cx likewise for LSTM. params: per layer, per direction, w_ih, w_hh and (has_biases) b_ih,
// b_hh - torch's _flat_weights order. dropout (probability, applied to the outputs of every
// layer but the last, only when train) as torch. Returns {output, h_n, c_n (LSTM only)}.
std::vector<Tensor> rnn(RnnMode mode, const Tensor& input, const Tensor& hx, const Tensor& cx,
                        const std::vector<Tensor>& params, bool has_biases, int64_t num_layers, double dropout,
                        bool train, bool bidirectional, bool batch_first);

// One step: input [B, I] or [I]; hx [B, H] or [H] (undefined = zeros). torch's RNNCell /
// LSTMCell / GRUCell.
Tensor rnn_tanh_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
Tensor rnn_relu_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
// Returns {h', c'}.
std::vector<Tensor> lstm_cell(const Tensor& input, const Tensor& hx, const Tensor& cx, const Tensor& w_ih,
                              const Tensor& w_hh, const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
Tensor gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());

}  // namespace ember::functional
