// Recurrent ops: argument checks, then one kernels::rnn_forward per layer and direction, whose
// backward (one node for the whole sequence) is kernels::rnn_backward. Stacks of layers,
// bidirectional layers, dropout between layers and the single-step cells are compositions of
// that one op.
#include "ember/recurrent.h"

#include "ember/normalization.h"
#include "ember/ops.h"
#include "kernels/cpu/recurrent.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

kernels::RnnMode kernel_mode(RnnMode m) {
  switch (m) {
    case RnnMode::RnnTanh: return kernels::RnnMode::RnnTanh;
    case RnnMode::RnnRelu: return kernels::RnnMode::RnnRelu;
    case RnnMode::Lstm: return kernels::RnnMode::Lstm;
    case RnnMode::Gru: return kernels::RnnMode::Gru;
  }
  throw ValueError("unknown RNN mode");
}

const char* mode_name(RnnMode m) {
  switch (m) {
    case RnnMode::RnnTanh: return "RNN_TANH";
    case RnnMode::RnnRelu: return "RNN_RELU";
    case RnnMode::Lstm: return "LSTM";
    case RnnMode::Gru: return "GRU";
  }
  return "?";
}

void check_same_dtype(const Tensor& ref, const Tensor& t, const char* what, RnnMode m) {
  if (!t.defined()) return;
  EMBER_CHECK(t.dtype() == ref.dtype(), TypeError, mode_name(m), ": ", what, " has dtype ", dtype_name(t.dtype()),
              " but input has dtype ", dtype_name(ref.dtype()));
}

// The shapes of one layer's arguments; returns H.
int64_t check_layer(RnnMode m, const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                    const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, bool batch_first) {
  const char* op = mode_name(m);
  EMBER_CHECK(input.defined() && w_ih.defined() && w_hh.defined() && h0.defined(), ValueError, op,
              ": input, h0, weight_ih and weight_hh must be tensors");
  EMBER_CHECK(is_floating(input.dtype()), TypeError, op, ": expected a floating-point input, got ",
              dtype_name(input.dtype()));
  for (auto [t, what] : {std::pair{&h0, "h0"}, {&c0, "c0"}, {&w_ih, "weight_ih"}, {&w_hh, "weight_hh"},
                         {&b_ih, "bias_ih"}, {&b_hh, "bias_hh"}})
    check_same_dtype(input, *t, what, m);
  EMBER_CHECK(input.dim() == 3, ValueError, op, ": expected a 3-D input ", batch_first ? "[B, T, I]" : "[T, B, I]",
              ", got shape ", input.shape());
  const int64_t G = kernels::rnn_gates(kernel_mode(m));
  EMBER_CHECK(w_hh.dim() == 2 && w_hh.size(1) >= 1 && w_hh.size(0) == G * w_hh.size(1), ValueError, op,
              ": expected weight_hh of shape [", G, "*H, H] with H >= 1, got ", w_hh.shape());
  const int64_t H = w_hh.size(1), I = input.size(2);
  const int64_t T = input.size(batch_first ? 1 : 0), B = input.size(batch_first ? 0 : 1);
  EMBER_CHECK(T >= 1, ValueError, op, ": expected a sequence length of at least 1, got input of shape ",
              input.shape());
  EMBER_CHECK(w_ih.dim() == 2 && w_ih.size(0) == G * H && w_ih.size(1) == I, ValueError, op,
              ": expected weight_ih of shape [", G * H, ", ", I, "] for input of shape ", input.shape(),
              " and hidden size ", H, ", got ", w_ih.shape());
  for (auto [t, what] : {std::pair{&b_ih, "bias_ih"}, {&b_hh, "bias_hh"}})
    EMBER_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == G * H), ValueError, op, ": expected ", what,
                " of shape [", G * H, "], got ", t->shape());
  EMBER_CHECK(h0.dim() == 2 && h0.size(0) == B && h0.size(1) == H, ValueError, op, ": expected hidden state of shape [",
              B, ", ", H, "], got ", h0.shape());
  if (m == RnnMode::Lstm) {
    EMBER_CHECK(c0.defined(), ValueError, op, ": c0 must be a tensor");
    EMBER_CHECK(c0.dim() == 2 && c0.size(0) == B && c0.size(1) == H, ValueError, op,
                ": expected cell state of shape [", B, ", ", H, "], got ", c0.shape());
  }
  return H;
}

