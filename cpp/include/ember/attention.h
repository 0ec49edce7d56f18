// Attention, with autograd: scaled dot-product attention and multi-head attention with
// torch.nn.functional's semantics and argument names, composed of the GEMM, softmax, dropout and
// linear ops (each with its own backward), plus the tables transformers use.
#pragma once

#include <optional>
#include <utility>

#include "ember/tensor.h"

namespace ember::functional {

// softmax(q kᵀ * scale + mask) v over q [..., L, E], k [..., S, E], v [..., S, Ev] (batch dims
// broadcast). attn_mask (broadcastable to [..., L, S]): bool, true = may attend (torch's sdpa
// convention), or float, added to the scores. is_causal: position i attends to j <= i (no
// attn_mask allowed with it). scale defaults to 1/sqrt(E). dropout_p applies to the attention
// weights. Returns {output [..., L, Ev], weights [..., L, S] (undefined unless need_weights)}.
std::pair<Tensor, Tensor> scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const Tensor& attn_mask = Tensor(), double dropout_p = 0.0,
                                                       bool is_causal = false,
                                                       std::optional<double> scale = std::nullopt,
                                                       bool need_weights = false);

// torch.nn.functional.multi_head_attention_forward. query [L, N, E] (or [N, L, E] with
// batch_first, or unbatched [L, E]); key/value [S, N, kdim/vdim]. Projections: in_proj_weight
// [3E, E] or, when undefined, the separate q/k/v_proj_weight; in_proj_bias [3E] or undefined;
// out_proj [E, E] (+ bias). key_padding_mask [N, S] and attn_mask [L, S] or [N*num_heads, L, S]:
// bool, true = NOT allowed to attend (torch's nn.MultiheadAttention convention), or float,
// added. Returns {output like query, weights [N, L, S] averaged over heads (or
// [N, num_heads, L, S]) when need_weights, else undefined}.
std::pair<Tensor, Tensor> multi_head_attention_forward(
    const Tensor& query, const Tensor& key, const Tensor& value, int64_t num_heads, const Tensor& in_proj_weight,
    const Tensor& in_proj_bias, const Tensor& out_proj_weight, const Tensor& out_proj_bias,
    const Tensor& key_padding_mask = Tensor(), const Tensor& attn_mask = Tensor(), bool need_weights = true,
    bool average_attn_weights = true, double dropout_p = 0.0, bool training = true, bool batch_first = false,
    bool is_causal = false, const Tensor& q_proj_weight = Tensor(), const Tensor& k_proj_weight = Tensor(),
    const Tensor& v_proj_weight = Tensor());

// bool [L, S], true where j <= i (the positions a causal model may attend to).
Tensor causal_mask(int64_t L, int64_t S);

// The sinusoidal table of "Attention Is All You Need": [length, dim] with
// pe[p, 2i] = sin(p / 10000^(2i/dim)), pe[p, 2i+1] = cos(p / 10000^(2i/dim)).
Tensor sinusoidal_positional_encoding(int64_t length, int64_t dim, DType dtype = DType::Float32);

}  // namespace ember::functional
