// 2-D convolution over raw NCHW arrays (1-D is 2-D with H = 1, see conv1d_params below).
//
// Layouts, all contiguous, row-major:
//   input        [N, C_in, H, W]
//   weight       [C_out, C_in / groups, kH, kW]
//   bias         [C_out]                      (may be null in forward)
//   output       [N, C_out, H_out, W_out]     (H_out/W_out from conv_output_size)
// Semantics are torch.nn.functional.conv2d's (cross-correlation, zero padding, dilation, groups):
//   out[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} w[co, ci, kh, kw] *
//                        in[n, g*Cg + ci, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
// where g = co / (C_out / groups) and Cg = C_in / groups.
//
// Every function overwrites its output (the autograd layer accumulates, not the kernel). The op
// layer validates shapes first (conv2d_params_error); kernels assume a valid Params.
// Results are bitwise identical whatever the number of OpenMP threads: forward and
// backward_input split work over images (each output element written by one thread), and
// backward_weight sums per-image contributions in fixed chunks of images combined in a fixed
// order.
//
// How: one GEMM per image and group against weights packed once per call, with B read straight
// from a zero-padded copy of the image (implicit im2col, no column matrix; conv.cc), parallel over
// images; small-channel stride-1 float32 shapes (LeNet-like) take direct AVX-512 / AVX2 loops
// instead (conv_direct_impl.h), where a GEMM would have a tiny M or K.
#pragma once

#include <cstdint>

namespace ember::kernels {

struct Conv2dParams {
  int64_t N = 1, C_in = 1, H = 1, W = 1;
  int64_t C_out = 1, kH = 1, kW = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;

  int64_t out_h() const;
  int64_t out_w() const;
};

// floor((in + 2*pad - dilation*(kernel-1) - 1) / stride) + 1, or 0 when the (padded) input is
// smaller than the dilated kernel.
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation);

// nullptr when p describes a valid convolution, else a short static message naming the rule it
// breaks (sizes >= 1, pad >= 0, groups divides C_in and C_out, output at least 1x1).
const char* conv2d_params_error(const Conv2dParams& p);

// 1-D convolution on [N, C_in, L] with weight [C_out, C_in/groups, k] is the 2-D one with H = 1
// and kH = 1: build the params with this and call the conv2d_* functions on the same pointers.
inline Conv2dParams conv1d_params(int64_t N, int64_t C_in, int64_t L, int64_t C_out, int64_t k,
                                  int64_t stride = 1, int64_t pad = 0, int64_t dilation = 1,
                                  int64_t groups = 1) {
  Conv2dParams p;
  p.N = N, p.C_in = C_in, p.H = 1, p.W = L, p.C_out = C_out, p.kH = 1, p.kW = k;
  p.stride_w = stride, p.pad_w = pad, p.dilation_w = dilation, p.groups = groups;
  return p;
}

// output = conv(input, weight) + bias (bias may be null).
void conv2d_forward(const Conv2dParams& p, const float* input, const float* weight, const float* bias,
                    float* output);
void conv2d_forward(const Conv2dParams& p, const double* input, const double* weight,
                    const double* bias, double* output);

// grad_input = d(sum(grad_output * conv(input, weight))) / d input   (transposed conv, col2im).
void conv2d_backward_input(const Conv2dParams& p, const float* grad_output, const float* weight,
                           float* grad_input);
void conv2d_backward_input(const Conv2dParams& p, const double* grad_output, const double* weight,
                           double* grad_input);

// grad_weight[co, ci, kh, kw] = sum over n, oh, ow of grad_output * the input it multiplied.
void conv2d_backward_weight(const Conv2dParams& p, const float* input, const float* grad_output,
                            float* grad_weight);
void conv2d_backward_weight(const Conv2dParams& p, const double* input, const double* grad_output,
                            double* grad_weight);

// grad_bias[co] = sum over n, oh, ow of grad_output[n, co, oh, ow].
void conv2d_backward_bias(const Conv2dParams& p, const float* grad_output, float* grad_bias);
void conv2d_backward_bias(const Conv2dParams& p, const double* grad_output, double* grad_bias);

}  // namespace ember::kernels
