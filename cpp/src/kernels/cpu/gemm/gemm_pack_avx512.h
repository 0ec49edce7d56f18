// Packing for the AVX-512 micro-kernel (MR = 8 rows, NR = 32 float / 16 double columns) in the
// layouts that need a transpose: row-major A (e.g. X in X.W) and column-major B (W^T in a
// linear layer's dY.W^T). Blocks of 8 x 8 floats / 4 x 4 doubles go through registers with the
// AVX2 transposes of gemm_pack_avx2.h; straight copies and ragged panels use gemm_pack.h.
//
// Included only by gemm_avx512.cc; the anonymous namespace keeps these bodies out of every other
// translation unit.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/gemm/gemm_pack.h"
#include "kernels/cpu/gemm/gemm_pack_avx2.h"

namespace ember::kernels::gemm_impl {
namespace {

// A micro-panel of 8 rows: dst[k*8 + i] = A(i, k).
inline void pack_a8(int64_t m, int64_t kc, const float* a, int64_t rsa, int64_t csa, float* dst) {
  if (m == 8 && csa == 1) {
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(a + i * rsa + k);
      transpose8x8(r);
      for (int j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (k + j) * 8, r[j]);
    }
    for (; k < kc; ++k)
      for (int i = 0; i < 8; ++i) dst[k * 8 + i] = a[i * rsa + k];
  } else {
    pack_a_panel_plain<8>(m, kc, a, rsa, csa, dst);
  }
}

inline void pack_a8(int64_t m, int64_t kc, const double* a, int64_t rsa, int64_t csa, double* dst) {
  if (m == 8 && csa == 1) {
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4)
      for (int h = 0; h < 2; ++h) {
        __m256d r[4];
        for (int i = 0; i < 4; ++i) r[i] = _mm256_loadu_pd(a + (4 * h + i) * rsa + k);
        transpose4x4(r);
        for (int j = 0; j < 4; ++j) _mm256_storeu_pd(dst + (k + j) * 8 + 4 * h, r[j]);
      }
    for (; k < kc; ++k)
      for (int i = 0; i < 8; ++i) dst[k * 8 + i] = a[i * rsa + k];
  } else {
    pack_a_panel_plain<8>(m, kc, a, rsa, csa, dst);
  }
}

// B micro-panel of NR columns: dst[k*NR + j] = B(k, j). Column-major B: each 8 x 8 (4 x 4)
// block of k x columns is transposed in registers.
inline void pack_b32(int64_t n, int64_t kc, const float* b, int64_t rsb, int64_t csb, float* dst) {
  if (n == 32 && rsb == 1) {
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8)
      for (int h = 0; h < 4; ++h) {
        __m256 r[8];
        for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (8 * h + j) * csb + k);
        transpose8x8(r);
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (k + i) * 32 + 8 * h, r[i]);
      }
    for (; k < kc; ++k)
      for (int j = 0; j < 32; ++j) dst[k * 32 + j] = b[j * csb + k];
  } else {
    pack_b_panel_plain<32>(n, kc, b, rsb, csb, dst);
  }
}

inline void pack_b16d(int64_t n, int64_t kc, const double* b, int64_t rsb, int64_t csb, double* dst) {
  if (n == 16 && rsb == 1) {
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4)
      for (int h = 0; h < 4; ++h) {
        __m256d r[4];
        for (int j = 0; j < 4; ++j) r[j] = _mm256_loadu_pd(b + (4 * h + j) * csb + k);
        transpose4x4(r);
        for (int i = 0; i < 4; ++i) _mm256_storeu_pd(dst + (k + i) * 16 + 4 * h, r[i]);
      }
    for (; k < kc; ++k)
      for (int j = 0; j < 16; ++j) dst[k * 16 + j] = b[j * csb + k];
  } else {
    pack_b_panel_plain<16>(n, kc, b, rsb, csb, dst);
  }
}

inline void pack_b_z(int64_t n, int64_t kc, const float* b, int64_t rsb, int64_t csb, float* dst) {
  pack_b32(n, kc, b, rsb, csb, dst);
}
inline void pack_b_z(int64_t n, int64_t kc, const double* b, int64_t rsb, int64_t csb, double* dst) {
  pack_b16d(n, kc, b, rsb, csb, dst);
}

}  // namespace
}  // namespace ember::kernels::gemm_impl