Tensor contiguous_or_undefined(const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); }

template <typename T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

RnnMode rnn_mode(const std::string& name) {
  if (name == "RNN_TANH") return RnnMode::RnnTanh;
  if (name == "RNN_RELU") return RnnMode::RnnRelu;
  if (name == "LSTM") return RnnMode::Lstm;
  if (name == "GRU") return RnnMode::Gru;
  throw ValueError(str("unknown RNN mode '", name, "' (expected RNN_TANH, RNN_RELU, LSTM or GRU)"));
}

std::vector<Tensor> rnn_layer(RnnMode mode, const Tensor& input, const Tensor& h0, const Tensor& c0,
                              const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                              bool batch_first, bool reverse) {
  const int64_t H = check_layer(mode, input, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_first);
  const bool lstm = mode == RnnMode::Lstm;
  kernels::RnnGeometry g;
  g.mode = kernel_mode(mode);
  g.T = input.size(batch_first ? 1 : 0), g.B = input.size(batch_first ? 0 : 1), g.I = input.size(2), g.H = H;
  g.t_stride = batch_first ? 1 : g.B;
  g.b_stride = batch_first ? g.T : 1;
  g.reverse = reverse;
  const DType dt = input.dtype();

  Tensor x = input.contiguous(), h = h0.contiguous(), c = lstm ? c0.contiguous() : Tensor();
  Tensor wi = w_ih.contiguous(), wh = w_hh.contiguous();
  Tensor bi = contiguous_or_undefined(b_ih), bh = contiguous_or_undefined(b_hh);
  Tensor y = empty({input.size(0), input.size(1), H}, dt);
  Tensor h_n = empty({g.B, H}, dt), c_n = lstm ? empty({g.B, H}, dt) : Tensor();
  const int64_t sw = kernels::rnn_saved_width(g.mode, H);
  Tensor saved = sw ? empty({g.rows() * sw}, dt) : Tensor();
  Tensor scratch = empty({kernels::rnn_forward_scratch(g.mode, g.B, H)}, dt);
  dispatch_floating(dt, mode_name(mode), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::rnn_forward<T>(g, x.data<T>(), h.data<T>(), ptr_or_null<T>(c), wi.data<T>(), wh.data<T>(),
                            ptr_or_null<T>(bi), ptr_or_null<T>(bh), y.data<T>(), h_n.data<T>(), ptr_or_null<T>(c_n),
                            ptr_or_null<T>(saved), scratch.data<T>());
  });

  std::vector<Tensor> inputs{input, h0, lstm ? c0 : Tensor(), w_ih, w_hh, b_ih, b_hh};
  std::vector<Tensor*> outputs{&y, &h_n};
  if (lstm) outputs.push_back(&c_n);
  if (!autograd::any_requires_grad(inputs)) return {y, h_n, c_n};
  const bool need_x = input.requires_grad(), has_bias_ih = b_ih.defined(), has_bias_hh = b_hh.defined();
  SavedTensor sx(x), sh(h), sc(c), swi(wi), swh(wh), sy(y);
  ops::record_list(lstm ? "LstmBackward" : (mode == RnnMode::Gru ? "GruBackward" : "RnnBackward"), inputs, outputs,
                   [=](const Node& n, TensorList& grads) {
    auto grad_or_zeros = [&](size_t i, const Shape& s) {
      return i < grads.size() && grads[i].defined() ? grads[i].to(dt).contiguous() : zeros(s, dt);
    };
    Tensor dy = grad_or_zeros(0, {g.rows(), H}), dh_n = grad_or_zeros(1, {g.B, H});
    Tensor dc_n = lstm ? grad_or_zeros(2, {g.B, H}) : Tensor();
    Tensor x_ = sx.unpack(&n), h_ = sh.unpack(&n), c_ = sc.defined() ? sc.unpack(&n) : Tensor();
    Tensor wi_ = swi.unpack(&n), wh_ = swh.unpack(&n), y_ = sy.unpack(&n);
    TensorList r(7);
    r[0] = need_x ? empty(x_.shape(), dt) : Tensor();
    r[1] = empty({g.B, H}, dt);
    if (lstm) r[2] = empty({g.B, H}, dt);
    r[3] = empty(wi_.shape(), dt);
    r[4] = empty(wh_.shape(), dt);
    if (has_bias_ih) r[5] = empty({wh_.size(0)}, dt);
    if (has_bias_hh) r[6] = empty({wh_.size(0)}, dt);
    Tensor scratch_ = empty({kernels::rnn_backward_scratch(g.mode, g.T, g.B, H)}, dt);
    dispatch_floating(dt, "rnn backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::rnn_backward<T>(g, x_.data<T>(), h_.data<T>(), ptr_or_null<T>(c_), wi_.data<T>(), wh_.data<T>(),
                               y_.data<T>(), ptr_or_null<T>(saved), dy.data<T>(), dh_n.data<T>(),
                               ptr_or_null<T>(dc_n), ptr_or_null<T>(r[0]), r[3].data<T>(), r[4].data<T>(),
                               ptr_or_null<T>(r[5]), ptr_or_null<T>(r[6]), r[1].data<T>(), ptr_or_null<T>(r[2]),
                               scratch_.data<T>());
    });
    return r;
  });
  return {y, h_n, c_n};
}

