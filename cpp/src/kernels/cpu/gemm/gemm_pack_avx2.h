// AVX2 packing for the layouts that need a transpose: row-major A (6-row panels) and
// column-major B (e.g. W^T in a linear layer's forward), moving 8 x 8 float / 4 x 4 double blocks
// through registers; column-major A is a straight copy. Ragged panels and general strides fall
// back to the plain loops of gemm_pack.h.
//
// Included only by gemm_avx2.cc (compiled with -mavx2 -mfma); the anonymous namespace keeps these
// AVX2 bodies out of every other translation unit.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/gemm/gemm_pack.h"
#include "kernels/cpu/simd_transpose.h"

namespace ember::kernels::gemm_impl {
namespace {

// Stores the 6 low lanes of v at p without touching p[6], p[7].
inline void store6(float* p, __m256 v) {
  _mm_storeu_ps(p, _mm256_castps256_ps128(v));
  _mm_storel_pi(reinterpret_cast<__m64*>(p + 4), _mm256_extractf128_ps(v, 1));
}

inline void pack_a6(int64_t m, int64_t kc, const float* a, int64_t rsa, int64_t csa, float* dst) {
  if (m == 6 && csa == 1) {
    // Row-major A: 8 k at a time, 6 rows (plus 2 don't-care rows) transposed in registers.
    // Each 8-wide store spills 2 lanes into the next k's slot, which the next store overwrites;
    // the last of the 8 stores only 6 lanes so nothing lands past this block.
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      for (int i = 0; i < 6; ++i) r[i] = _mm256_loadu_ps(a + i * rsa + k);
      r[6] = r[0];
      r[7] = r[0];
      transpose8x8(r);
      float* d = dst + k * 6;
      for (int j = 0; j < 7; ++j) _mm256_storeu_ps(d + j * 6, r[j]);
      store6(d + 42, r[7]);
    }
    for (; k < kc; ++k)
      for (int i = 0; i < 6; ++i) dst[k * 6 + i] = a[i * rsa + k];
  } else if (m == 6 && rsa == 1) {
    // Column-major A: 6 contiguous floats per k.
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = a + k * csa;
      _mm_storeu_ps(dst + k * 6, _mm_loadu_ps(src));
      _mm_storel_pi(reinterpret_cast<__m64*>(dst + k * 6 + 4), _mm_loadl_pi(_mm_setzero_ps(), reinterpret_cast<const __m64*>(src + 4)));
    }
  } else {
    pack_a_panel_plain<6>(m, kc, a, rsa, csa, dst);
  }
}

inline void pack_a6(int64_t m, int64_t kc, const double* a, int64_t rsa, int64_t csa, double* dst) {
  if (m == 6 && csa == 1) {
    // Row-major A: 4 k at a time; rows 0-3 by a 4 x 4 transpose, rows 4-5 by 2-lane unpacks.
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m256d r[4];
      for (int i = 0; i < 4; ++i) r[i] = _mm256_loadu_pd(a + i * rsa + k);
      transpose4x4(r);
      const __m256d x4 = _mm256_loadu_pd(a + 4 * rsa + k), x5 = _mm256_loadu_pd(a + 5 * rsa + k);
      const __m256d lo = _mm256_unpacklo_pd(x4, x5), hi = _mm256_unpackhi_pd(x4, x5);
      const __m128d pair[4] = {_mm256_castpd256_pd128(lo), _mm256_castpd256_pd128(hi), _mm256_extractf128_pd(lo, 1),
                               _mm256_extractf128_pd(hi, 1)};
      double* d = dst + k * 6;
      for (int j = 0; j < 4; ++j) {
        _mm256_storeu_pd(d + j * 6, r[j]);
        _mm_storeu_pd(d + j * 6 + 4, pair[j]);
      }
    }
    for (; k < kc; ++k)
      for (int i = 0; i < 6; ++i) dst[k * 6 + i] = a[i * rsa + k];
  } else if (m == 6 && rsa == 1) {
    for (int64_t k = 0; k < kc; ++k) {
      const double* src = a + k * csa;
      _mm256_storeu_pd(dst + k * 6, _mm256_loadu_pd(src));
      _mm_storeu_pd(dst + k * 6 + 4, _mm_loadu_pd(src + 4));
    }
  } else {
    pack_a_panel_plain<6>(m, kc, a, rsa, csa, dst);
  }
}

inline void pack_b16(int64_t n, int64_t kc, const float* b, int64_t rsb, int64_t csb, float* dst) {
  if (n == 16 && rsb == 1) {
    // Column-major B: 8 k x 8 columns at a time, transposed in registers.
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8)
      for (int h = 0; h < 2; ++h) {
        __m256 r[8];
        for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (8 * h + j) * csb + k);
        transpose8x8(r);
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (k + i) * 16 + 8 * h, r[i]);
      }
    for (; k < kc; ++k)
      for (int j = 0; j < 16; ++j) dst[k * 16 + j] = b[j * csb + k];
  } else {
    pack_b_panel_plain<16>(n, kc, b, rsb, csb, dst);
  }
}

inline void pack_b8(int64_t n, int64_t kc, const double* b, int64_t rsb, int64_t csb, double* dst) {
  if (n == 8 && rsb == 1) {
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4)
      for (int h = 0; h < 2; ++h) {
        __m256d r[4];
        for (int j = 0; j < 4; ++j) r[j] = _mm256_loadu_pd(b + (4 * h + j) * csb + k);
        transpose4x4(r);
        for (int i = 0; i < 4; ++i) _mm256_storeu_pd(dst + (k + i) * 8 + 4 * h, r[i]);
      }
    for (; k < kc; ++k)
      for (int j = 0; j < 8; ++j) dst[k * 8 + j] = b[j * csb + k];
  } else {
    pack_b_panel_plain<8>(n, kc, b, rsb, csb, dst);
  }
}

inline void copy_vw_y(float* dst, const float* src) { _mm256_storeu_ps(dst, _mm256_loadu_ps(src)); }
inline void copy_vw_y(double* dst, const double* src) { _mm256_storeu_pd(dst, _mm256_loadu_pd(src)); }

// dst[t] = src[t] for t < len: 8 (4) at a time, the rest one by one.
inline void copy_run_y(float* dst, const float* src, int64_t len) {
  int64_t t = 0;
  for (; t + 8 <= len; t += 8) _mm256_storeu_ps(dst + t, _mm256_loadu_ps(src + t));
  for (; t < len; ++t) dst[t] = src[t];
}

inline void copy_run_y(double* dst, const double* src, int64_t len) {
  int64_t t = 0;
  for (; t + 4 <= len; t += 4) _mm256_storeu_pd(dst + t, _mm256_loadu_pd(src + t));
  for (; t < len; ++t) dst[t] = src[t];
}

// dst[t*ld + j] = src[j][t] for t < len, j < n: 8 x 8 (4 x 4) blocks transposed in registers,
// the ragged edges element by element.
inline void gather_t_y(float* dst, int64_t ld, const float* const* src, int64_t n, int64_t len) {
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

inline void gather_t_y(double* dst, int64_t ld, const double* const* src, int64_t n, int64_t len) {
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

inline void pack_b_nr(int64_t n, int64_t kc, const float* b, int64_t rsb, int64_t csb, float* dst) {
  pack_b16(n, kc, b, rsb, csb, dst);
}
inline void pack_b_nr(int64_t n, int64_t kc, const double* b, int64_t rsb, int64_t csb, double* dst) {
  pack_b8(n, kc, b, rsb, csb, dst);
}

}  // namespace
}  // namespace ember::kernels::gemm_impl
