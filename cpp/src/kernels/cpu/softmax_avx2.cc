// AVX2/FMA float32 row loops for softmax, log-softmax and cross-entropy (see vec_math_avx2.h).
// exp is the Cephes single-precision scheme (range reduction by ln2 in two parts, degree-6
// polynomial, 2^n built in the exponent bits): about 1 ulp, no table, 8 lanes per instruction.
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "kernels/cpu/vec_math_avx2.h"

namespace ember::kernels::avx2 {
namespace {

// exp(x) for x <= 0, the only arguments softmax passes (x - rowmax). Below -87.34 the result is
// flushed to 0 (the exact value would be subnormal) so 2^n never underflows its exponent field;
// -inf gives 0. NaN stays NaN: it flows through the polynomial and fails the < lo test.
// n = round(x / ln2) comes from adding 1.5 * 2^23 + 127: the sum's low mantissa bits are then
// n + 127, i.e. the biased exponent of 2^n, already in place after a shift by 23.
inline __m256 exp256(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33654f), magic = _mm256_set1_ps(12582912.0f + 127.0f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
  const __m256 n = _mm256_sub_ps(z, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  __m256 res = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), res);
}

inline __m256i tail_mask(int64_t rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

float row_max(const float* x, int64_t n) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 m0 = ninf, m1 = ninf;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
  }
  if (i + 8 <= n) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    i += 8;
  }
  if (i < n) {
    const __m256i mask = tail_mask(n - i);
    m1 = _mm256_max_ps(m1, _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + i, mask), _mm256_castsi256_ps(mask)));
  }
  return hmax(_mm256_max_ps(m0, m1));
}

float row_exp_sum(const float* x, float shift, float* e, int64_t n) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    const __m256 v1 = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s));
    if (e) {
      _mm256_storeu_ps(e + i, v0);
      _mm256_storeu_ps(e + i + 8, v1);
    }
    a0 = _mm256_add_ps(a0, v0);
    a1 = _mm256_add_ps(a1, v1);
  }
  if (i + 8 <= n) {
    const __m256 v = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    if (e) _mm256_storeu_ps(e + i, v);
    a0 = _mm256_add_ps(a0, v);
    i += 8;
  }
  if (i < n) {
    const __m256i mask = tail_mask(n - i);
    __m256 v = exp256(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), s));
    v = _mm256_and_ps(v, _mm256_castsi256_ps(mask));
    if (e) _mm256_maskstore_ps(e + i, mask, v);
    a1 = _mm256_add_ps(a1, v);
  }
  return hsum(_mm256_add_ps(a0, a1));
}

void exp_inplace(float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp256(_mm256_loadu_ps(y + i)));
  if (i < n) {
    const __m256i mask = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, mask, exp256(_mm256_maskload_ps(y + i, mask)));
  }
}

}  // namespace ember::kernels::avx2
