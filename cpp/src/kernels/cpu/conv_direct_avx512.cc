// The direct small-channel convolution (conv_direct_impl.h) on 16-lane AVX-512 vectors with 32
// registers (this file is compiled with AVX-512; conv.cc calls it only when cpu::use_avx512()).
// GCC 12's AVX-512 headers pass _mm256_undefined_*() into masked builtins, which -Wuninitialized
// reports wherever such an intrinsic (extract, shuffle, reduce) is inlined; nothing here is
// uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "kernels/cpu/conv_direct_impl.h"

namespace ember::kernels {

#if defined(__AVX512F__)

namespace {

struct Zmm {
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16, kRegs = 32;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static M mask_for(int64_t n) { return static_cast<M>((1u << n) - 1u); }  // lanes < n
  static V maskz_load(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
};

}  // namespace

bool conv2d_forward_direct_avx512(const Conv2dParams& p, const float* input, const float* weight, const float* bias,
                                  float* output) {
  return direct_impl::forward<Zmm>(p, input, weight, bias, output);
}
bool conv2d_backward_input_direct_avx512(const Conv2dParams& p, const float* grad_output, const float* weight,
                                         float* grad_input) {
  return direct_impl::backward_input<Zmm>(p, grad_output, weight, grad_input);
}
bool conv2d_backward_weight_direct_avx512(const Conv2dParams& p, const float* input, const float* grad_output,
                                          float* grad_weight) {
  return direct_impl::backward_weight<Zmm>(p, input, grad_output, grad_weight);
}

#else  // built without AVX-512: never selected at run time

bool conv2d_forward_direct_avx512(const Conv2dParams&, const float*, const float*, const float*, float*) {
  return false;
}
bool conv2d_backward_input_direct_avx512(const Conv2dParams&, const float*, const float*, float*) { return false; }
bool conv2d_backward_weight_direct_avx512(const Conv2dParams&, const float*, const float*, float*) { return false; }

#endif

}  // namespace ember::kernels
