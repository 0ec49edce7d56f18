// AVX2/FMA gate math of the recurrent kernels (float), the same contracts as the portable
// versions in recurrent_rows.cc. exp and tanh are vector approximations accurate to a few ulp
// (exp: Cephes' range reduction and polynomial; tanh: Eigen's 13/6 rational function), which
// is what keeps the per-step gate math small beside the GEMMs. Tails run the scalar code.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/recurrent_rows.h"

namespace ember::kernels::rnn_rows::avx2 {
namespace {

inline __m256 set(float v) { return _mm256_set1_ps(v); }

// Clamping as max(lo, x) / min(hi, x) returns x when x is NaN, so NaN stays NaN.
inline __m256 clamp(__m256 x, float lo, float hi) { return _mm256_min_ps(set(hi), _mm256_max_ps(set(lo), x)); }

// e^x: x = k ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact product), e^r by a
// degree-6 polynomial, 2^k through the exponent bits. Inputs below -87 give ~e^-87 (callers
// only add it to 1), above 88.38 give inf (k = 128 sets the exponent bits to all ones).
inline __m256 exp(__m256 x) {
  x = clamp(x, -87.0f, 88.8f);
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, set(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, set(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, set(-2.12194440e-4f), r);
  __m256 p = set(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, set(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, set(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, set(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, set(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, set(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, set(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 sigmoid(__m256 x) {
  const __m256 one = set(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

// Eigen's generic_fast_tanh_float: odd 13th-degree over even 6th-degree polynomial on
// [-7.9053, 7.9053] (beyond, tanh is 1 in float); |x| < 0.0004 returns x.
inline __m256 tanh(__m256 a) {
  const __m256 x = clamp(a, -7.90531110763549805f, 7.90531110763549805f);
  const __m256 abs = _mm256_andnot_ps(set(-0.0f), a);
  const __m256 tiny = _mm256_cmp_ps(abs, set(0.0004f), _CMP_LT_OQ);
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_fmadd_ps(x2, set(-2.76076847742355e-16f), set(2.00018790482477e-13f));
  p = _mm256_fmadd_ps(x2, p, set(-8.60467152213735e-11f));
  p = _mm256_fmadd_ps(x2, p, set(5.12229709037114e-08f));
  p = _mm256_fmadd_ps(x2, p, set(1.48572235717979e-05f));
  p = _mm256_fmadd_ps(x2, p, set(6.37261928875436e-04f));
  p = _mm256_fmadd_ps(x2, p, set(4.89352455891786e-03f));
  p = _mm256_mul_ps(x, p);
  __m256 q = _mm256_fmadd_ps(x2, set(1.19825839466702e-06f), set(1.18534705686654e-04f));
  q = _mm256_fmadd_ps(x2, q, set(2.26843463243900e-03f));
  q = _mm256_fmadd_ps(x2, q, set(4.89352518554385e-03f));
  return _mm256_blendv_ps(_mm256_div_ps(p, q), a, tiny);
}

inline __m256 ld(const float* p) { return _mm256_loadu_ps(p); }
inline void st(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
// x (1 - x)
inline __m256 dsig(__m256 x) { return _mm256_fnmadd_ps(x, x, x); }
// 1 - x^2
inline __m256 dtanh(__m256 x) { return _mm256_fnmadd_ps(x, x, set(1.0f)); }

}  // namespace

void sigmoid(int64_t n, const float* x, float* y) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) st(y + j, sigmoid(ld(x + j)));
  for (; j < n; ++j) y[j] = 1.0f / (1.0f + std::exp(-x[j]));
}

void tanh(int64_t n, const float* x, float* y) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) st(y + j, tanh(ld(x + j)));
  for (; j < n; ++j) y[j] = std::tanh(x[j]);
}

void lstm_forward(int64_t n, int64_t H, float* gates, const float* bias, const float* c_prev, float* c, float* tc,
                  float* h) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 i = sigmoid(_mm256_add_ps(ld(gates + j), ld(bias + j)));
    const __m256 f = sigmoid(_mm256_add_ps(ld(gates + H + j), ld(bias + H + j)));
    const __m256 g = tanh(_mm256_add_ps(ld(gates + 2 * H + j), ld(bias + 2 * H + j)));
    const __m256 o = sigmoid(_mm256_add_ps(ld(gates + 3 * H + j), ld(bias + 3 * H + j)));
    st(gates + j, i), st(gates + H + j, f), st(gates + 2 * H + j, g), st(gates + 3 * H + j, o);
    const __m256 cc = _mm256_fmadd_ps(f, ld(c_prev + j), _mm256_mul_ps(i, g));
    const __m256 t = tanh(cc);
    st(c + j, cc), st(tc + j, t), st(h + j, _mm256_mul_ps(o, t));
  }
  if (j < n) rnn_rows::lstm_forward<float>(n - j, H, gates + j, bias + j, c_prev + j, c + j, tc + j, h + j);
}

void gru_forward(int64_t n, int64_t H, float* s, const float* hg, const float* bias, const float* h_prev, float* h) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 r = sigmoid(_mm256_add_ps(_mm256_add_ps(ld(s + j), ld(hg + j)), ld(bias + j)));
    const __m256 z = sigmoid(_mm256_add_ps(_mm256_add_ps(ld(s + H + j), ld(hg + H + j)), ld(bias + H + j)));
    const __m256 hn = _mm256_add_ps(ld(hg + 2 * H + j), ld(bias + 3 * H + j));
    const __m256 nn = tanh(_mm256_fmadd_ps(r, hn, _mm256_add_ps(ld(s + 2 * H + j), ld(bias + 2 * H + j))));
    st(s + j, r), st(s + H + j, z), st(s + 2 * H + j, nn), st(s + 3 * H + j, hn);
    st(h + j, _mm256_fmadd_ps(z, _mm256_sub_ps(ld(h_prev + j), nn), nn));
  }
  if (j < n) rnn_rows::gru_forward<float>(n - j, H, s + j, hg + j, bias + j, h_prev + j, h + j);
}

void rnn_forward(int64_t n, float* y, const float* bias, bool relu) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_add_ps(ld(y + j), ld(bias + j));
    // max(v, 0) returns 0 for a NaN v: blend the NaN back in
    st(y + j, relu ? _mm256_blendv_ps(_mm256_max_ps(v, _mm256_setzero_ps()), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q))
                   : tanh(v));
  }
  if (j < n) rnn_rows::rnn_forward<float>(n - j, y + j, bias + j, relu);
}

void lstm_backward(int64_t n, int64_t H, const float* gates, const float* c_prev, const float* tc, const float* dy,
                   const float* dh, float* dc, float* dG) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 i = ld(gates + j), f = ld(gates + H + j), g = ld(gates + 2 * H + j), o = ld(gates + 3 * H + j);
    const __m256 t = ld(tc + j), d = _mm256_add_ps(ld(dy + j), ld(dh + j));
    const __m256 dcc = _mm256_fmadd_ps(_mm256_mul_ps(d, o), dtanh(t), ld(dc + j));
    st(dG + j, _mm256_mul_ps(_mm256_mul_ps(dcc, g), dsig(i)));
    st(dG + H + j, _mm256_mul_ps(_mm256_mul_ps(dcc, ld(c_prev + j)), dsig(f)));
    st(dG + 2 * H + j, _mm256_mul_ps(_mm256_mul_ps(dcc, i), dtanh(g)));
    st(dG + 3 * H + j, _mm256_mul_ps(_mm256_mul_ps(d, t), dsig(o)));
    st(dc + j, _mm256_mul_ps(dcc, f));
  }
  if (j < n) rnn_rows::lstm_backward<float>(n - j, H, gates + j, c_prev + j, tc + j, dy + j, dh + j, dc + j, dG + j);
}

