// AVX-512 gate math of the recurrent kernels (float): recurrent_vec.h over 16-lane vectors; a
// tail of fewer than 16 units goes to the AVX2 rows (8 lanes, then scalar). Same contracts as
// the portable rows.
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_ps()
// placeholders (GCC bug 105593); the warning says nothing about this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "kernels/cpu/recurrent_rows.h"
#include "kernels/cpu/recurrent_vec.h"

namespace ember::kernels::rnn_rows {
namespace {

struct Avx512 {
  using R = __m512;
  using M = __mmask16;
  static constexpr int64_t W = 16;
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R fnmadd(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); }
  // vminps/vmaxps return the second operand when either is NaN, as the AVX2 forms
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R round(R a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R pow2i(R k) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23));
  }
  static R abs(R a) { return _mm512_abs_ps(a); }
  static M lt(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M gt(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M unord(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
  static R blend(M m, R f, R t) { return _mm512_mask_blend_ps(m, f, t); }
};

}  // namespace

namespace avx512 {

void sigmoid(int64_t n, const float* x, float* y) {
  const int64_t j = sigmoid_vec<Avx512>(n, x, y);
  if (j < n) avx2::sigmoid(n - j, x + j, y + j);
}

void tanh(int64_t n, const float* x, float* y) {
  const int64_t j = tanh_vec<Avx512>(n, x, y);
  if (j < n) avx2::tanh(n - j, x + j, y + j);
}

void lstm_forward(int64_t n, int64_t H, float* gates, const float* hg, const float* bias, const float* c_prev, float* c,
                  float* tc, float* h) {
  const int64_t j = lstm_forward_vec<Avx512>(n, H, gates, hg, bias, c_prev, c, tc, h);
  if (j < n) avx2::lstm_forward(n - j, H, gates + j, hg + j, bias + j, c_prev + j, c + j, tc + j, h + j);
}

void gru_forward(int64_t n, int64_t H, float* s, const float* hg, const float* bias, const float* h_prev, float* h) {
  const int64_t j = gru_forward_vec<Avx512>(n, H, s, hg, bias, h_prev, h);
  if (j < n) avx2::gru_forward(n - j, H, s + j, hg + j, bias + j, h_prev + j, h + j);
}

void rnn_forward(int64_t n, float* y, const float* hg, const float* bias, bool relu) {
  const int64_t j = rnn_forward_vec<Avx512>(n, y, hg, bias, relu);
  if (j < n) avx2::rnn_forward(n - j, y + j, hg + j, bias + j, relu);
}

void lstm_backward(int64_t n, int64_t H, const float* gates, const float* c_prev, const float* tc, const float* dy,
                   const float* dh, float* dc, float* dG) {
  const int64_t j = lstm_backward_vec<Avx512>(n, H, gates, c_prev, tc, dy, dh, dc, dG);
  if (j < n) avx2::lstm_backward(n - j, H, gates + j, c_prev + j, tc + j, dy + j, dh + j, dc + j, dG + j);
}

void gru_backward(int64_t n, int64_t H, const float* s, const float* h_prev, const float* dy, float* dh, float* dG) {
  const int64_t j = gru_backward_vec<Avx512>(n, H, s, h_prev, dy, dh, dG);
  if (j < n) avx2::gru_backward(n - j, H, s + j, h_prev + j, dy + j, dh + j, dG + j);
}

void rnn_backward(int64_t n, const float* h, const float* dy, const float* dh, float* dG, bool relu) {
  const int64_t j = rnn_backward_vec<Avx512>(n, h, dy, dh, dG, relu);
  if (j < n) avx2::rnn_backward(n - j, h + j, dy + j, dh + j, dG + j, relu);
}

}  // namespace avx512
}  // namespace ember::kernels::rnn_rows
