// AVX2/FMA gate math of the recurrent kernels (float): recurrent_vec.h over 8-lane vectors, the
// scalar rows of recurrent_rows.cc for the tails. Same contracts as the portable rows.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/recurrent_rows.h"
#include "kernels/cpu/recurrent_vec.h"

namespace ember::kernels::rnn_rows {
namespace {

struct Avx2 {
  using R = __m256;
  using M = __m256;
  static constexpr int64_t W = 8;
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R fnmadd(R a, R b, R c) { return _mm256_fnmadd_ps(a, b, c); }
  static R min(R a, R b) { return _mm256_min_ps(a, b); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R round(R a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R pow2i(R k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23));
  }
  static R abs(R a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static M lt(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M gt(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M unord(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
  static R blend(M m, R f, R t) { return _mm256_blendv_ps(f, t, m); }
};

}  // namespace

namespace avx2 {

void sigmoid(int64_t n, const float* x, float* y) {
  const int64_t j = sigmoid_vec<Avx2>(n, x, y);
  for (int64_t k = j; k < n; ++k) y[k] = 1.0f / (1.0f + std::exp(-x[k]));
}

void tanh(int64_t n, const float* x, float* y) {
  const int64_t j = tanh_vec<Avx2>(n, x, y);
  for (int64_t k = j; k < n; ++k) y[k] = std::tanh(x[k]);
}

void lstm_forward(int64_t n, int64_t H, float* gates, const float* hg, const float* bias, const float* c_prev, float* c,
                  float* tc, float* h) {
  const int64_t j = lstm_forward_vec<Avx2>(n, H, gates, hg, bias, c_prev, c, tc, h);
  if (j < n) rnn_rows::lstm_forward<float>(n - j, H, gates + j, hg + j, bias + j, c_prev + j, c + j, tc + j, h + j);
}

void gru_forward(int64_t n, int64_t H, float* s, const float* hg, const float* bias, const float* h_prev, float* h) {
  const int64_t j = gru_forward_vec<Avx2>(n, H, s, hg, bias, h_prev, h);
  if (j < n) rnn_rows::gru_forward<float>(n - j, H, s + j, hg + j, bias + j, h_prev + j, h + j);
}

void rnn_forward(int64_t n, float* y, const float* hg, const float* bias, bool relu) {
  const int64_t j = rnn_forward_vec<Avx2>(n, y, hg, bias, relu);
  if (j < n) rnn_rows::rnn_forward<float>(n - j, y + j, hg + j, bias + j, relu);
}

void lstm_backward(int64_t n, int64_t H, const float* gates, const float* c_prev, const float* tc, const float* dy,
                   const float* dh, float* dc, float* dG) {
  const int64_t j = lstm_backward_vec<Avx2>(n, H, gates, c_prev, tc, dy, dh, dc, dG);
  if (j < n) rnn_rows::lstm_backward<float>(n - j, H, gates + j, c_prev + j, tc + j, dy + j, dh + j, dc + j, dG + j);
}

void gru_backward(int64_t n, int64_t H, const float* s, const float* h_prev, const float* dy, float* dh, float* dG) {
  const int64_t j = gru_backward_vec<Avx2>(n, H, s, h_prev, dy, dh, dG);
  if (j < n) rnn_rows::gru_backward<float>(n - j, H, s + j, h_prev + j, dy + j, dh + j, dG + j);
}

void rnn_backward(int64_t n, const float* h, const float* dy, const float* dh, float* dG, bool relu) {
  const int64_t j = rnn_backward_vec<Avx2>(n, h, dy, dh, dG, relu);
  if (j < n) rnn_rows::rnn_backward<float>(n - j, h + j, dy + j, dh + j, dG + j, relu);
}

}  // namespace avx2
}  // namespace ember::kernels::rnn_rows