std::vector<Tensor> rnn(RnnMode mode, const Tensor& input, const Tensor& hx, const Tensor& cx,
                        const std::vector<Tensor>& params, bool has_biases, int64_t num_layers, double dropout_p,
                        bool train, bool bidirectional, bool batch_first) {
  const char* op = mode_name(mode);
  const bool lstm = mode == RnnMode::Lstm;
  EMBER_CHECK(input.defined(), ValueError, op, ": input must be a tensor");
  EMBER_CHECK(input.dim() == 2 || input.dim() == 3, ValueError, op, ": expected a 2-D (unbatched) or 3-D input, got ",
              input.dim(), "-D input of shape ", input.shape());
  EMBER_CHECK(num_layers >= 1, ValueError, op, ": num_layers must be at least 1, got ", num_layers);
  EMBER_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, ValueError, op,
              ": dropout should be a number in range [0, 1], got ", dropout_p);
  const int64_t D = bidirectional ? 2 : 1, per = has_biases ? 4 : 2;
  EMBER_CHECK(static_cast<int64_t>(params.size()) == num_layers * D * per, ValueError, op, ": expected ",
              num_layers * D * per, " parameter tensors (", num_layers, " layers x ", D, " directions x ", per,
              "), got ", params.size());
  for (const Tensor& p : params) EMBER_CHECK(p.defined(), ValueError, op, ": parameters must be tensors");
  EMBER_CHECK(params[1].dim() == 2, ValueError, op, ": expected a 2-D weight_hh_l0, got shape ", params[1].shape());

  if (input.dim() == 2) {  // unbatched: a batch of one, as torch
    const int64_t bdim = batch_first ? 0 : 1;
    for (const Tensor* s : {&hx, &cx})
      EMBER_CHECK(!s->defined() || s->dim() == 2, ValueError, op,
                  ": for unbatched 2-D input, hx and cx should also be 2-D but got a ", s->dim(), "-D tensor");
    std::vector<Tensor> r = rnn(mode, input.unsqueeze(bdim), hx.defined() ? hx.unsqueeze(1) : hx,
                                cx.defined() ? cx.unsqueeze(1) : cx, params, has_biases, num_layers, dropout_p, train,
                                bidirectional, batch_first);
    r[0] = r[0].squeeze(bdim);
    r[1] = r[1].squeeze(1);
    if (lstm) r[2] = r[2].squeeze(1);
    return r;
  }

  const int64_t H = params[1].size(1), B = input.size(batch_first ? 0 : 1);
  const Shape state{num_layers * D, B, H};
  for (auto [s, what] : {std::pair{&hx, "hidden"}, {&cx, "cell"}}) {
    if (s == &cx && !lstm) continue;
    EMBER_CHECK(!s->defined() || s->shape() == state, ValueError, op, ": expected ", what, " state of shape ", state,
                ", got ", s->shape());
  }
  Tensor h0 = hx.defined() ? hx : zeros(state, input.dtype());
  Tensor c0 = lstm ? (cx.defined() ? cx : zeros(state, input.dtype())) : Tensor();

  Tensor layer_input = input;
  std::vector<Tensor> h_n, c_n;
  for (int64_t l = 0; l < num_layers; ++l) {
    std::vector<Tensor> outs;
    for (int64_t d = 0; d < D; ++d) {
      const int64_t k = l * D + d;
      const Tensor* p = &params[k * per];
      std::vector<Tensor> r =
          rnn_layer(mode, layer_input, h0.select(0, k), lstm ? c0.select(0, k) : Tensor(), p[0], p[1],
                    has_biases ? p[2] : Tensor(), has_biases ? p[3] : Tensor(), batch_first, d == 1);
      outs.push_back(r[0]);
      h_n.push_back(r[1]);
      if (lstm) c_n.push_back(r[2]);
    }
    layer_input = D == 2 ? cat(outs, 2) : outs[0];
    if (train && dropout_p > 0.0 && l + 1 < num_layers) layer_input = dropout(layer_input, dropout_p, true);
  }
  return {layer_input, stack(h_n, 0), lstm ? stack(c_n, 0) : Tensor()};
}

