// Layer ops with autograd: linear, batch/layer normalisation, dropout, embedding.
// torch.nn.functional's semantics, names and argument orders.
#pragma once

#include <optional>

#include "ember/tensor.h"

namespace ember::functional {

// y = x Wᵀ + b. input [..., in] (or [in]), weight [out, in], bias [out] or undefined.
// One GEMM reading W transposed through its strides; the bias rides in the GEMM's C update.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor());

// Batch normalisation over input [N, C], [N, C, L] or [N, C, H, W] (any [N, C, ...]).
// training: normalises with the batch statistics and, when running_mean/running_var are given,
//   updates them in place: r = (1 - momentum) r + momentum s, with the unbiased batch variance
//   for running_var (as torch). The buffers take no part in autograd.
// !training: normalises with running_mean/running_var (which must then be given).
// weight/bias [C] or undefined (no affine transform).
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool training = false,
                  double momentum = 0.1, double eps = 1e-5);

// Normalises over the trailing dims given by normalized_shape (input [..., *normalized_shape]);
// weight/bias have shape normalized_shape or are undefined.
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// Inverted dropout: zeroes each element with probability p and scales the rest by 1 / (1 - p).
// Identity when !training or p == 0; zeros when p == 1. Draws from the global generator
// (ember::manual_seed makes it repeatable).
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true);
// Whole channels: input [N, C, ...] gets one draw per (n, c).
Tensor dropout2d(const Tensor& input, double p = 0.5, bool training = true);

// Rows of weight [num_embeddings, dim] picked by int64 indices of any shape -> [*indices, dim].
// Rows at padding_idx receive no gradient. An index outside [0, num_embeddings) is an IndexError.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

}  // namespace ember::functional
