// float32 row loops with AVX2/FMA, defined in softmax_avx2.cc (compiled with -mavx2 -mfma) and
// called only when cpu::use_avx2(). Tails shorter than 8 use masked loads, so a 10-class row is
// one full vector plus one masked one.
#pragma once

#include <cstdint>

namespace ember::kernels::avx2 {

float row_max(const float* x, int64_t n);
// sum exp(x - shift), storing each exp into e when e is not null; x - shift <= 0 expected.
float row_exp_sum(const float* x, float shift, float* e, int64_t n);
// y[i] = exp(y[i]) for y <= 0 (used by the strided softmax).
void exp_inplace(float* y, int64_t n);

}  // namespace ember::kernels::avx2
