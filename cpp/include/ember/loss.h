// Loss functions with autograd: torch.nn.functional's semantics, argument order and defaults
// (without the deprecated size_average / reduce arguments).
//
// reduction: None (per element / per sample), Mean, Sum; BatchMean (kl_div only: sum / batch
// size). Weighted means follow torch exactly: nll_loss / cross_entropy with class indices and
// mse_loss / l1_loss with a weight divide by the sum of the weights involved; every other loss
// divides by the number of elements (or samples).
// Each op is one fused forward kernel and one backward node: cross_entropy is log-softmax and
// NLL in a single pass per row, with backward coef * (softmax - target), no intermediate graph.
#pragma once

#include <string>

#include "ember/tensor.h"

namespace ember::functional {

enum class Reduction { None, Mean, Sum, BatchMean };

// "none" | "mean" | "sum" | "batchmean"; ValueError for anything else.
Reduction reduction_from_string(const std::string& s);

// (x - t)^2; weight (same shape as input) multiplies each term and 'mean' divides by sum(weight).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                const Tensor& weight = Tensor());
// |x - t|; weight as for mse_loss.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
               const Tensor& weight = Tensor());
// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0: l1_loss).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                      double beta = 1.0);
// 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); weight multiplies, 'mean' counts elements.
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean, double delta = 1.0,
                  const Tensor& weight = Tensor());
// -w (t log x + (1 - t) log(1 - x)), logs clamped at -100; input must lie in [0, 1].
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            Reduction reduction = Reduction::Mean);
// BCE of sigmoid(x), computed from the logits without overflow; pos_weight scales the positive term
// (broadcast along the last dim, one value per class).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        Reduction reduction = Reduction::Mean, const Tensor& pos_weight = Tensor());
// input [N, C], [C] or [N, C, d1, ...]; target class indices (int64, input's shape without C) or
// class probabilities (input's shape). Index targets outside [0, C) other than ignore_index raise
// IndexError.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                     int64_t ignore_index = -100, Reduction reduction = Reduction::Mean, double label_smoothing = 0.0);
// input = log-probabilities, shapes as cross_entropy with index targets.
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(), int64_t ignore_index = -100,
                Reduction reduction = Reduction::Mean);
// x where t == 1, max(0, margin - x) where t == -1 (torch's composite formula for other values).
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, double margin = 1.0,
                            Reduction reduction = Reduction::Mean);
// Multi-class hinge: sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C, p = 1 or 2; input [N, C] or [C].
Tensor multi_margin_loss(const Tensor& input, const Tensor& target, int64_t p = 1, double margin = 1.0,
                         const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean);
// Pointwise KL divergence t (log t - x) with input = log-probabilities (target too when log_target).
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
              bool log_target = false);

}  // namespace ember::functional
