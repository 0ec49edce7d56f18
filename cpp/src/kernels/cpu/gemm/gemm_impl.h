// Internal interface between the GEMM front end (gemm.cc, baseline ISA) and the compiled back
// ends: gemm_avx512.cc (built with AVX-512), gemm_avx2.cc (-mavx2 -mfma) and gemm_generic.cc
// (baseline x86-64).
// Each back end instantiates the same blocked driver (gemm_driver.h) with its own micro-kernel.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember::kernels::gemm_impl {

// B as a view of an image, for convolutions without an im2col matrix ("implicit GEMM"):
//   transposed == false:  B(k, j) = base[off[k] + pos(j)]    (k: kernel tap, j: output pixel)
//   transposed == true:   B(k, j) = base[off[j] + pos(k)]    (k: output pixel, j: kernel tap)
// with pos(q) = (q / width) * row_step + (q % width) * col_step: output pixel q = (row, column)
// of an output plane `width` columns wide, read from a zero-padded input plane.
template <typename T>
struct Im2colSource {
  const T* base;
  const int64_t* off;
  int64_t width, row_step, col_step;
  bool transposed;
};

// One GEMM problem: the arguments of kernels::gemm, plus two optional operand forms for the
// convolutions. Plain data: no code, so sharing it between translation units built for
// different ISAs is safe.
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
  // Not null: A was packed by pack_a_* of the same back end (A, rsa, csa unused), so a product
  // repeated over a batch packs its shared operand once.
  const T* A_packed = nullptr;
  // Not null: B is this image view (B, rsb, csb unused).
  const Im2colSource<T>* B_im2col = nullptr;
};

// Blocked, packed GEMM with up to `threads` OpenMP threads. Preconditions (checked by gemm.cc):
// M, N, K >= 1 and alpha != 0.
void run_avx512(const Args<float>& p, int threads);
void run_avx512(const Args<double>& p, int threads);
void run_avx2(const Args<float>& p, int threads);
void run_avx2(const Args<double>& p, int threads);
void run_generic(const Args<float>& p, int threads);
void run_generic(const Args<double>& p, int threads);

// A packed for repeated use with Args::A_packed: packed_a_size_* elements (a function of M, K and
// the back end only), filled by pack_a_* from any strided M x K matrix.
int64_t packed_a_size_avx512(int64_t M, int64_t K);
int64_t packed_a_size_avx2(int64_t M, int64_t K);
int64_t packed_a_size_generic(int64_t M, int64_t K);
void pack_a_avx512(int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst);
void pack_a_avx512(int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst);
void pack_a_avx2(int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst);
void pack_a_avx2(int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst);
void pack_a_generic(int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst);
void pack_a_generic(int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst);

// Per-thread scratch, 4 KiB aligned, grown on demand and kept for the thread's lifetime, so the
// hot path allocates nothing after warm-up. Slots let one thread hold several buffers at once.
// The returned pointer stays valid until the same thread asks the same slot for more bytes.
enum ScratchSlot { kScratchA = 0, kScratchB = 1, kScratchSlots = 2 };
void* scratch(ScratchSlot slot, size_t bytes);

}  // namespace ember::kernels::gemm_impl
