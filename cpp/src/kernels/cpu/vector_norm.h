// Norm-style reductions over a list of contiguous buffers (gradient clipping, weight penalties).
//
// Each buffer is cut into fixed 8192-element chunks; threads take whole chunks, every chunk is
// reduced in double with a fixed accumulation order, and each buffer's chunks are combined in
// order afterwards. So the result has the same bits whatever the number of threads, and many
// small buffers are spread over the threads as well as one big one.
#pragma once

#include <cstdint>

namespace ember::kernels {

enum class NormKind : uint8_t {
  Zero,    // count of non-zero elements (NaN counts)
  One,     // sum |x|
  Two,     // sum x * x
  P,       // sum |x|^p
  Inf,     // max |x|    (NaN wins)
  NegInf,  // min |x|    (NaN wins); +inf for an empty buffer
};

// out[t] = the reduction of buffer t (before any root: Two gives the sum of squares).
template <typename T>
void norm_reduce(int64_t num_tensors, const T* const* data, const int64_t* numels, NormKind kind, double p,
                 double* out);

// x[i] *= scale, for every element of every buffer.
template <typename T>
void scale_inplace(int64_t num_tensors, T* const* data, const int64_t* numels, T scale);

// x[i] = min(max(x[i], lo), hi) for every element of every buffer (hi when lo > hi, like torch's
// clamp_min_ then clamp_max_); NaN stays NaN.
template <typename T>
void clamp_inplace(int64_t num_tensors, T* const* data, const int64_t* numels, T lo, T hi);

}  // namespace ember::kernels
