// Run-time CPU feature detection. Kernels compiled with -mavx2 -mfma live in files named
// *_avx2.cc, kernels compiled with AVX-512 (F, DQ, BW, VL) in files named *_avx512.cc; callers
// pick them only when use_avx2() / use_avx512() is true, so one wheel runs on any x86-64.
//
// EMBER_CPU (read once, at first call) caps the instruction set: "generic" (plain x86-64),
// "avx2" (AVX2/FMA, no AVX-512); anything else, or unset, means the best the CPU has.
#pragma once

namespace ember::cpu {

// True when the CPU has AVX2 and FMA and neither EMBER_CPU nor set_allow_avx2(false) forbids it.
bool use_avx2();

// True when use_avx2() is and the CPU (and OS) also support AVX-512 F/DQ/BW/VL, unless
// EMBER_CPU=avx2 or set_allow_avx512(false) forbids it.
bool use_avx512();

// For tests and benchmarks: override the decision at run time. set_allow_avx2(false) selects
// the portable path (and so no AVX-512 either); set_allow_avx512(false) caps at AVX2.
void set_allow_avx2(bool allow);
void set_allow_avx512(bool allow);

// The widest instruction set in use now: "avx512", "avx2" or "generic".
const char* isa_name();

}  // namespace ember::cpu
