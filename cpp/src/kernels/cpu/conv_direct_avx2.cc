// The direct small-channel convolution (conv_direct_impl.h, and conv_batch_lanes_impl.h for
// batches of 8 or more) on 8-lane AVX2/FMA vectors (this file
// is compiled with -mavx2 -mfma; conv.cc calls it only when cpu::use_avx2() is true).
#include <immintrin.h>

#include "kernels/cpu/conv_batch_lanes_impl.h"
#include "kernels/cpu/conv_direct_impl.h"

namespace ember::kernels {
namespace {

struct Ymm {
  using V = __m256;
  using M = __m256i;
  static constexpr int W = 8, kRegs = 16;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static M mask_for(int64_t n) {  // lanes < n
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V maskz_load(M m, const float* p) { return _mm256_maskload_ps(p, m); }
  static float hsum(V v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
  }
};

}  // namespace

bool conv2d_forward_direct_avx2(const Conv2dParams& p, const float* input, const float* weight, const float* bias,
                                float* output) {
  return batch_lanes::forward_then_rest<Ymm>(p, input, weight, bias, output,
                                             [&](const Conv2dParams& q, const float* x, float* y) {
                                               return direct_impl::forward<Ymm>(q, x, weight, bias, y);
                                             });
}
bool conv2d_backward_input_direct_avx2(const Conv2dParams& p, const float* grad_output, const float* weight,
                                       float* grad_input) {
  return batch_lanes::backward_input_then_rest<Ymm>(p, grad_output, weight, grad_input,
                                                    [&](const Conv2dParams& q, const float* gy, float* gx) {
                                                      return direct_impl::backward_input<Ymm>(q, gy, weight, gx);
                                                    });
}
bool conv2d_backward_weight_direct_avx2(const Conv2dParams& p, const float* input, const float* grad_output,
                                        float* grad_weight) {
  return batch_lanes::backward_weight_then_rest<Ymm>(
      p, input, grad_output, grad_weight, [](const Conv2dParams& q, const float* x, const float* gy, float* gw) {
        return direct_impl::backward_weight<Ymm>(q, x, gy, gw);
      });
}

}  // namespace ember::kernels
