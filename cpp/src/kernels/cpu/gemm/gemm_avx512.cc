// AVX-512 back end of the GEMM (this file is compiled with -mavx512f/dq/bw/vl; gemm.cc calls it
// only when cpu::use_avx512() is true): the blocked driver instantiated with the 8 x 32 float /
// 8 x 16 double micro-kernel (gemm_kernel_avx512.h) and the transposing packers
// (gemm_pack_avx512.h).
#include "kernels/cpu/gemm/gemm_impl.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && defined(__AVX512VL__)

#include "kernels/cpu/gemm/gemm_driver.h"
#include "kernels/cpu/gemm/gemm_kernel_avx512.h"
#include "kernels/cpu/gemm/gemm_pack_avx512.h"

namespace ember::kernels::gemm_impl {
namespace {

template <class S, int64_t kMC, int64_t kKC, int64_t kNC>
struct Avx512Kernel {
  using T = typename S::T;
  static constexpr int64_t MR = 8, NR = 2 * S::W;
  static constexpr int64_t MC = kMC, KC = kKC, NC = kNC;
  static void kernel(int64_t kc, T alpha, const T* a, const T* b, int64_t ldb, T beta, T* c, int64_t rsc,
                     int64_t csc, int64_t m, int64_t n) {
    kernel_z<S, 8>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
  }
  static void pack_a(int64_t m, int64_t kc, const T* a, int64_t rsa, int64_t csa, T* dst) {
    pack_a8(m, kc, a, rsa, csa, dst);
  }
  static void pack_b(int64_t n, int64_t kc, const T* b, int64_t rsb, int64_t csb, T* dst) {
    pack_b_z(n, kc, b, rsb, csb, dst);
  }
  // B rows can be read straight from an image (the conv's implicit im2col), see kernel_image_z.
  static constexpr bool kImageRows = true;
  static void kernel_image(int64_t kc, T alpha, const T* a, const T* base0, const T* base1, const int64_t* off,
                           T beta, T* c, int64_t rsc, int64_t csc, int64_t m, int64_t n) {
    kernel_image_z<S, 8>(kc, alpha, a, base0, base1, off, beta, c, rsc, csc, m, n);
  }
  static constexpr int64_t VW = S::W;
  static void copy_vw(T* dst, const T* src) { copy_vw_z(dst, src); }
  static void copy_run(T* dst, const T* src, int64_t len) { copy_run_z(dst, src, len); }
  static void gather_t(T* dst, int64_t ld, const T* const* src, int64_t n, int64_t len) {
    gather_t_z(dst, ld, src, n, len);
  }
};

// Blocking for Zen 5 (48 KiB L1d, 1 MiB L2 per core, 32 MiB L3): MC x KC A block 384 KiB in L2,
// KC x NC B block 8 MiB (float) in L3. The KC x NR B micro-panel (64 KiB) is larger than L1, but
// the L2 keeps up with the kernel's one B row per 16 FMAs; on the bench_gemm shapes KC = 512
// measured a few % above 192-384 (fewer C tile round trips), and MR = 8 above 12 for M = 64
// batches (no 4-row leftover panel) while equal on squares.
#ifndef ZMC
#define ZMC 192
#define ZKC 512
#endif
using SgemmKernel = Avx512Kernel<Z32, ZMC, ZKC, 4096>;
using DgemmKernel = Avx512Kernel<Z64, ZMC, ZKC / 2, 4096>;

}  // namespace

void run_avx512(const Args<float>& p, int threads) { run_blocked<SgemmKernel>(p, threads); }
void run_avx512(const Args<double>& p, int threads) { run_blocked<DgemmKernel>(p, threads); }
int64_t packed_a_size_avx512(int64_t M, int64_t K) { return packed_a_size<SgemmKernel>(M, K); }
void pack_a_avx512(int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst) {
  pack_a_all<SgemmKernel>(M, K, A, rsa, csa, dst);
}
void pack_a_avx512(int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst) {
  pack_a_all<DgemmKernel>(M, K, A, rsa, csa, dst);
}

}  // namespace ember::kernels::gemm_impl

#else  // built without AVX-512: never selected at run time, but keep the link whole.

namespace ember::kernels::gemm_impl {
void run_avx512(const Args<float>& p, int threads) { run_avx2(p, threads); }
void run_avx512(const Args<double>& p, int threads) { run_avx2(p, threads); }
int64_t packed_a_size_avx512(int64_t M, int64_t K) { return packed_a_size_avx2(M, K); }
void pack_a_avx512(int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst) {
  pack_a_avx2(M, K, A, rsa, csa, dst);
}
void pack_a_avx512(int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst) {
  pack_a_avx2(M, K, A, rsa, csa, dst);
}
}  // namespace ember::kernels::gemm_impl

#endif
