// Row-wise helpers of the linear and embedding ops over raw arrays: broadcast a row into every
// row of a matrix, column sums of a strided matrix, row gather and row scatter-add.
// Deterministic: every output element is produced by one thread in a fixed order.
#pragma once

#include <cstdint>

namespace ember::kernels {

// c[i, :] = row for i < M (c row-major with row stride ldc).
template <typename T>
void fill_rows(T* c, int64_t M, int64_t N, int64_t ldc, const T* row);

// out[j] = sum_i g[i*rs + j*cs] for 0 <= i < M, 0 <= j < N.
template <typename T>
void column_sums(const T* g, int64_t M, int64_t N, int64_t rs, int64_t cs, T* out);

// out[i, :] = w[idx[i], :] for i < n; w is [*, D] contiguous, idx already range-checked.
template <typename T>
void gather_rows(const T* w, int64_t D, const int64_t* idx, int64_t n, T* out);

// gw = 0, then gw[idx[i], :] += g[i, :] for i < n, skipping idx[i] == skip (pass -1 for none).
// gw is [rows, D]; idx already range-checked.
template <typename T>
void scatter_add_rows(const T* g, int64_t D, const int64_t* idx, int64_t n, int64_t skip, T* gw, int64_t rows);

}  // namespace ember::kernels
