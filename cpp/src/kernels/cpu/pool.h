// 2-D pooling over raw NCHW arrays: max (with argmax indices), average, adaptive average.
//
// Layouts, contiguous row-major: input [N, C, H, W], output [N, C, H_out, W_out]. Every plane
// (n, c) is independent, so each function runs planes in parallel (OpenMP) and gives the same
// bits whatever the thread count. Backward functions overwrite grad_input.
// Semantics follow torch.nn.functional (max_pool2d, avg_pool2d, adaptive_avg_pool2d) on CPU,
// including output sizes, ceil_mode, padding and NaN handling; the op layer fills torch's
// defaults (stride = kernel size) and validates with pool2d_params_error first.
// 1-D pooling on [N, C, L] is the 2-D one with H = 1, kH = 1, stride_h = 1, pad_h = 0.
#pragma once

#include <cstdint>

namespace ember::kernels {

struct Pool2dParams {
  int64_t N = 1, C = 1, H = 1, W = 1;
  int64_t kH = 1, kW = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;          // implicit -inf (max) or zero (avg) padding
  int64_t dilation_h = 1, dilation_w = 1; // max pool only (avg pool requires 1)
  bool ceil_mode = false;
  bool count_include_pad = true;          // avg pool only: divide by the padded window size
  int64_t divisor_override = 0;           // avg pool only: divide by this instead, when > 0

  int64_t out_h() const;
  int64_t out_w() const;
};

// torch's pooling_output_shape: floor (or ceil, with ceil_mode) of
// (in + 2*pad - dilation*(kernel-1) - 1) / stride + 1, where with ceil_mode the last window must
// start inside the input or the left padding.
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                         bool ceil_mode);

// nullptr when valid, else a short static message: sizes >= 1, stride >= 1, dilation >= 1,
// 0 <= pad <= kernel/2 (torch's rule), output at least 1x1, divisor_override >= 0.
const char* pool2d_params_error(const Pool2dParams& p);

// out[n,c,oh,ow] = max over the window; indices[n,c,oh,ow] = ih*W + iw of that max (flat within
// the input plane, like torch). Padding never wins; NaN does; ties keep the first position.
// A dilated window that misses the input entirely gives -inf and index -1.
void max_pool2d_forward(const Pool2dParams& p, const float* input, float* output, int64_t* indices);
void max_pool2d_forward(const Pool2dParams& p, const double* input, double* output, int64_t* indices);

// grad_input = 0, then grad_input[n,c][indices[n,c,o]] += grad_output[n,c,o]; indices outside
// [0, H*W) are skipped, so no index array can make it write out of bounds (indices are meant to
// come from max_pool2d_forward with the same params).
void max_pool2d_backward(const Pool2dParams& p, const float* grad_output, const int64_t* indices,
                         float* grad_input);
void max_pool2d_backward(const Pool2dParams& p, const double* grad_output, const int64_t* indices,
                         double* grad_input);

// out = sum over the window's in-bounds elements / divisor, where divisor is divisor_override if
// set, else the window size clipped to the padded input (count_include_pad) or to the input.
void avg_pool2d_forward(const Pool2dParams& p, const float* input, float* output);
void avg_pool2d_forward(const Pool2dParams& p, const double* input, double* output);
void avg_pool2d_backward(const Pool2dParams& p, const float* grad_output, float* grad_input);
void avg_pool2d_backward(const Pool2dParams& p, const double* grad_output, double* grad_input);

// Adaptive average pooling to [out_h, out_w]: output row oh averages input rows
// [floor(oh*H/out_h), ceil((oh+1)*H/out_h)), and the same for columns (torch's formula).
void adaptive_avg_pool2d_forward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t out_h, int64_t out_w,
                                 const float* input, float* output);
void adaptive_avg_pool2d_forward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t out_h, int64_t out_w,
                                 const double* input, double* output);
void adaptive_avg_pool2d_backward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t out_h, int64_t out_w,
                                  const float* grad_output, float* grad_input);
void adaptive_avg_pool2d_backward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t out_h, int64_t out_w,
                                  const double* grad_output, double* grad_input);

}  // namespace ember::kernels
