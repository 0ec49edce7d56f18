// AVX-512 back end of the GEMM (this file is compiled with -mavx512f/dq/bw/vl; gemm.cc calls it
// only when cpu::use_avx512() is true): the blocked driver instantiated with the MR x 32 float /
// MR x 16 double micro-kernel (gemm_kernel_avx512.h).
#include "kernels/cpu/gemm/gemm_impl.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && defined(__AVX512VL__)

#include "kernels/cpu/gemm/gemm_driver.h"
#include "kernels/cpu/gemm/gemm_kernel_avx512.h"
#include "kernels/cpu/gemm/gemm_pack.h"

namespace ember::kernels::gemm_impl {
namespace {

template <class S, int kMR, int64_t kMC, int64_t kKC, int64_t kNC>
struct Avx512Kernel {
  using T = typename S::T;
  static constexpr int64_t MR = kMR, NR = 2 * S::W;
  static constexpr int64_t MC = kMC, KC = kKC, NC = kNC;
  static void kernel(int64_t kc, T alpha, const T* a, const T* b, int64_t ldb, T beta, T* c, int64_t rsc,
                     int64_t csc, int64_t m, int64_t n) {
    kernel_z<S, kMR>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
  }
  static void pack_a(int64_t m, int64_t kc, const T* a, int64_t rsa, int64_t csa, T* dst) {
    pack_a_panel_plain<kMR>(m, kc, a, rsa, csa, dst);
  }
  static void pack_b(int64_t n, int64_t kc, const T* b, int64_t rsb, int64_t csb, T* dst) {
    pack_b_panel_plain<2 * S::W>(n, kc, b, rsb, csb, dst);
  }
};

#ifndef ZMR
#define ZMR 12
#define ZMC 144
#define ZKC 256
#endif
using SgemmKernel = Avx512Kernel<Z32, ZMR, ZMC, ZKC, 4096>;
using DgemmKernel = Avx512Kernel<Z64, ZMR, ZMC / 2, ZKC, 4096>;

}  // namespace

void run_avx512(const Args<float>& p, int threads) { run_blocked<SgemmKernel>(p, threads); }
void run_avx512(const Args<double>& p, int threads) { run_blocked<DgemmKernel>(p, threads); }

}  // namespace ember::kernels::gemm_impl

#else  // built without AVX-512: never selected at run time, but keep the link whole.

namespace ember::kernels::gemm_impl {
void run_avx512(const Args<float>& p, int threads) { run_avx2(p, threads); }
void run_avx512(const Args<double>& p, int threads) { run_avx2(p, threads); }
}  // namespace ember::kernels::gemm_impl

#endif
