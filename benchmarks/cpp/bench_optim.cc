// Optimizer-step kernels vs the machine's memory bandwidth.
//
// An optimizer step is a streaming pass with almost no reuse, so the yardstick is bandwidth, two
// ways, each at 1 and 2 threads:
//   STREAM triad a = b + s * c, counted as STREAM does (12 bytes per float32 element; the
//   write-allocate read of `a` is not counted);
//   "pattern" loops that touch exactly the optimizer's streams with trivial math (p, b += s * g:
//   20 bytes; p, m, v += s * g: 28 bytes): the ceiling for that access pattern. On machines where memory latency is high (VMs), bandwidth grows with the number of
//   concurrent streams, so a 7-stream step can beat the 3-stream triad.
// Then one step over 10M float32 parameters, as one tensor and as 100 tensors of 100k (one
// multi-tensor call), for SGD with momentum (20 bytes/param: read p, g, buf; write p, buf) and
// Adam (28 bytes/param: read p, g, m, v; write p, m, v), with the AVX2 and the generic loops.
// Every case runs once per round, so a burst of load on a shared machine hits the yardsticks and
// the kernels alike; printed figures are medians over rounds. Usage: bench_optim [rounds]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <omp.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/optim.h"

using namespace ember::kernels;

namespace {

enum Kind { kTriad, kSgdPattern, kAdamPattern, kSgdStep, kAdamStep };

// One benchmark case: what it is, the bytes it moves per run, and the run itself.
struct Case {
  Kind kind;
  std::string name;
  int threads;
  double bytes;
  std::function<void()> run;
  std::vector<double> ms;
  double median() const {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
  double gbps() const { return bytes / (median() * 1e6); }
};

// Parameters and state for `count` tensors of `numel` elements each, separately allocated.
struct Model {
  std::vector<std::vector<float>> p, g, s0, s1;
  std::vector<float*> pp, ps0, ps1;
  std::vector<const float*> pg;
  std::vector<int64_t> numels, steps;
  std::vector<uint8_t> first;

  Model(int count, int64_t numel) {
    for (int t = 0; t < count; ++t) {
      std::vector<float> p0(static_cast<size_t>(numel)), g0(static_cast<size_t>(numel));
      for (int64_t i = 0; i < numel; ++i) {
        p0[size_t(i)] = float((i * 7919 + t) % 1000) * 1e-3f - 0.5f;
        g0[size_t(i)] = float((i * 104729 + 3 * t) % 2001) * 1e-3f - 1.0f;
      }
      p.push_back(p0);
      g.push_back(g0);
      s0.emplace_back(size_t(numel), 0.f);
      s1.emplace_back(size_t(numel), 0.f);
    }
    for (int t = 0; t < count; ++t) {
      pp.push_back(p[t].data());
      pg.push_back(g[t].data());
      ps0.push_back(s0[t].data());
      ps1.push_back(s1[t].data());
      numels.push_back(numel);
      steps.push_back(0);
      first.push_back(0);
    }
  }
  int64_t count() const { return int64_t(p.size()); }

