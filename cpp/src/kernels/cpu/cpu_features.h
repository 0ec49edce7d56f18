// Run-time CPU feature detection. Kernels compiled with -mavx2 -mfma live in files named
// *_avx2.cc; callers pick them only when use_avx2() is true, so one wheel runs on any x86-64.
#pragma once

namespace ember::cpu {

// True when the CPU has AVX2 and FMA and the user has not forced the generic path with the
// environment variable EMBER_CPU=generic (read once, at first call).
bool use_avx2();

// For tests and benchmarks: override the decision at run time (true = allow AVX2 if present).
void set_allow_avx2(bool allow);

}  // namespace ember::cpu
