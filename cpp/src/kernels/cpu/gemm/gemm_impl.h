// Internal interface between the GEMM front end (gemm.cc, baseline ISA) and the compiled back
// ends: gemm_avx512.cc (built with AVX-512), gemm_avx2.cc (-mavx2 -mfma) and gemm_generic.cc
// (baseline x86-64).
// Each back end instantiates the same blocked driver (gemm_driver.h) with its own micro-kernel.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember::kernels::gemm_impl {

// One GEMM problem, exactly the arguments of kernels::gemm. Plain data: no code, so sharing it
// between translation units built for different ISAs is safe.
template <typename T>
struct Args {
  int64_t M, N, K;
  T alpha;
  const T* A;
  int64_t rsa, csa;
  const T* B;
  int64_t rsb, csb;
  T beta;
  T* C;
  int64_t rsc, csc;
};

// Blocked, packed GEMM with up to `threads` OpenMP threads. Preconditions (checked by gemm.cc):
// M, N, K >= 1 and alpha != 0.
void run_avx512(const Args<float>& p, int threads);
void run_avx512(const Args<double>& p, int threads);
void run_avx2(const Args<float>& p, int threads);
void run_avx2(const Args<double>& p, int threads);
void run_generic(const Args<float>& p, int threads);
void run_generic(const Args<double>& p, int threads);

// Per-thread scratch, 4 KiB aligned, grown on demand and kept for the thread's lifetime, so the
// hot path allocates nothing after warm-up. Slots let one thread hold several buffers at once.
// The returned pointer stays valid until the same thread asks the same slot for more bytes.
enum ScratchSlot { kScratchA = 0, kScratchB = 1, kScratchSlots = 2 };
void* scratch(ScratchSlot slot, size_t bytes);

}  // namespace ember::kernels::gemm_impl
