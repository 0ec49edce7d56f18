// Portable back end of the GEMM: the same packing and blocking as the AVX2 path, with a
// micro-kernel in plain C++ that the compiler vectorizes for baseline x86-64 (SSE2: 16 xmm
// registers). Used when the CPU lacks AVX2/FMA or EMBER_CPU=generic.
#include "kernels/cpu/gemm/gemm_driver.h"
#include "kernels/cpu/gemm/gemm_impl.h"
#include "kernels/cpu/gemm/gemm_pack.h"

namespace ember::kernels::gemm_impl {
namespace {

// MR x NR tile in a local array the compiler keeps (mostly) in xmm registers. 4 x 8 measured
// best with GCC 12 on SSE2 for both precisions (float 256^3: 27 GFLOP/s vs 22 for 6 x 8).
template <typename T, int MR, int NR>
void kernel_plain(int64_t kc, T alpha, const T* a, const T* b, int64_t ldb, T beta, T* c, int64_t rsc, int64_t csc,
                  int64_t m, int64_t n) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    a += MR;
    b += ldb;
  }
  // Same formula for every element, ragged tile or not (no FMA contraction on baseline x86-64).
  if (beta == T(0)) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * rsc + j * csc] = alpha * acc[i][j];
  } else {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T& x = c[i * rsc + j * csc];
        x = alpha * acc[i][j] + beta * x;
      }
  }
}

template <typename E, int kMR, int kNR, int64_t kMC, int64_t kKC, int64_t kNC>
struct GenericKernel {
  using T = E;
  static constexpr int64_t MR = kMR, NR = kNR;
  static constexpr int64_t MC = kMC, KC = kKC, NC = kNC;
  static void kernel(int64_t kc, T alpha, const T* a, const T* b, int64_t ldb, T beta, T* c, int64_t rsc,
                     int64_t csc, int64_t m, int64_t n) {
    kernel_plain<T, kMR, kNR>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
  }
  static void pack_a(int64_t m, int64_t kc, const T* a, int64_t rsa, int64_t csa, T* dst) {
    pack_a_panel_plain<kMR>(m, kc, a, rsa, csa, dst);
  }
  static void pack_b(int64_t n, int64_t kc, const T* b, int64_t rsb, int64_t csb, T* dst) {
    pack_b_panel_plain<kNR>(n, kc, b, rsb, csb, dst);
  }
  static constexpr bool kImageRows = false;  // B from an image is always packed
  static constexpr int64_t VW = kNR;
  static void copy_vw(T* dst, const T* src) { copy_run_plain(dst, src, kNR); }
  static void copy_run(T* dst, const T* src, int64_t len) { copy_run_plain(dst, src, len); }
  static void gather_t(T* dst, int64_t ld, const T* const* src, int64_t n, int64_t len) {
    gather_t_plain(dst, ld, src, n, len);
  }
};

using SgemmKernel = GenericKernel<float, 4, 8, 144, 256, 4080>;
using DgemmKernel = GenericKernel<double, 4, 8, 72, 256, 4080>;

}  // namespace

void run_generic(const Args<float>& p, int threads) { run_blocked<SgemmKernel>(p, threads); }
void run_generic(const Args<double>& p, int threads) { run_blocked<DgemmKernel>(p, threads); }
int64_t packed_a_size_generic(int64_t M, int64_t K) { return packed_a_size<SgemmKernel>(M, K); }
void pack_a_generic(int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst) {
  pack_a_all<SgemmKernel>(M, K, A, rsa, csa, dst);
}
void pack_a_generic(int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst) {
  pack_a_all<DgemmKernel>(M, K, A, rsa, csa, dst);
}

}  // namespace ember::kernels::gemm_impl
