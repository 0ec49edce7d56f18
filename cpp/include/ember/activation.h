// Activation functions and softmax, with autograd. torch.nn.functional's semantics and defaults;
// sigmoid, tanh and relu are ember::sigmoid / tanh / relu (ops.h).
//
// Every function takes a float32 or float64 tensor (TypeError otherwise) and is numerically
// stable: values and gradients stay finite for inputs as large as |x| = 1e4 in either dtype.
#pragma once

#include <string>

#include "ember/tensor.h"

namespace ember::functional {

// x if x > 0 else negative_slope * x
Tensor leaky_relu(const Tensor& input, double negative_slope = 0.01);
// x if x > 0 else alpha * (exp(x) - 1)
Tensor elu(const Tensor& input, double alpha = 1.0);
// scale * elu(x, alpha) with torch's constants (self-normalising networks, Klambauer et al. 2017)
Tensor selu(const Tensor& input);
// x * Phi(x) (approximate = "none") or its tanh approximation (approximate = "tanh")
Tensor gelu(const Tensor& input, const std::string& approximate = "none");
// log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold
Tensor softplus(const Tensor& input, double beta = 1.0, double threshold = 20.0);
// x * sigmoid(x)
Tensor silu(const Tensor& input);
// clamp(x, min_val, max_val); the gradient is zero at and outside the bounds, like torch
Tensor hardtanh(const Tensor& input, double min_val = -1.0, double max_val = 1.0);
// hardtanh(x, 0, 6)
Tensor relu6(const Tensor& input);
// Max over groups of `pieces` consecutive channels along `dim` (size C -> C / pieces); the
// gradient flows to the first maximum of each group (Goodfellow et al. 2013).
Tensor maxout(const Tensor& input, int64_t pieces, int64_t dim = 1);

// exp(x) / sum(exp(x)) along dim, and its logarithm; stable (shifted by the max), one fused
// kernel per row. A 0-d input is treated as one row of one element.
Tensor softmax(const Tensor& input, int64_t dim);
Tensor log_softmax(const Tensor& input, int64_t dim);

}  // namespace ember::functional
