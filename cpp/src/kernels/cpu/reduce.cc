#include "kernels/cpu/reduce.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace ember::cpu {
namespace {

constexpr int64_t kBlock = 4096;

// Sum of n contiguous values with 8 independent accumulators (vectorizes, and keeps rounding
// error close to pairwise summation within a block).
template <typename T>
T sum_block(const T* p, int64_t n) {
  T acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += p[i + k];
  for (; i < n; ++i) acc[0] += p[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

template <typename T>
T sum_contiguous(const T* p, int64_t n, bool parallel) {
  const int64_t nblocks = (n + kBlock - 1) / kBlock;
  if (nblocks <= 1) return sum_block(p, n);
  std::vector<T> partial(nblocks);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t b = 0; b < nblocks; ++b) partial[b] = sum_block(p + b * kBlock, std::min(kBlock, n - b * kBlock));
  T total = 0;
  for (T v : partial) total += v;
  return total;
}

}  // namespace

template <typename T>
void sum_axis(const T* in, T* out, int64_t outer, int64_t R, int64_t inner) {
  const bool par = worth_parallel(outer * R * inner);
  if (inner == 1) {
    if (outer == 1) {
      out[0] = sum_contiguous(in, R, par);
      return;
    }
#pragma omp parallel for schedule(static) if (par)
    for (int64_t o = 0; o < outer; ++o) out[o] = sum_contiguous(in + o * R, R, false);
    return;
  }
  // Column sums: accumulate rows into the output row; parallel over outer or over column blocks.
  const int64_t col_block = 1024;
  const int64_t ncb = (inner + col_block - 1) / col_block;
#pragma omp parallel for collapse(2) schedule(static) if (par)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t cb = 0; cb < ncb; ++cb) {
      const int64_t c0 = cb * col_block, c1 = std::min(inner, c0 + col_block);
      T* dst = out + o * inner;
      const T* src = in + o * R * inner;
      for (int64_t c = c0; c < c1; ++c) dst[c] = 0;
      for (int64_t r = 0; r < R; ++r) {
        const T* row = src + r * inner;
        for (int64_t c = c0; c < c1; ++c) dst[c] += row[c];
      }
    }
}

template <typename T>
void extremum_axis(const T* in, T* values, int64_t* indices, int64_t outer, int64_t R, int64_t inner, bool is_max) {
  const bool par = worth_parallel(outer * R * inner);
#pragma omp parallel for collapse(2) schedule(static) if (par)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* p = in + o * R * inner + i;
      T best = p[0];
      int64_t bi = 0;
      for (int64_t r = 1; r < R && best == best; ++r) {
        T v = p[r * inner];
        if (v != v || (is_max ? v > best : v < best)) {
          best = v;
          bi = r;
        }
      }
      values[o * inner + i] = best;
      if (indices) indices[o * inner + i] = bi;
    }
}

template <typename T>
void scatter_axis(const T* grad, const int64_t* idx, T* grad_in, int64_t outer, int64_t R, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) grad_in[(o * R + idx[o * inner + i]) * inner + i] += grad[o * inner + i];
}

#define EMBER_INSTANTIATE(T)                                                                          \
  template void sum_axis<T>(const T*, T*, int64_t, int64_t, int64_t);                                \
  template void extremum_axis<T>(const T*, T*, int64_t*, int64_t, int64_t, int64_t, bool);            \
  template void scatter_axis<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)
EMBER_INSTANTIATE(int64_t)
#undef EMBER_INSTANTIATE

}  // namespace ember::cpu
