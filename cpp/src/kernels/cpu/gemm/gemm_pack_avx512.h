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

inline void copy_vw_z(float* dst, const float* src) { _mm512_storeu_ps(dst, _mm512_loadu_ps(src)); }
inline void copy_vw_z(double* dst, const double* src) { _mm512_storeu_pd(dst, _mm512_loadu_pd(src)); }

// dst[t] = src[t] for t < len: full vectors, then one masked vector (masked-off lanes are
// neither read nor written, so nothing past either end is touched).
inline void copy_run_z(float* dst, const float* src, int64_t len) {
  int64_t t = 0;
  for (; t + 16 <= len; t += 16) _mm512_storeu_ps(dst + t, _mm512_loadu_ps(src + t));
  if (t < len) {
    const __mmask16 m = static_cast<__mmask16>((1u << (len - t)) - 1u);
    _mm512_mask_storeu_ps(dst + t, m, _mm512_maskz_loadu_ps(m, src + t));
  }
}

inline void copy_run_z(double* dst, const double* src, int64_t len) {
  int64_t t = 0;
  for (; t + 8 <= len; t += 8) _mm512_storeu_pd(dst + t, _mm512_loadu_pd(src + t));
  if (t < len) {
    const __mmask8 m = static_cast<__mmask8>((1u << (len - t)) - 1u);
    _mm512_mask_storeu_pd(dst + t, m, _mm512_maskz_loadu_pd(m, src + t));
  }
}

// dst[t*ld + j] = src[j][t] for t < len, j < n: 8 x 8 (4 x 4) blocks transposed in registers,
// the ragged edges element by element.
inline void gather_t_z(float* dst, int64_t ld, const float* const* src, int64_t n, int64_t len) {
  const int64_t n8 = n / 8 * 8, len8 = len / 8 * 8;
  for (int64_t t = 0; t < len8; t += 8)
    for (int64_t h = 0; h < n8; h += 8) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src[h + j] + t);
      transpose8x8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (t + i) * ld + h, r[i]);
    }
  for (int64_t t = 0; t < len; ++t)
    for (int64_t j = t < len8 ? n8 : 0; j < n; ++j) dst[t * ld + j] = src[j][t];
}

inline void gather_t_z(double* dst, int64_t ld, const double* const* src, int64_t n, int64_t len) {
  const int64_t n4 = n / 4 * 4, len4 = len / 4 * 4;
  for (int64_t t = 0; t < len4; t += 4)
    for (int64_t h = 0; h < n4; h += 4) {
      __m256d r[4];
      for (int j = 0; j < 4; ++j) r[j] = _mm256_loadu_pd(src[h + j] + t);
      transpose4x4(r);
      for (int i = 0; i < 4; ++i) _mm256_storeu_pd(dst + (t + i) * ld + h, r[i]);
    }
  for (int64_t t = 0; t < len; ++t)
    for (int64_t j = t < len4 ? n4 : 0; j < n; ++j) dst[t * ld + j] = src[j][t];
}

inline void pack_b_z(int64_t n, int64_t kc, const float* b, int64_t rsb, int64_t csb, float* dst) {
  pack_b32(n, kc, b, rsb, csb, dst);
}
inline void pack_b_z(int64_t n, int64_t kc, const double* b, int64_t rsb, int64_t csb, double* dst) {
  pack_b16d(n, kc, b, rsb, csb, dst);
}

}  // namespace
}  // namespace ember::kernels::gemm_impl
