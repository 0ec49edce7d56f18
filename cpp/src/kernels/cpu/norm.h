// Batch and layer normalisation over raw contiguous arrays.
//
// Batch norm sees its input as [N, C, S] (S = product of the spatial sizes, 1 for [N, C]);
// statistics are per channel c over the N*S values. Layer norm sees [rows, D] and normalises
// each row. Sums accumulate in double whatever T is (float32 statistics over 10^5 values would
// otherwise lose digits), each in a fixed order: a channel (or row, or column) is summed by one
// thread, so results have the same bits for any thread count.
//
// Backward functions overwrite their outputs; a null output pointer means "not needed".
#pragma once

#include <cstdint>

namespace ember::kernels {

// mean[c] and the biased variance var[c] = mean((x - mean)^2) (two passes, for accuracy).
template <typename T>
void batch_norm_stats(const T* x, int64_t N, int64_t C, int64_t S, T* mean, T* var);

// y = (x - mean[c]) * invstd[c] * w[c] + b[c]; w, b may be null (1 and 0).
template <typename T>
void batch_norm_apply(const T* x, int64_t N, int64_t C, int64_t S, const T* mean, const T* invstd, const T* w,
                      const T* b, T* y);

// Gradients of batch_norm_apply given dy. With batch_stats (training), mean/invstd are functions
// of x and gx gets torch's closed form
//   gx = w invstd (dy - mean(dy) - xhat mean(dy xhat)),  xhat = (x - mean) invstd;
// otherwise (running statistics) gx = w invstd dy. gw = sum(dy xhat), gb = sum(dy) per channel.
// x is read only for gw or for gx with batch_stats (it may be any readable array otherwise).
template <typename T>
void batch_norm_backward(const T* dy, const T* x, int64_t N, int64_t C, int64_t S, const T* mean, const T* invstd,
                         const T* w, bool batch_stats, T* gx, T* gw, T* gb);

// Per row: mean, rstd = 1/sqrt(var + eps), y = (x - mean) rstd * w + b (w, b over D, may be null).
template <typename T>
void layer_norm_forward(const T* x, int64_t rows, int64_t D, const T* w, const T* b, double eps, T* y, T* mean,
                        T* rstd);

// gx = rstd (dxh - mean(dxh) - xhat mean(dxh xhat)) with dxh = dy * w; gw = sum over rows of
// dy xhat, gb = sum over rows of dy.
template <typename T>
void layer_norm_backward(const T* dy, const T* x, int64_t rows, int64_t D, const T* mean, const T* rstd, const T* w,
                         T* gx, T* gw, T* gb);

}  // namespace ember::kernels
