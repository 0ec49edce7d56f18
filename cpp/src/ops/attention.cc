// Attention as a composition of ops that carry their own backward (matmul, softmax, dropout,
// linear, where): the gradients come from those nodes, the checks and the wiring live here.
#include "ember/attention.h"

#include <cmath>
#include <limits>

#include "ember/normalization.h"
#include "ember/activation.h"
#include "ember/ops.h"

namespace ember::functional {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void check_floating_same(const Tensor& ref, const Tensor& t, const char* op, const char* what) {
  EMBER_CHECK(t.defined(), ValueError, op, ": ", what, " must be a tensor");
  EMBER_CHECK(is_floating(t.dtype()), TypeError, op, ": expected a floating-point ", what, ", got ",
              dtype_name(t.dtype()));
  EMBER_CHECK(t.dtype() == ref.dtype(), TypeError, op, ": ", what, " has dtype ", dtype_name(t.dtype()),
              " but query has dtype ", dtype_name(ref.dtype()));
}

// A bool mask (true = blocked) or float mask as an additive float mask.
Tensor additive_mask(const Tensor& mask, DType dt, const char* op, const char* what) {
  if (!mask.defined()) return mask;
  if (mask.dtype() == DType::Bool) return where(mask, full({}, kNegInf, dt), zeros({}, dt));
  EMBER_CHECK(mask.dtype() == dt, TypeError, op, ": ", what, " must be bool or ", dtype_name(dt), ", got ",
              dtype_name(mask.dtype()));
  return mask;
}

}  // namespace

Tensor causal_mask(int64_t L, int64_t S) {
  EMBER_CHECK(L >= 0 && S >= 0, ValueError, "causal_mask: sizes must be non-negative, got ", L, " and ", S);
  Tensor m = empty({L, S}, DType::Bool);
  bool* p = m.data<bool>();
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < S; ++j) p[i * S + j] = j <= i;
  return m;
}

Tensor sinusoidal_positional_encoding(int64_t length, int64_t dim, DType dtype) {
  EMBER_CHECK(length >= 0 && dim >= 1, ValueError, "sinusoidal_positional_encoding: expected length >= 0 and dim >= 1, got ",
              length, " and ", dim);
  EMBER_CHECK(is_floating(dtype), TypeError, "sinusoidal_positional_encoding: dtype must be floating point");
  Tensor t = empty({length, dim}, DType::Float64);
  double* p = t.data<double>();
  for (int64_t pos = 0; pos < length; ++pos)
    for (int64_t c = 0; c < dim; ++c) {
      const double freq = std::exp(-std::log(10000.0) * double(c - c % 2) / double(dim));
      p[pos * dim + c] = c % 2 ? std::cos(double(pos) * freq) : std::sin(double(pos) * freq);
    }
  return t.to(dtype);
}

std::pair<Tensor, Tensor> scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const Tensor& attn_mask, double dropout_p, bool is_causal,
                                                       std::optional<double> scale, bool need_weights) {
  const char* op = "scaled_dot_product_attention";
  EMBER_CHECK(query.defined(), ValueError, op, ": query must be a tensor");
  check_floating_same(query, query, op, "query");
  check_floating_same(query, key, op, "key");
  check_floating_same(query, value, op, "value");
  EMBER_CHECK(query.dim() >= 2 && key.dim() >= 2 && value.dim() >= 2, ValueError, op,
              ": query, key and value need at least 2 dims, got shapes ", query.shape(), ", ", key.shape(), ", ",
              value.shape());
  EMBER_CHECK(query.size(-1) == key.size(-1), ValueError, op, ": query and key must have the same last dim, got ",
              query.shape(), " and ", key.shape());
  EMBER_CHECK(key.size(-2) == value.size(-2), ValueError, op, ": key and value must have the same length, got ",
              key.shape(), " and ", value.shape());
  EMBER_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, ValueError, op, ": dropout_p must be in [0, 1], got ", dropout_p);
  EMBER_CHECK(!(is_causal && attn_mask.defined()), ValueError, op,
              ": explicit attn_mask should not be set when is_causal=True");
  const int64_t L = query.size(-2), S = key.size(-2);
  const double s = scale ? *scale : 1.0 / std::sqrt(double(query.size(-1)));
  Tensor scores = matmul(mul(query, s), key.transpose(-2, -1));
  if (is_causal) scores = masked_fill(scores, logical_not(causal_mask(L, S)), kNegInf);
  if (attn_mask.defined()) {
    if (attn_mask.dtype() == DType::Bool) {
      scores = masked_fill(scores, logical_not(attn_mask), kNegInf);
    } else {
      EMBER_CHECK(attn_mask.dtype() == query.dtype(), TypeError, op, ": attn_mask must be bool or ",
                  dtype_name(query.dtype()), ", got ", dtype_name(attn_mask.dtype()));
      scores = add(scores, attn_mask);
    }
  }
  Tensor w = softmax(scores, -1);
  if (dropout_p > 0.0) w = dropout(w, dropout_p, true);
  return {matmul(w, value), need_weights ? w : Tensor()};
}