namespace {

// A cell is a one-step layer: input [B, I] becomes [1, B, I].
std::vector<Tensor> cell(RnnMode mode, const char* name, const Tensor& input, const Tensor& hx, const Tensor& cx,
                         const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  EMBER_CHECK(input.defined() && w_hh.defined(), ValueError, name, ": input and weight_hh must be tensors");
  EMBER_CHECK(input.dim() == 1 || input.dim() == 2, ValueError, name, ": expected input to be 1-D or 2-D, got ",
              input.dim(), "-D tensor of shape ", input.shape());
  if (input.dim() == 1) {
    for (const Tensor* s : {&hx, &cx})
      EMBER_CHECK(!s->defined() || s->dim() == 1, ValueError, name,
                  ": for unbatched 1-D input, the states should also be 1-D but got shape ", s->shape());
    std::vector<Tensor> r = cell(mode, name, input.unsqueeze(0), hx.defined() ? hx.unsqueeze(0) : hx,
                                 cx.defined() ? cx.unsqueeze(0) : cx, w_ih, w_hh, b_ih, b_hh);
    for (Tensor& t : r)
      if (t.defined()) t = t.squeeze(0);
    return r;
  }
  EMBER_CHECK(w_hh.dim() == 2, ValueError, name, ": expected a 2-D weight_hh, got shape ", w_hh.shape());
  const Shape state{input.size(0), w_hh.size(1)};
  for (const Tensor* s : {&hx, &cx})
    EMBER_CHECK(!s->defined() || s->shape() == state, ValueError, name, ": expected states of shape ", state,
                " for input of shape ", input.shape(), ", got ", s->shape());
  Tensor h0 = hx.defined() ? hx : zeros(state, input.dtype());
  Tensor c0 = mode == RnnMode::Lstm ? (cx.defined() ? cx : zeros(state, input.dtype())) : Tensor();
  std::vector<Tensor> r = rnn_layer(mode, input.unsqueeze(0), h0, c0, w_ih, w_hh, b_ih, b_hh, false, false);
  return {r[1], r[2]};
}

}  // namespace

Tensor rnn_tanh_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return cell(RnnMode::RnnTanh, "rnn_tanh_cell", input, hx, Tensor(), w_ih, w_hh, b_ih, b_hh)[0];
}

Tensor rnn_relu_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return cell(RnnMode::RnnRelu, "rnn_relu_cell", input, hx, Tensor(), w_ih, w_hh, b_ih, b_hh)[0];
}

std::vector<Tensor> lstm_cell(const Tensor& input, const Tensor& hx, const Tensor& cx, const Tensor& w_ih,
                              const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  return cell(RnnMode::Lstm, "lstm_cell", input, hx, cx, w_ih, w_hh, b_ih, b_hh);
}

Tensor gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  return cell(RnnMode::Gru, "gru_cell", input, hx, Tensor(), w_ih, w_hh, b_ih, b_hh)[0];
}

}  // namespace ember::functional
