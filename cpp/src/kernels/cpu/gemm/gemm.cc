// GEMM front end: degenerate cases, the thread count, and the run-time ISA dispatch (AVX-512,
// AVX2/FMA or portable).
//
// Reproducibility: the code path and the K blocking depend on the shape alone, never on the
// thread count, and threads only split C. So 1, 2 or any number of threads give the same bits.
//
// There is no separate unpacked loop for tiny products: once the one-thread path stopped
// entering OpenMP, packing won from 8x8x8 up (bench_gemm, "small products").
#include "kernels/cpu/gemm/gemm.h"

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm/gemm_impl.h"
#include "kernels/cpu/parallel.h"

namespace ember::kernels {
namespace {

using gemm_impl::Args;

// Below this many multiply-adds one thread finishes before a second one pays for its wake-up and
// the barriers (measured on 2 cores with the AVX2 kernels: 64x128x64 = 0.5M no gain, 96^3 = 0.9M
// 1.3-1.45x faster). The AVX-512 kernels do the same work in half the time, so they need twice
// as much before a second thread pays.
constexpr int64_t kThreadWork = 768 * 1024;

int64_t thread_work(GemmIsa isa) { return isa == GemmIsa::avx512 ? 2 * kThreadWork : kThreadWork; }

template <typename T>
void scale_c(const Args<T>& p) {
  if (p.beta == T(1)) return;
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t j = 0; j < p.N; ++j) {
      T& c = p.C[i * p.rsc + j * p.csc];
      c = p.beta == T(0) ? T(0) : p.beta * c;  // beta == 0: C is not read, NaN is overwritten
    }
}

GemmIsa current_isa() {
  return cpu::use_avx512() ? GemmIsa::avx512 : (cpu::use_avx2() ? GemmIsa::avx2 : GemmIsa::generic);
}

template <typename T>
void gemm_on(GemmIsa isa, const Args<T>& p, bool allow_threads) {
  if (p.M <= 0 || p.N <= 0) return;
  if (p.K <= 0 || p.alpha == T(0)) {
    scale_c(p);
    return;
  }
  const int64_t work = p.M * p.N * p.K;
  const int threads = allow_threads && work >= thread_work(isa) && !cpu::in_parallel() ? cpu::max_threads() : 1;
  switch (isa) {
    case GemmIsa::avx512: gemm_impl::run_avx512(p, threads); break;
    case GemmIsa::avx2: gemm_impl::run_avx2(p, threads); break;
    default: gemm_impl::run_generic(p, threads); break;
  }
}

template <typename T>
void gemm_one(const Args<T>& p, bool allow_threads) {
  gemm_on(current_isa(), p, allow_threads);
}

template <typename T>
void pack_a_on(GemmIsa isa, int64_t M, int64_t K, const T* A, int64_t rsa, int64_t csa, T* dst) {
  switch (isa) {
    case GemmIsa::avx512: gemm_impl::pack_a_avx512(M, K, A, rsa, csa, dst); break;
    case GemmIsa::avx2: gemm_impl::pack_a_avx2(M, K, A, rsa, csa, dst); break;
    default: gemm_impl::pack_a_generic(M, K, A, rsa, csa, dst); break;
  }
}

template <typename T>
void gemm_batched_any(int64_t batch, const Args<T>& p, int64_t stride_a, int64_t stride_b, int64_t stride_c) {
  if (batch <= 0) return;
  auto item = [&](int64_t b) {
    Args<T> q = p;
    q.A = p.A + b * stride_a;
    q.B = p.B + b * stride_b;
    q.C = p.C + b * stride_c;
    return q;
  };
  const int64_t work = p.M * p.N * p.K;
  // One product per thread when each is too small to keep the whole team busy on its own.
  const bool per_thread = batch > 1 && work < 4 * thread_work(current_isa()) && cpu::worth_parallel(batch * work);
  if (per_thread) {
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < batch; ++b) gemm_one(item(b), false);
  } else {
    for (int64_t b = 0; b < batch; ++b) gemm_one(item(b), true);
  }
}

}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rsa, int64_t csa,
          const float* B, int64_t rsb, int64_t csb, float beta, float* C, int64_t rsc, int64_t csc) {
  gemm_one(Args<float>{M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc}, true);
}

void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsa, int64_t csa,
          const double* B, int64_t rsb, int64_t csb, double beta, double* C, int64_t rsc, int64_t csc) {
  gemm_one(Args<double>{M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc}, true);
}

void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t stride_a,
                  int64_t rsa, int64_t csa, const float* B, int64_t stride_b, int64_t rsb, int64_t csb, float beta,
                  float* C, int64_t stride_c, int64_t rsc, int64_t csc) {
  gemm_batched_any(batch, Args<float>{M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc}, stride_a,
                   stride_b, stride_c);
}

GemmIsa gemm_isa() { return current_isa(); }

int64_t gemm_packed_a_size(GemmIsa isa, int64_t M, int64_t K) {
  switch (isa) {
    case GemmIsa::avx512: return gemm_impl::packed_a_size_avx512(M, K);
    case GemmIsa::avx2: return gemm_impl::packed_a_size_avx2(M, K);
    default: return gemm_impl::packed_a_size_generic(M, K);
  }
}

void gemm_pack_a(GemmIsa isa, int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst) {
  pack_a_on(isa, M, K, A, rsa, csa, dst);
}
void gemm_pack_a(GemmIsa isa, int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst) {
  pack_a_on(isa, M, K, A, rsa, csa, dst);
}

void gemm_ex(GemmIsa isa, const Args<float>& args, bool allow_threads) { gemm_on(isa, args, allow_threads); }
void gemm_ex(GemmIsa isa, const Args<double>& args, bool allow_threads) { gemm_on(isa, args, allow_threads); }

void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  int64_t stride_a, int64_t rsa, int64_t csa, const double* B, int64_t stride_b, int64_t rsb,
                  int64_t csb, double beta, double* C, int64_t stride_c, int64_t rsc, int64_t csc) {
  gemm_batched_any(batch, Args<double>{M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc}, stride_a,
                   stride_b, stride_c);
}

}  // namespace ember::kernels
