#include "kernels/cpu/rows.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/parallel.h"

namespace ember::kernels {

// Columns per parallel work item of the column-wise loops: wide enough for whole cache lines
// and vector registers, narrow enough to give a 256-wide layer a few items per thread.
constexpr int64_t kColBlock = 64;

template <typename T>
void fill_rows(T* c, int64_t M, int64_t N, int64_t ldc, const T* row) {
  for (int64_t i = 0; i < M; ++i) std::memcpy(c + i * ldc, row, sizeof(T) * N);
}

template <typename T>
void column_sums(const T* g, int64_t M, int64_t N, int64_t rs, int64_t cs, T* out) {
  const int64_t nb = (N + kColBlock - 1) / kColBlock;
  const bool par = nb > 1 && cpu::worth_parallel(M * N);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t j0 = b * kColBlock, j1 = std::min(N, j0 + kColBlock);
    T acc[kColBlock] = {};
    if (cs == 1) {
      for (int64_t i = 0; i < M; ++i) {
        const T* r = g + i * rs;
        for (int64_t j = j0; j < j1; ++j) acc[j - j0] += r[j];
      }
    } else {
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = j0; j < j1; ++j) acc[j - j0] += g[i * rs + j * cs];
    }
    for (int64_t j = j0; j < j1; ++j) out[j] = acc[j - j0];
  }
}

template <typename T>
void gather_rows(const T* w, int64_t D, const int64_t* idx, int64_t n, T* out) {
  const bool par = cpu::worth_parallel(n * D);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * D, w + idx[i] * D, sizeof(T) * D);
}

template <typename T>
void scatter_add_rows(const T* g, int64_t D, const int64_t* idx, int64_t n, int64_t skip, T* gw, int64_t rows) {
  std::memset(gw, 0, sizeof(T) * rows * D);
  // Column blocks in parallel, indices in order within a block: a repeated index adds its rows
  // in the same order whatever the thread count.
  const int64_t nb = (D + kColBlock - 1) / kColBlock;
  const bool par = nb > 1 && cpu::worth_parallel(n * D);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t j0 = b * kColBlock, j1 = std::min(D, j0 + kColBlock);
    for (int64_t i = 0; i < n; ++i) {
      if (idx[i] == skip) continue;
      const T* src = g + i * D;
      T* dst = gw + idx[i] * D;
      for (int64_t j = j0; j < j1; ++j) dst[j] += src[j];
    }
  }
}

#define EMBER_ROWS_INSTANTIATE(T)                                                             \
  template void fill_rows<T>(T*, int64_t, int64_t, int64_t, const T*);                        \
  template void column_sums<T>(const T*, int64_t, int64_t, int64_t, int64_t, T*);             \
  template void gather_rows<T>(const T*, int64_t, const int64_t*, int64_t, T*);               \
  template void scatter_add_rows<T>(const T*, int64_t, const int64_t*, int64_t, int64_t, T*, int64_t);

EMBER_ROWS_INSTANTIATE(float)
EMBER_ROWS_INSTANTIATE(double)

}  // namespace ember::kernels
