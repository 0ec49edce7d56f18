// Convolution and pooling ops (NCHW), with autograd. torch.nn.functional's semantics.
#pragma once

#include <array>
#include <utility>

#include "ember/tensor.h"

namespace ember::functional {

using Int2 = std::array<int64_t, 2>;

// input [N, C_in, H, W] (or unbatched [C_in, H, W]), weight [C_out, C_in/groups, kH, kW], bias [C_out] or undefined.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Int2 stride = {1, 1},
              Int2 padding = {0, 0}, Int2 dilation = {1, 1}, int64_t groups = 1);
// input [N, C_in, L] (or [C_in, L]), weight [C_out, C_in/groups, k].
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);

// (output, indices); indices are flat positions within each input H*W plane, like torch's.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, Int2 kernel, Int2 stride, Int2 padding = {0, 0},
                                                  Int2 dilation = {1, 1}, bool ceil_mode = false);
Tensor max_pool2d(const Tensor& input, Int2 kernel, Int2 stride, Int2 padding = {0, 0}, Int2 dilation = {1, 1},
                  bool ceil_mode = false);
Tensor max_pool1d(const Tensor& input, int64_t kernel, int64_t stride, int64_t padding = 0, int64_t dilation = 1,
                  bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& input, Int2 kernel, Int2 stride, Int2 padding = {0, 0}, bool ceil_mode = false,
                  bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& input, Int2 output_size);

}  // namespace ember::functional
