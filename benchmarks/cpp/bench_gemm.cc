// GEMM throughput against this machine's own FMA peak, for 1 and 2 threads.
//
//   bench_gemm            sgemm table (squares, MLP forward/backward products, conv shapes),
//                         dgemm, the generic path, and small products
//   bench_gemm --quick    sgemm table only
//
// GFLOP/s = 2*M*N*K / median time. "% peak" divides by the register-only FMA peak measured at
// start-up with the same thread count and vector width as the path (bench_util.h): 512-bit on
// CPUs where the AVX-512 kernels run, else 256-bit. Transposed operands are views (swapped
// strides), as the autograd engine passes them: X^T in dW = X^T dY, W^T in dX = dY W^T.
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm/gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using ember::bench::median_seconds;

void set_threads(int t) {
#ifdef _OPENMP
  omp_set_num_threads(t);
#else
  (void)t;
#endif
}

// One product C(MxN) = op(A) op(B); ta / tb: the operand is stored transposed and read as a view.
struct Shape {
  const char* name;
  int64_t M, N, K;
  bool ta, tb;
};

template <typename T>
struct Operands {
  std::vector<T> a, b, c;
  int64_t rsa, csa, rsb, csb;
  Operands(const Shape& s) : a(s.M * s.K), b(s.K * s.N), c(s.M * s.N) {
    std::mt19937 gen(42);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (auto& x : a) x = static_cast<T>(u(gen));
    for (auto& x : b) x = static_cast<T>(u(gen));
    // A stored K x M when transposed (element (i,k) at k*M + i), else M x K.
    rsa = s.ta ? 1 : s.K;
    csa = s.ta ? s.M : 1;
    rsb = s.tb ? 1 : s.N;
    csb = s.tb ? s.K : 1;
  }
};

// GFLOP/s from the median time and from the 10th-percentile time ("fast": what the code does
// when the core is not being shared; on a busy machine the median mostly measures the queue),
// and per core from the median CPU time ("cpu": flops / CPU seconds of all threads, the rate of
// a core while the code runs on it; immune to preemption).
struct Rate {
  double median, fast, cpu;
};

// Enough repeats for ~0.3 s per measurement, at least 9.
template <class Fn>
Rate timed(Fn&& fn, double flops) {
  fn();  // warm-up: scratch growth, thread start-up
  const double t0 = ember::bench::now_seconds();
  fn();
  const double est = ember::bench::now_seconds() - t0;
  int reps = static_cast<int>(0.3 / (est > 1e-7 ? est : 1e-7));
  reps = reps < 9 ? 9 : (reps > 3000 ? 3000 : reps);
  std::vector<double> t(reps), c(reps);
  for (int r = 0; r < reps; ++r) {
    const double s = ember::bench::now_seconds(), cs = ember::bench::cpu_seconds();
    fn();
    t[r] = ember::bench::now_seconds() - s;
    c[r] = ember::bench::cpu_seconds() - cs;
  }
  std::sort(t.begin(), t.end());
  std::sort(c.begin(), c.end());
  return {flops / t[t.size() / 2] * 1e-9, flops / t[t.size() / 10] * 1e-9, flops / c[c.size() / 2] * 1e-9};
}

template <typename T>
Rate gflops(const Shape& s, int threads) {
  Operands<T> o(s);
  set_threads(threads);
  return timed(
      [&] {
        ember::kernels::gemm(s.M, s.N, s.K, T(1), o.a.data(), o.rsa, o.csa, o.b.data(), o.rsb, o.csb, T(0),
                             o.c.data(), s.N, 1);
      },
      2.0 * s.M * s.N * s.K);
}

template <typename T>
void table(const char* title, const std::vector<Shape>& shapes, const double peak[2]) {
  std::printf("\n%s\n", title);
  std::printf("%-22s %5s %5s %5s | %8s %6s %7s %6s | %8s %6s %7s %6s | %5s\n", "shape", "M", "N", "K", "1t GF/s",
              "%peak", "(fast)", "cpu%", "2t GF/s", "%peak", "(fast)", "cpu%", "2t/1t");
  for (const Shape& s : shapes) {
    const Rate g1 = gflops<T>(s, 1), g2 = gflops<T>(s, 2);
    // cpu%: the per-core rate while running, of the 1-thread (one core) peak.
    std::printf("%-22s %5lld %5lld %5lld | %8.1f %5.0f%% %7.1f %5.0f%% | %8.1f %5.0f%% %7.1f %5.0f%% | %5.2f\n",
                s.name, (long long)s.M, (long long)s.N, (long long)s.K, g1.median, 100 * g1.median / peak[0],
                g1.fast, 100 * g1.cpu / peak[0], g2.median, 100 * g2.median / peak[1], g2.fast,
                100 * g2.cpu / peak[0], g2.median / g1.median);
    std::fflush(stdout);
  }
}

