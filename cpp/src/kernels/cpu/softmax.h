// Softmax and log-softmax over raw arrays, and the row primitives the fused cross-entropy kernel
// shares with them.
//
// Layout: a contiguous [outer, R, inner] array, normalised along R. inner == 1 (the (batch,
// classes) case) runs row by row; otherwise each outer slab is processed as R rows of `inner`
// values, so the loops stay unit-stride over inner. Every pass over a row is shifted by the row
// max, so exp never overflows (finite results at |x| = 1e4). Rows are independent: OpenMP over
// outer (and rows) gives the same bits whatever the thread count.
// float uses AVX2 exp/max/sum when cpu::use_avx2(); double is plain C++.
#pragma once

#include <cstdint>

#include "kernels/cpu/parallel.h"

namespace ember::kernels {

// Runs body(i) for i in [0, n), in parallel when `work` (elementary operations in all) is worth
// it. The serial case never enters an OpenMP region: even one with if(false) costs ~1.5 us, more
// than a whole (64, 10) softmax.
template <typename Body>
void for_each_row(int64_t n, int64_t work, const Body& body) {
  if (!cpu::worth_parallel(work)) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// y = softmax(x) (or log_softmax when `log`) along R. For log_softmax, when e is not null, also
// keeps e = exp(x - max) [outer, R, inner] and inv_s = 1 / sum_R(e) [outer, inner]: the
// backward then needs no exp (softmax = e * inv_s).
template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t R, int64_t inner, bool log, T* e = nullptr,
                     T* inv_s = nullptr);

// softmax backward from its output y: gx = y * (g - sum_R(g * y)).
template <typename T>
void softmax_backward(const T* y, const T* g, T* gx, int64_t outer, int64_t R, int64_t inner);

// log_softmax backward from what the forward kept: gx = g - e * inv_s * sum_R(g).
template <typename T>
void log_softmax_backward(const T* e, const T* inv_s, const T* g, T* gx, int64_t outer, int64_t R, int64_t inner);

// --- row primitives (contiguous rows of n values) ----------------------------------------------
// Max of the row; NaN need not propagate (a NaN row still ends NaN through row_exp_sum).
template <typename T>
T row_max(const T* x, int64_t n);
// sum_i exp(x[i] - shift), also storing each exp into e[i] when e is not null. Requires
// x - shift <= 0 (shift = the row max); a NaN in x makes the sum NaN.
template <typename T>
T row_exp_sum(const T* x, T shift, T* e, int64_t n);

}  // namespace ember::kernels
