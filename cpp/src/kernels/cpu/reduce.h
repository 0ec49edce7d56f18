// Reductions over the middle axis of a contiguous [outer, R, inner] array. Sums are computed in
// fixed 4096-element blocks combined in a fixed order, so the result has the same bits whatever
// the number of threads.
#pragma once

#include <cstdint>

namespace ember::cpu {

template <typename T>
void sum_axis(const T* in, T* out, int64_t outer, int64_t R, int64_t inner);

// Values and indices of the max (is_max) or min along R; NaN wins, first index on ties.
template <typename T>
void extremum_axis(const T* in, T* values, int64_t* indices, int64_t outer, int64_t R, int64_t inner, bool is_max);

// grad_in[o, idx[o, i], i] += grad[o, i] (grad_in zeroed by the caller).
template <typename T>
void scatter_axis(const T* grad, const int64_t* idx, T* grad_in, int64_t outer, int64_t R, int64_t inner);

}  // namespace ember::cpu