  void adam() {
    AdamOptions o;
    for (auto& s : steps) ++s;
    adam_step_multi<float>(count(), pp.data(), pg.data(), ps0.data(), ps1.data(), nullptr, numels.data(), steps.data(),
                           o);
  }
  void sgd_momentum() {
    SgdOptions o;
    o.lr = 1e-3, o.momentum = 0.9;
    sgd_step_multi<float>(count(), pp.data(), pg.data(), ps0.data(), numels.data(), first.data(), o);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 11;
  const int max_threads = std::min(2, omp_get_max_threads());
  const bool has_avx2 = ember::cpu::use_avx2();

  // Bandwidth yardsticks, over arrays of the steps' size (40 MB each, beyond the 32 MB L3 of the
  // machine this was tuned on): in a VM, page walks make bigger arrays slower per byte.
  const int64_t total = 10'000'000;
  std::vector<float> a(size_t(total), 0.f), b(size_t(total), 1.f), c(size_t(total), 2.f);
  float* pa = a.data();
  const float *pb = b.data(), *pc = c.data();
  Model pattern(1, total);
  float* pp = pattern.pp[0];
  const float* pg = pattern.pg[0];
  float *pm = pattern.ps0[0], *pv = pattern.ps1[0];

  Model one(1, total), many(100, total / 100);

  std::vector<Case> cases;
  for (int th = 1; th <= max_threads; ++th) {
    cases.push_back({kTriad, "STREAM triad (a = b + s*c)", th, 12.0 * total, [=] {
#pragma omp parallel for num_threads(th) schedule(static)
                       for (int64_t i = 0; i < total; ++i) pa[i] = pb[i] + 0.5f * pc[i];
                     }, {}});
    cases.push_back({kSgdPattern, "pattern sgd-m (p, b += s*g)", th, 20.0 * total, [=] {
#pragma omp parallel for num_threads(th) schedule(static)
                       for (int64_t i = 0; i < total; ++i) {
                         const float g = pg[i];
                         pp[i] += 1e-9f * g;
                         pm[i] += 1e-9f * g;
                       }
                     }, {}});
    cases.push_back({kAdamPattern, "pattern adam (p, m, v += s*g)", th, 28.0 * total, [=] {
#pragma omp parallel for num_threads(th) schedule(static)
                       for (int64_t i = 0; i < total; ++i) {
                         const float g = pg[i];
                         pp[i] += 1e-9f * g;
                         pm[i] += 1e-9f * g;
                         pv[i] += 1e-9f * g;
                       }
                     }, {}});
  }
  const size_t first_kernel = cases.size();
  for (bool avx2 : {true, false}) {
    if (avx2 && !has_avx2) continue;
    for (int th = 1; th <= max_threads; ++th)
      for (bool adam : {false, true})
        for (Model* m : {&one, &many}) {
          std::string name = std::string(adam ? "adam " : "sgd-m ") + (m == &one ? "1 x 10M" : "100 x 100k") +
                             (avx2 ? " avx2" : " generic");
          cases.push_back({adam ? kAdamStep : kSgdStep, name, th, (adam ? 28.0 : 20.0) * total, [=] {
                             ember::cpu::set_allow_avx2(avx2);
                             omp_set_num_threads(th);
                             if (adam)
                               m->adam();
                             else
                               m->sgd_momentum();
                           }, {}});
        }
  }

  // Rounds of every case (see the top of the file), then medians.
  for (auto& k : cases) k.run();  // warm-up: page faults, thread start-up, optimizer state
  for (int r = 0; r < repeats; ++r)
    for (auto& k : cases) {
      const auto t0 = std::chrono::steady_clock::now();
      k.run();
      k.ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  ember::cpu::set_allow_avx2(has_avx2);

  std::printf("optimizer-step kernels, float32, median of %d rounds, AVX2: %s\n", repeats, has_avx2 ? "yes" : "no");
  std::printf("\n%-30s %7s %9s %7s\n", "bandwidth", "threads", "ms", "GB/s");
  double yardstick[3][3] = {};  // [kind][threads] GB/s
  for (size_t i = 0; i < first_kernel; ++i) {
    const Case& k = cases[i];
    yardstick[k.kind][k.threads] = k.gbps();
    std::printf("%-30s %7d %9.2f %7.1f\n", k.name.c_str(), k.threads, k.median(), k.gbps());
  }
  std::printf("\n%-30s %7s %9s %7s %8s %10s\n", "step over 10M params", "threads", "ms", "GB/s", "% triad",
              "% pattern");
  for (size_t i = first_kernel; i < cases.size(); ++i) {
    const Case& k = cases[i];
    const double pattern_gbps = yardstick[k.kind == kAdamStep ? kAdamPattern : kSgdPattern][k.threads];
    std::printf("%-30s %7d %9.2f %7.1f %7.0f%% %9.0f%%\n", k.name.c_str(), k.threads, k.median(), k.gbps(),
                100 * k.gbps() / yardstick[kTriad][k.threads], 100 * k.gbps() / pattern_gbps);
  }
  return 0;
}