std::pair<Tensor, Tensor> multi_head_attention_forward(
    const Tensor& query, const Tensor& key, const Tensor& value, int64_t num_heads, const Tensor& in_proj_weight,
    const Tensor& in_proj_bias, const Tensor& out_proj_weight, const Tensor& out_proj_bias,
    const Tensor& key_padding_mask, const Tensor& attn_mask, bool need_weights, bool average_attn_weights,
    double dropout_p, bool training, bool batch_first, bool is_causal, const Tensor& q_proj_weight,
    const Tensor& k_proj_weight, const Tensor& v_proj_weight) {
  const char* op = "multi_head_attention_forward";
  EMBER_CHECK(query.defined() && key.defined() && value.defined(), ValueError, op,
              ": query, key and value must be tensors");
  check_floating_same(query, key, op, "key");
  check_floating_same(query, value, op, "value");
  EMBER_CHECK(query.dim() == 2 || query.dim() == 3, ValueError, op, ": expected a 2-D (unbatched) or 3-D query, got ",
              query.shape());
  EMBER_CHECK(key.dim() == query.dim() && value.dim() == query.dim(), ValueError, op,
              ": query, key and value must have the same number of dims, got ", query.shape(), ", ", key.shape(),
              ", ", value.shape());
  if (query.dim() == 2) {  // unbatched: a batch of one
    const int64_t bd = batch_first ? 0 : 1;
    EMBER_CHECK(!key_padding_mask.defined() || key_padding_mask.dim() == 1, ValueError, op,
                ": for unbatched query, key_padding_mask must be 1-D, got ", key_padding_mask.shape());
    auto r = multi_head_attention_forward(
        query.unsqueeze(bd), key.unsqueeze(bd), value.unsqueeze(bd), num_heads, in_proj_weight, in_proj_bias,
        out_proj_weight, out_proj_bias, key_padding_mask.defined() ? key_padding_mask.unsqueeze(0) : Tensor(),
        attn_mask, need_weights, average_attn_weights,
        dropout_p, training, batch_first, is_causal, q_proj_weight, k_proj_weight, v_proj_weight);
    return {r.first.squeeze(bd), r.second.defined() ? r.second.squeeze(0) : r.second};
  }
  EMBER_CHECK(num_heads >= 1, ValueError, op, ": num_heads must be positive, got ", num_heads);
  Tensor q = batch_first ? query.transpose(0, 1) : query;  // [L, N, E]
  Tensor k = batch_first ? key.transpose(0, 1) : key;      // [S, N, kdim]
  Tensor v = batch_first ? value.transpose(0, 1) : value;  // [S, N, vdim]
  const int64_t L = q.size(0), N = q.size(1), E = q.size(2), S = k.size(0);
  EMBER_CHECK(E % num_heads == 0, ValueError, op, ": embed_dim (", E, ") must be divisible by num_heads (", num_heads,
              ")");
  EMBER_CHECK(k.size(1) == N && v.size(1) == N && v.size(0) == S, ValueError, op,
              ": key and value must match in batch and length, got query ", query.shape(), ", key ", key.shape(),
              ", value ", value.shape());
  const int64_t H = num_heads, hd = E / H;
  Tensor wq, wk, wv, bq, bk, bv;
  if (in_proj_weight.defined()) {
    EMBER_CHECK(in_proj_weight.dim() == 2 && in_proj_weight.size(0) == 3 * E && in_proj_weight.size(1) == E,
                ValueError, op, ": expected in_proj_weight of shape [", 3 * E, ", ", E, "], got ",
                in_proj_weight.shape());
    wq = in_proj_weight.slice(0, 0, E), wk = in_proj_weight.slice(0, E, 2 * E);
    wv = in_proj_weight.slice(0, 2 * E, 3 * E);
  } else {
    EMBER_CHECK(q_proj_weight.defined() && k_proj_weight.defined() && v_proj_weight.defined(), ValueError, op,
                ": in_proj_weight or all of q/k/v_proj_weight must be given");
    wq = q_proj_weight, wk = k_proj_weight, wv = v_proj_weight;
  }
  if (in_proj_bias.defined()) {
    EMBER_CHECK(in_proj_bias.dim() == 1 && in_proj_bias.size(0) == 3 * E, ValueError, op,
                ": expected in_proj_bias of shape [", 3 * E, "], got ", in_proj_bias.shape());
    bq = in_proj_bias.slice(0, 0, E), bk = in_proj_bias.slice(0, E, 2 * E), bv = in_proj_bias.slice(0, 2 * E, 3 * E);
  }
  EMBER_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, ValueError, op, ": dropout_p must be in [0, 1], got ", dropout_p);
  EMBER_CHECK(!is_causal || attn_mask.defined(), ValueError, op,
              ": need attn_mask if specifying the is_causal hint");

  // [len, N, E] -> [N*H, len, hd]: head h of batch n is row n*H + h
  auto heads = [&](const Tensor& t, int64_t len) { return t.reshape({len, N * H, hd}).transpose(0, 1); };
  Tensor qh = heads(linear(q, wq, bq), L), kh = heads(linear(k, wk, bk), S), vh = heads(linear(v, wv, bv), S);

  Tensor mask = additive_mask(attn_mask, q.dtype(), op, "attn_mask");
  if (mask.defined()) {
    const bool ok2 = mask.dim() == 2 && mask.size(0) == L && mask.size(1) == S;
    const bool ok3 = mask.dim() == 3 && mask.size(0) == N * H && mask.size(1) == L && mask.size(2) == S;
    EMBER_CHECK(ok2 || ok3, ValueError, op, ": expected attn_mask of shape [", L, ", ", S, "] or [", N * H, ", ", L,
                ", ", S, "], got ", attn_mask.shape());
  }
  if (key_padding_mask.defined()) {
    EMBER_CHECK(key_padding_mask.dim() == 2 && key_padding_mask.size(0) == N && key_padding_mask.size(1) == S,
                ValueError, op, ": expected key_padding_mask of shape [", N, ", ", S, "], got ",
                key_padding_mask.shape());
    Tensor kpm = additive_mask(key_padding_mask, q.dtype(), op, "key_padding_mask")
                     .reshape({N, 1, 1, S})
                     .expand({N, H, 1, S})
                     .reshape({N * H, 1, S});
    mask = mask.defined() ? add(mask, kpm) : kpm;
  }
  auto r = scaled_dot_product_attention(qh, kh, vh, mask, training ? dropout_p : 0.0, false, std::nullopt, need_weights);
  // [N*H, L, hd] -> [L, N, E]
  Tensor out = r.first.transpose(0, 1).reshape({L * N, E});
  out = linear(out, out_proj_weight, out_proj_bias).reshape({L, N, E});
  if (batch_first) out = out.transpose(0, 1);
  Tensor weights;
  if (need_weights) {
    weights = r.second.reshape({N, H, L, S});
    if (average_attn_weights) weights = mean(weights, {1});
  }
  return {out, weights};
}

}  // namespace ember::functional