void gru_backward(int64_t n, int64_t H, const float* s, const float* h_prev, const float* dy, float* dh, float* dG) {
  int64_t j = 0;
  const __m256 one = set(1.0f);
  for (; j + 8 <= n; j += 8) {
    const __m256 r = ld(s + j), z = ld(s + H + j), nn = ld(s + 2 * H + j), hn = ld(s + 3 * H + j);
    const __m256 d = _mm256_add_ps(ld(dy + j), ld(dh + j));
    const __m256 dn = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_sub_ps(one, z)), dtanh(nn));
    st(dG + j, _mm256_mul_ps(_mm256_mul_ps(dn, hn), dsig(r)));
    st(dG + H + j, _mm256_mul_ps(_mm256_mul_ps(d, _mm256_sub_ps(ld(h_prev + j), nn)), dsig(z)));
    st(dG + 2 * H + j, _mm256_mul_ps(dn, r));
    st(dG + 3 * H + j, dn);
    st(dh + j, _mm256_mul_ps(d, z));
  }
  if (j < n) rnn_rows::gru_backward<float>(n - j, H, s + j, h_prev + j, dy + j, dh + j, dG + j);
}

void rnn_backward(int64_t n, const float* h, const float* dy, const float* dh, float* dG, bool relu) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 d = _mm256_add_ps(ld(dy + j), ld(dh + j)), hv = ld(h + j);
    st(dG + j, relu ? _mm256_and_ps(d, _mm256_cmp_ps(hv, _mm256_setzero_ps(), _CMP_GT_OQ))
                    : _mm256_mul_ps(d, dtanh(hv)));
  }
  if (j < n) rnn_rows::rnn_backward<float>(n - j, h + j, dy + j, dh + j, dG + j, relu);
}

}  // namespace ember::kernels::rnn_rows::avx2
