// Tiny shared helpers for the C++ benchmarks: robust timing and this machine's own FMA peak.
//
//   double median_seconds(fn, repeats)          -- one warm-up call, then the median of `repeats`
//   double cpu_seconds()                         -- CPU time of the process (all threads)
//   double measure_fma_peak_gflops(threads, fp64, wide512) -- register-only FMA loop on `threads`
//                                                  threads, 256- or 512-bit vectors
//
// Figures on shared machines drift; medians and a peak measured in the same process make the
// printed ratios comparable from run to run.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ember::bench {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of the whole process (all threads): the time its threads actually ran. A run that was
// preempted on a shared machine takes longer in wall time but not in CPU time, so flops divided
// by it show what the code does on a core it has (threads sleeping in a barrier do not count
// with OMP_WAIT_POLICY=passive; spinning ones do).
inline double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class Fn>
double median_seconds(Fn&& fn, int repeats) {
  fn();  // warm-up: page faults, scratch growth, thread start-up
  std::vector<double> t;
  t.reserve(repeats > 0 ? repeats : 1);
  for (int r = 0; r < (repeats > 0 ? repeats : 1); ++r) {
    const double t0 = now_seconds();
    fn();
    t.push_back(now_seconds() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

namespace detail {

// 12 independent accumulator chains: enough to cover FMA latency (4-5 cycles) on both pipes.
// x = x * m + a converges to 1 and never goes subnormal. Returns the flops done.
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) inline double fma_loop_avx2(int64_t iters, bool fp64, double* sink) {
  if (fp64) {
    __m256d x[12];
    const __m256d m = _mm256_set1_pd(0.999), a = _mm256_set1_pd(0.001);
    for (int i = 0; i < 12; ++i) x[i] = _mm256_set1_pd(1.0 + i * 1e-3);
    for (int64_t it = 0; it < iters; ++it)
      for (int i = 0; i < 12; ++i) x[i] = _mm256_fmadd_pd(x[i], m, a);
    __m256d s = x[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_pd(s, x[i]);
    *sink += _mm256_cvtsd_f64(s);
    return 12.0 * 4 * 2 * static_cast<double>(iters);
  }
  __m256 x[12];
  const __m256 m = _mm256_set1_ps(0.999f), a = _mm256_set1_ps(0.001f);
  for (int i = 0; i < 12; ++i) x[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) x[i] = _mm256_fmadd_ps(x[i], m, a);
  __m256 s = x[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, x[i]);
  *sink += _mm256_cvtss_f32(s);
  return 12.0 * 8 * 2 * static_cast<double>(iters);
}

// The same on 512-bit vectors (AVX-512F), for CPUs whose kernels use them.
__attribute__((target("avx512f"))) inline double fma_loop_avx512(int64_t iters, bool fp64, double* sink) {
  if (fp64) {
    __m512d x[12];
    const __m512d m = _mm512_set1_pd(0.999), a = _mm512_set1_pd(0.001);
    for (int i = 0; i < 12; ++i) x[i] = _mm512_set1_pd(1.0 + i * 1e-3);
    for (int64_t it = 0; it < iters; ++it)
      for (int i = 0; i < 12; ++i) x[i] = _mm512_fmadd_pd(x[i], m, a);
    alignas(64) double out[8];
    __m512d s = x[0];
    for (int i = 1; i < 12; ++i) s = _mm512_add_pd(s, x[i]);
    _mm512_store_pd(out, s);
    *sink += out[0];
    return 12.0 * 8 * 2 * static_cast<double>(iters);
  }
  __m512 x[12];
  const __m512 m = _mm512_set1_ps(0.999f), a = _mm512_set1_ps(0.001f);
  for (int i = 0; i < 12; ++i) x[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) x[i] = _mm512_fmadd_ps(x[i], m, a);
  alignas(64) float out[16];
  __m512 s = x[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, x[i]);
  _mm512_store_ps(out, s);
  *sink += out[0];
  return 12.0 * 16 * 2 * static_cast<double>(iters);
}

inline bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

// Portable fallback: separate multiply and add on 128-bit SSE2 (what the generic path can use).
template <typename T>
double mul_add_loop_plain(int64_t iters, double* sink) {
  constexpr int L = 16 / sizeof(T), C = 12;
  T x[C][L];
  for (int i = 0; i < C; ++i)
    for (int l = 0; l < L; ++l) x[i][l] = T(1) + T(i * 1e-3);
  const T m = T(0.999), a = T(0.001);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < C; ++i)
      for (int l = 0; l < L; ++l) x[i][l] = x[i][l] * m + a;
  double s = 0;
  for (int i = 0; i < C; ++i)
    for (int l = 0; l < L; ++l) s += x[i][l];
  *sink += s;
  return C * L * 2.0 * static_cast<double>(iters);
}

}  // namespace detail

// Peak multiply-add throughput of `threads` threads (GFLOP/s, one FMA = 2 flops): each thread
// runs a register-only loop on 256-bit vectors (wide512: 512-bit, the width ember's AVX-512
// kernels use). Many short bursts (~0.5 ms) and the best one is reported: on a shared machine a
// long run mostly measures the scheduler, a short burst the core.
inline double measure_fma_peak_gflops(int threads, bool fp64, bool wide512 = false) {
  constexpr int64_t kIters = 20'000;  // x 12 FMAs: ~0.25 ms at 2 FMAs per cycle and 3 GHz
  constexpr int kBursts = 400;
  double best = 0, sink = 0;
  for (int rep = 0; rep < kBursts; ++rep) {
    double flops = 0;
    const double t0 = now_seconds();
#pragma omp parallel num_threads(threads) reduction(+ : flops, sink)
    {
#if defined(__x86_64__) || defined(__i386__)
      if (wide512) {
        flops += detail::fma_loop_avx512(kIters, fp64, &sink);
      } else if (detail::cpu_has_avx2_fma()) {
        flops += detail::fma_loop_avx2(kIters, fp64, &sink);
      } else
#endif
      {
        flops += fp64 ? detail::mul_add_loop_plain<double>(kIters, &sink)
                      : detail::mul_add_loop_plain<float>(kIters, &sink);
      }
    }
    const double gf = flops / (now_seconds() - t0) * 1e-9;
    if (gf > best) best = gf;
  }
  if (sink == 12345.678) best += 1e-9;  // keep the loops' results alive
  return best;
}

}  // namespace ember::bench