// Small products, one thread: the fixed cost per call (planning, packing, tile edges) shows.
void small_products() {
  std::printf("\nsmall products, 1 thread, float\n");
  std::printf("%-22s %5s %5s %5s  %8s %9s\n", "shape", "M", "N", "K", "GF/s", "us/call");
  const std::vector<Shape> shapes = {
      {"8^3", 8, 8, 8, false, false},          {"16^3", 16, 16, 16, false, false},
      {"32^3", 32, 32, 32, false, false},      {"64^3", 64, 64, 64, false, false},
      {"vec x mat", 1, 256, 256, false, false}, {"mat x vec", 256, 1, 256, false, false},
      {"fc3 fwd (10 classes)", 64, 10, 128, false, false}, {"fc3 dW", 128, 10, 64, true, false},
  };
  set_threads(1);
  for (const Shape& s : shapes) {
    Operands<float> o(s);
    const double flops = 2.0 * s.M * s.N * s.K;
    const double g = timed(
                         [&] {
                           ember::kernels::gemm(s.M, s.N, s.K, 1.0f, o.a.data(), o.rsa, o.csa, o.b.data(), o.rsb,
                                                o.csb, 0.0f, o.c.data(), s.N, 1);
                         },
                         flops)
                         .median;
    std::printf("%-22s %5lld %5lld %5lld  %8.1f %9.2f\n", s.name, (long long)s.M, (long long)s.N, (long long)s.K, g,
                flops / g * 1e-3);
  }
}

// Register-only FMA peak for 1 and 2 threads on 256- or 512-bit vectors. When the 2-thread run
// never had both cores (a shared machine), twice the 1-thread peak stands in (and says so).
struct Peaks {
  double f[2], d[2];
};

Peaks measure_peaks(bool wide512) {
  Peaks p;
  for (int t = 1; t <= 2; ++t) {
    p.f[t - 1] = ember::bench::measure_fma_peak_gflops(t, false, wide512);
    p.d[t - 1] = ember::bench::measure_fma_peak_gflops(t, true, wide512);
  }
  std::printf("FMA peak, %s vectors (register-only loop, best burst): float %.1f / %.1f GFLOP/s, double %.1f / "
              "%.1f GFLOP/s (1 / 2 threads)\n",
              wide512 ? "512-bit" : "256-bit", p.f[0], p.f[1], p.d[0], p.d[1]);
  if (p.f[1] < 1.5 * p.f[0] || p.d[1] < 1.5 * p.d[0]) {
    p.f[1] = 2 * p.f[0];
    p.d[1] = 2 * p.d[0];
    std::printf("note: the second core was busy during the 2-thread peak run; %%peak for 2 threads uses 2 x the "
                "1-thread peak (float %.1f, double %.1f)\n",
                p.f[1], p.d[1]);
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const bool avx512 = ember::cpu::use_avx512();
  std::printf("GEMM path: %s\n", ember::cpu::isa_name());
  const Peaks best = measure_peaks(avx512);
  std::printf("GF/s from the median time of >= 9 runs; (fast): from the 10th percentile; %%peak: of the FMA peak "
              "of the vector width the path uses;\ncpu%%: flops / median CPU seconds of all threads, of the 1-core "
              "peak (a core's rate while the code runs on it, immune to preemption)\n");

  const std::vector<Shape> sshapes = {
      {"square 256", 256, 256, 256, false, false},
      {"square 512", 512, 512, 512, false, false},
      {"square 1024", 1024, 1024, 1024, false, false},
      {"square 2048", 2048, 2048, 2048, false, false},
      {"fc1 fwd X.W", 64, 256, 784, false, false},
      {"fc1 dW = X^T.dY", 784, 256, 64, true, false},
      {"fc1 dX = dY.W^T", 64, 784, 256, false, true},
      {"fc2 fwd H.W", 64, 128, 256, false, false},
      {"fc2 dW = H^T.dY", 256, 128, 64, true, false},
      {"fc2 dX = dY.W^T", 64, 256, 128, false, true},
      {"conv1 im2col", 6, 50176, 25, false, false},
      {"conv2 im2col", 16, 6400, 150, false, false},
      {"conv 64x784x64", 64, 784, 64, false, false},
  };
  table<float>("sgemm, best path", sshapes, best.f);
  if (quick) return 0;

  const std::vector<Shape> dshapes = {
      {"square 256", 256, 256, 256, false, false},
      {"square 512", 512, 512, 512, false, false},
      {"square 1024", 1024, 1024, 1024, false, false},
      {"fc1 fwd X.W", 64, 256, 784, false, false},
  };
  table<double>("dgemm, best path", dshapes, best.d);

  const std::vector<Shape> gshapes = {
      {"square 512", 512, 512, 512, false, false},
      {"fc1 fwd X.W", 64, 256, 784, false, false},
  };
  if (avx512) {
    // The AVX2 kernels on the same machine, against the 256-bit peak (EMBER_CPU=avx2).
    const Peaks p256 = measure_peaks(false);
    ember::cpu::set_allow_avx512(false);
    table<float>("sgemm, AVX2 path (EMBER_CPU=avx2); % of the 256-bit peak", gshapes, p256.f);
    table<double>("dgemm, AVX2 path; % of the 256-bit peak", gshapes, p256.d);
    ember::cpu::set_allow_avx512(true);
  }
  ember::cpu::set_allow_avx2(false);
  table<float>("sgemm, generic path (EMBER_CPU=generic); % of the best path's peak", gshapes, best.f);
  table<double>("dgemm, generic path; % of the best path's peak", gshapes, best.d);
  ember::cpu::set_allow_avx2(true);

  small_products();
  return 0;
}
