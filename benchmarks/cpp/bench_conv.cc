// Conv2d and max-pool kernel timings: GFLOP/s of forward, backward-input, backward-weight (with
// the bias gradient) and the three together (also as % of the machine's FMA peak, measured at
// start-up for the vector width the kernels use), for the six shapes of the convolution issue at
// batch 64, with 1 and 2 threads, median of repeats.
//
//   bench_conv [--reps R] [--threads 1,2] [--shape i] [--no-pool] [--generic | --avx2] [--min]
//
// --min reports the fastest repeat instead of the median: on a machine shared with other jobs
// the median of a 2-thread run mostly measures the neighbours.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench_util.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/pool.h"

using namespace ember::kernels;

namespace {

void set_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

bool g_use_min = false;
double g_peak[3] = {0, 0, 0};  // FMA peak (GFLOP/s) for 1 and 2 threads, index = thread count

template <typename F>
double median_seconds(F&& f, int reps) {
  f();  // warm-up: grows scratch buffers, faults pages in
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return g_use_min ? t.front() : t[t.size() / 2];
}

struct Shape {
  int64_t ci, co, k, hw, pad;
};

std::vector<float> random_vec(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> U(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& e : v) e = U(rng);
  return v;
}

void bench_conv_shape(const Shape& s, const std::vector<int>& threads, int reps, std::mt19937& rng) {
  Conv2dParams p;
  p.N = 64, p.C_in = s.ci, p.H = p.W = s.hw, p.C_out = s.co, p.kH = p.kW = s.k;
  p.pad_h = p.pad_w = s.pad;
  const int64_t Ho = p.out_h(), Wo = p.out_w();
  const std::vector<float> x = random_vec(p.N * p.C_in * p.H * p.W, rng);
  const std::vector<float> w = random_vec(p.C_out * p.C_in * p.kH * p.kW, rng);
  const std::vector<float> b = random_vec(p.C_out, rng);
  const std::vector<float> gy = random_vec(p.N * p.C_out * Ho * Wo, rng);
  std::vector<float> y(gy.size()), gx(x.size()), gw(w.size()), gb(b.size());
  const double flop = 2.0 * p.N * p.C_out * Ho * Wo * p.C_in * p.kH * p.kW;

  for (int nt : threads) {
    set_threads(nt);
    const double tf = median_seconds([&] { conv2d_forward(p, x.data(), w.data(), b.data(), y.data()); }, reps);
    const double ti = median_seconds([&] { conv2d_backward_input(p, gy.data(), w.data(), gx.data()); }, reps);
    const double tw = median_seconds(
        [&] {
          conv2d_backward_weight(p, x.data(), gy.data(), gw.data());
          conv2d_backward_bias(p, gy.data(), gb.data());
        },
        reps);
    const double tt = tf + ti + tw;
    const double peak = nt >= 1 && nt <= 2 ? g_peak[nt] : 0;
    std::printf("%4lld->%-4lld k%lld %2lldx%-2lld p%lld  %d thr | fwd %6.1f  bin %6.1f  bw %6.1f  total %6.1f GFLOP/s"
                " %3.0f%% peak | %7.2f ms\n",
                (long long)s.ci, (long long)s.co, (long long)s.k, (long long)s.hw, (long long)s.hw,
                (long long)s.pad, nt, flop / tf * 1e-9, flop / ti * 1e-9, flop / tw * 1e-9, 3 * flop / tt * 1e-9,
                peak > 0 ? 100 * 3 * flop / tt * 1e-9 / peak : 0.0, tt * 1e3);
    std::fflush(stdout);
  }
}

void bench_maxpool(const std::vector<int>& threads, int reps, std::mt19937& rng) {
  Pool2dParams p;
  p.N = 64, p.C = 32, p.H = p.W = 32, p.kH = p.kW = 2, p.stride_h = p.stride_w = 2;
  const int64_t Ho = p.out_h(), Wo = p.out_w();
  const std::vector<float> x = random_vec(p.N * p.C * p.H * p.W, rng);
  const std::vector<float> gy = random_vec(p.N * p.C * Ho * Wo, rng);
  std::vector<float> y(gy.size()), gx(x.size());
  std::vector<int64_t> idx(gy.size());
  for (int nt : threads) {
    set_threads(nt);
    const double tf = median_seconds([&] { max_pool2d_forward(p, x.data(), y.data(), idx.data()); }, reps * 3);
    const double tb = median_seconds([&] { max_pool2d_backward(p, gy.data(), idx.data(), gx.data()); }, reps * 3);
    std::printf("max_pool2d 2x2 s2 on 64x32x32x32 f32  %d thr | fwd %7.1f us  bwd %7.1f us  total %7.1f us\n", nt,
                tf * 1e6, tb * 1e6, (tf + tb) * 1e6);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7, only_shape = -1;
  bool pool = true;
  std::vector<int> threads = {1, 2};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--shape") && i + 1 < argc) {
      only_shape = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads.clear();
      for (char* t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ",")) threads.push_back(std::atoi(t));
    } else if (!std::strcmp(argv[i], "--no-pool")) {
      pool = false;
    } else if (!std::strcmp(argv[i], "--min")) {
      g_use_min = true;
    } else if (!std::strcmp(argv[i], "--generic")) {
      ember::cpu::set_allow_avx2(false);
    } else if (!std::strcmp(argv[i], "--avx2")) {
      ember::cpu::set_allow_avx512(false);
    } else {
      std::fprintf(stderr, "usage: %s [--reps R] [--threads 1,2] [--shape i] [--no-pool] [--generic|--avx2] [--min]\n", argv[0]);
      return 2;
    }
  }
  const Shape shapes[] = {{1, 6, 5, 28, 2},  {6, 16, 5, 14, 0},   {3, 32, 3, 32, 1},
                          {32, 64, 3, 16, 1}, {64, 64, 3, 32, 1}, {128, 128, 3, 16, 1}};
  std::mt19937 rng(7);
  // The peak of the vector width the kernels use: 512-bit where the AVX-512 paths run.
  const bool wide = ember::cpu::use_avx512();
  for (int t = 1; t <= 2; ++t) g_peak[t] = ember::bench::measure_fma_peak_gflops(t, false, wide);
  std::printf("FMA peak, float, %s vectors: %.1f / %.1f GFLOP/s (1 / 2 threads)\n", wide ? "512-bit" : "256-bit",
              g_peak[1], g_peak[2]);
  if (g_peak[2] < 1.5 * g_peak[1]) {
    g_peak[2] = 2 * g_peak[1];
    std::printf("note: the second core was busy during the 2-thread peak run; %%peak for 2 threads uses 2 x the "
                "1-thread peak (%.1f)\n",
                g_peak[2]);
  }
  std::printf("conv2d float32, batch 64, %s of %d, kernels: %s; %%peak = total GFLOP/s / FMA peak\n",
              g_use_min ? "min" : "median", reps, ember::cpu::isa_name());
  for (int i = 0; i < 6; ++i)
    if (only_shape < 0 || only_shape == i) bench_conv_shape(shapes[i], threads, reps, rng);
  if (pool) bench_maxpool(threads, reps, rng);
  return 0;
}
