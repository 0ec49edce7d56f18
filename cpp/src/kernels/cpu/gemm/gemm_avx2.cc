// AVX2 + FMA back end of the GEMM (this file is compiled with -mavx2 -mfma; gemm.cc calls it only
// when cpu::use_avx2() is true): the blocked driver instantiated with the 6 x 16 / 6 x 8
// micro-kernel (gemm_kernel_avx2.h) and the transposing packers (gemm_pack_avx2.h).
#include "kernels/cpu/gemm/gemm_impl.h"

#if defined(__AVX2__) && defined(__FMA__)

#include "kernels/cpu/gemm/gemm_driver.h"
#include "kernels/cpu/gemm/gemm_kernel_avx2.h"
#include "kernels/cpu/gemm/gemm_pack_avx2.h"

namespace ember::kernels::gemm_impl {
namespace {

template <class S, int64_t kMC, int64_t kKC, int64_t kNC>
struct Avx2Kernel {
  using T = typename S::T;
  static constexpr int64_t MR = 6, NR = 2 * S::W;
  static constexpr int64_t MC = kMC, KC = kKC, NC = kNC;
  static void kernel(int64_t kc, T alpha, const T* a, const T* b, int64_t ldb, T beta, T* c, int64_t rsc,
                     int64_t csc, int64_t m, int64_t n) {
    kernel_6x2w<S>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
  }
  static void pack_a(int64_t m, int64_t kc, const T* a, int64_t rsa, int64_t csa, T* dst) {
    pack_a6(m, kc, a, rsa, csa, dst);
  }
  static void pack_b(int64_t n, int64_t kc, const T* b, int64_t rsb, int64_t csb, T* dst) {
    pack_b_nr(n, kc, b, rsb, csb, dst);
  }
  static constexpr bool kImageRows = false;  // B from an image is always packed
  static constexpr int64_t VW = S::W;
  static void copy_vw(T* dst, const T* src) { copy_vw_y(dst, src); }
  static void copy_run(T* dst, const T* src, int64_t len) { copy_run_y(dst, src, len); }
  static void gather_t(T* dst, int64_t ld, const T* const* src, int64_t n, int64_t len) {
    gather_t_y(dst, ld, src, n, len);
  }
};

// Cache blocking for Zen3 (32 KiB L1d, 512 KiB L2 per core, 32 MiB L3): a KC x NR B micro-panel
// is 16 KiB (half of L1) in either precision, an MC x KC A block 144 KiB in L2, a KC x NC B block
// 4 MiB (float) in L3. The same values as BLIS's zen3 configuration; KC = 384 / 512 and MC = 96
// / 240 measured the same within noise on the bench_gemm shapes.
#ifndef SMC
#define SMC 144
#define SKC 256
#endif
using SgemmKernel = Avx2Kernel<F32, SMC, SKC, 4080>;
using DgemmKernel = Avx2Kernel<F64, 72, 256, 4080>;

}  // namespace

void run_avx2(const Args<float>& p, int threads) { run_blocked<SgemmKernel>(p, threads); }
void run_avx2(const Args<double>& p, int threads) { run_blocked<DgemmKernel>(p, threads); }
int64_t packed_a_size_avx2(int64_t M, int64_t K) { return packed_a_size<SgemmKernel>(M, K); }
void pack_a_avx2(int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst) {
  pack_a_all<SgemmKernel>(M, K, A, rsa, csa, dst);
}
void pack_a_avx2(int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst) {
  pack_a_all<DgemmKernel>(M, K, A, rsa, csa, dst);
}

}  // namespace ember::kernels::gemm_impl

#else  // built without -mavx2 -mfma: never selected at run time, but keep the link whole.

namespace ember::kernels::gemm_impl {
void run_avx2(const Args<float>& p, int threads) { run_generic(p, threads); }
void run_avx2(const Args<double>& p, int threads) { run_generic(p, threads); }
int64_t packed_a_size_avx2(int64_t M, int64_t K) { return packed_a_size_generic(M, K); }
void pack_a_avx2(int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst) {
  pack_a_generic(M, K, A, rsa, csa, dst);
}
void pack_a_avx2(int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst) {
  pack_a_generic(M, K, A, rsa, csa, dst);
}
}  // namespace ember::kernels::gemm_impl

#endif
