// Checks the softmax and classification-loss kernels (kernels/cpu/softmax.h, kernels/cpu/loss.h)
// against naive loops in long double: softmax / log_softmax forward and backward over
// [outer, R, inner] with R covering every AVX2 tail length; the exp accuracy over [-87, 0];
// -inf, NaN and +-1e4 rows; fused cross-entropy (index targets with weights, ignore_index and
// label smoothing; probability targets) forward, backward and target backward; NLL; multi-margin.
// Each on the AVX2 path (when present) and the generic one, float32 and float64, and 1 vs 2 vs 3
// threads bitwise identical. Prints "softmax_loss: N passed, M failed"; non-zero exit on failure.
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/softmax.h"

namespace K = ember::kernels;
using LD = long double;

namespace {

int g_passed = 0, g_failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    if (g_failed < 30) std::printf("FAIL %s\n", what.c_str());
  }
}

void set_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

template <typename T>
constexpr double tol() {
  return sizeof(T) == 4 ? 2e-6 : 1e-13;
}

template <typename T>
bool close(const std::vector<T>& got, const std::vector<LD>& want, double rtol, double atol) {
  if (got.size() != want.size()) return false;
  for (size_t i = 0; i < got.size(); ++i) {
    const LD g = got[i], w = want[i];
    if (std::isnan(static_cast<double>(w))) {
      if (!std::isnan(static_cast<double>(g))) return false;
      continue;
    }
    if (std::isinf(static_cast<double>(w))) {
      if (g != w) return false;
      continue;
    }
    if (std::fabs(static_cast<double>(g - w)) > atol + rtol * std::fabs(static_cast<double>(w))) return false;
  }
  return true;
}

template <typename T>
std::vector<T> randn(std::mt19937& rng, size_t n, double scale) {
  std::normal_distribution<double> d(0.0, scale);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

// Naive softmax along R of [outer, R, inner] in long double.
template <typename T>
std::vector<LD> ref_softmax(const std::vector<T>& x, int64_t outer, int64_t R, int64_t inner, bool log) {
  std::vector<LD> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t r) { return (o * R + r) * inner + i; };
      LD m = -INFINITY;
      bool nan = false;
      for (int64_t r = 0; r < R; ++r) {
        nan |= std::isnan(static_cast<double>(x[at(r)]));
        m = std::max<LD>(m, x[at(r)]);
      }
      LD s = 0;
      for (int64_t r = 0; r < R; ++r) s += std::exp(static_cast<LD>(x[at(r)]) - m);
      for (int64_t r = 0; r < R; ++r) {
        const LD d = static_cast<LD>(x[at(r)]) - m;
        y[at(r)] = nan ? NAN : (log ? d - std::log(s) : std::exp(d) / s);
      }
    }
  return y;
}

template <typename T>
void softmax_case(std::mt19937& rng, int64_t outer, int64_t R, int64_t inner, const char* path) {
  const size_t n = static_cast<size_t>(outer * R * inner);
  std::vector<T> x = randn<T>(rng, n, 6.0), g = randn<T>(rng, n, 1.0);
  const std::string tag = std::string(path) + (sizeof(T) == 4 ? " f32" : " f64") + " [" + std::to_string(outer) +
                          "," + std::to_string(R) + "," + std::to_string(inner) + "]";
  for (int log = 0; log < 2; ++log) {
    std::vector<T> y(n), e(n), inv(outer * inner), gx(n);
    K::softmax_forward<T>(x.data(), y.data(), outer, R, inner, log, log ? e.data() : nullptr,
                          log ? inv.data() : nullptr);
    const std::vector<LD> ry = ref_softmax(x, outer, R, inner, log);
    check(close(y, ry, 4 * tol<T>(), log ? 4 * tol<T>() : 1e-30), tag + (log ? " log_softmax" : " softmax"));
    // backward against the formulas in long double
    std::vector<LD> rg(n);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        LD acc = 0;
        for (int64_t r = 0; r < R; ++r) {
          const int64_t k = (o * R + r) * inner + i;
          acc += log ? static_cast<LD>(g[k]) : static_cast<LD>(g[k]) * ry[k];
        }
        for (int64_t r = 0; r < R; ++r) {
          const int64_t k = (o * R + r) * inner + i;
          rg[k] = log ? g[k] - std::exp(ry[k]) * acc : ry[k] * (g[k] - acc);
        }
      }
    if (log)
      K::log_softmax_backward<T>(e.data(), inv.data(), g.data(), gx.data(), outer, R, inner);
    else
      K::softmax_backward<T>(y.data(), g.data(), gx.data(), outer, R, inner);
    check(close(gx, rg, 1e-4 * (sizeof(T) == 4 ? 1 : 1e-8), 1e-5 * (sizeof(T) == 4 ? 1 : 1e-8)),
          tag + (log ? " log_softmax backward" : " softmax backward"));
  }
}

template <typename T>
void special_rows(const char* path) {
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const std::string tag = std::string(path) + (sizeof(T) == 4 ? " f32" : " f64");
  std::vector<T> x = {T(1e4), T(-1e4), T(0), -inf, T(3), -inf, T(5), -inf, T(1), nan, T(2), T(0)};
  std::vector<T> y(x.size());
  K::softmax_forward<T>(x.data(), y.data(), 4, 3, 1, false);
  check(y[0] == 1 && y[1] == 0 && y[2] == 0, tag + " softmax of +-1e4");
  check(y[3] == 0 && y[4] == 1 && y[5] == 0, tag + " softmax with -inf");
  check(y[7] == 0 && std::fabs(static_cast<double>(y[6]) - 1 / (1 + std::exp(-4.0))) < 1e-6,
        tag + " softmax with -inf in the middle");
  check(std::isnan(static_cast<double>(y[9])) && std::isnan(static_cast<double>(y[10])) &&
            std::isnan(static_cast<double>(y[11])),
        tag + " a NaN makes the whole row NaN");
  std::vector<T> e(x.size()), inv(4);
  K::softmax_forward<T>(x.data(), y.data(), 4, 3, 1, true, e.data(), inv.data());
  check(y[0] == 0 && y[1] == T(-2e4) && y[2] == T(-1e4), tag + " log_softmax of +-1e4");
  check(y[3] == -inf && y[4] == 0, tag + " log_softmax with -inf");
  // the exp itself: relative error over [-87, 0] for every tail length
  std::vector<T> v(1000), ev(1000);
  for (int i = 0; i < 1000; ++i) v[i] = static_cast<T>(-87.0 * i / 999.0);
  double worst = 0;
  for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 1000}) {
    const T s = K::row_exp_sum<T>(v.data(), T(0), ev.data(), n);
    LD rs = 0;
    for (int64_t i = 0; i < n; ++i) {
      const LD r = std::exp(static_cast<LD>(v[i]));
      rs += r;
      worst = std::max(worst, static_cast<double>(std::fabs((ev[i] - r) / r)));
    }
    check(std::fabs(static_cast<double>((s - rs) / rs)) < 4 * tol<T>(), tag + " row_exp_sum n=" + std::to_string(n));
  }
  check(worst < (sizeof(T) == 4 ? 3e-7 : 1e-15), tag + " exp relative error " + std::to_string(worst));
}

// Cross-entropy reference: -sum_c q_c log_softmax_c, q from index (weighted, smoothed) or probs.
template <typename T>
void cross_entropy_case(std::mt19937& rng, int64_t N, int64_t C, bool probs, bool weighted, double eps,
                        const char* path) {
  std::vector<T> x = randn<T>(rng, N * C, 4.0), w(C), p(N * C);
  std::vector<int64_t> y(N);
  std::uniform_real_distribution<double> u(0.2, 2.0);
  for (auto& v : w) v = static_cast<T>(u(rng));
  for (int64_t i = 0; i < N; ++i) {
    y[i] = static_cast<int64_t>(rng() % C);
    if (!probs && i % 5 == 3) y[i] = -100;
    LD s = 0;
    for (int64_t c = 0; c < C; ++c) s += (p[i * C + c] = static_cast<T>(u(rng)));
    for (int64_t c = 0; c < C; ++c) p[i * C + c] = static_cast<T>(p[i * C + c] / s);
  }
  K::CrossEntropyRows<T> a;
  a.N = N, a.C = C, a.x = x.data(), a.weight = weighted ? w.data() : nullptr, a.smoothing = static_cast<T>(eps);
  if (probs) a.prob = p.data(); else a.index = y.data();
  std::vector<T> loss(N), rw(N), e(N * C), inv(N), gx(N * C), gt(N * C), coef(N);
  for (int64_t i = 0; i < N; ++i) coef[i] = static_cast<T>(0.5 + 0.1 * i);
  K::cross_entropy_forward(a, loss.data(), rw.data(), e.data(), inv.data());
  K::cross_entropy_backward(a, e.data(), inv.data(), coef.data(), 1, gx.data());
  if (probs) K::cross_entropy_target_backward(a, inv.data(), coef.data(), 1, gt.data());
  const std::vector<LD> lsm = ref_softmax(x, N, C, 1, true);
  std::vector<LD> rl(N), rg(N * C), rt(N * C);
  for (int64_t i = 0; i < N; ++i) {
    std::vector<LD> q(C, 0);
    if (!probs && y[i] == -100) continue;
    for (int64_t c = 0; c < C; ++c) {
      const LD wc = weighted ? w[c] : 1;
      q[c] = probs ? wc * (p[i * C + c] * (1 - eps) + eps / C) : wc * eps / C;
    }
    if (!probs) q[y[i]] += (weighted ? w[y[i]] : 1) * (1 - eps);
    LD S = 0;
    for (int64_t c = 0; c < C; ++c) {
      rl[i] -= q[c] * lsm[i * C + c];
      S += q[c];
    }
    for (int64_t c = 0; c < C; ++c) {
      rg[i * C + c] = coef[i] * (S * std::exp(lsm[i * C + c]) - q[c]);
      rt[i * C + c] = -coef[i] * (1 - eps) * (weighted ? w[c] : 1) * lsm[i * C + c];
    }
  }
  const std::string tag = std::string(path) + (sizeof(T) == 4 ? " f32" : " f64") + " cross_entropy N=" +
                          std::to_string(N) + " C=" + std::to_string(C) + (probs ? " probs" : " index") +
                          (weighted ? " weighted" : "") + " eps=" + std::to_string(eps);
  check(close(loss, rl, 8 * tol<T>(), 8 * tol<T>()), tag + " loss");
  check(close(gx, rg, 8 * tol<T>(), 8 * tol<T>()), tag + " grad");
  if (probs) check(close(gt, rt, 8 * tol<T>(), 8 * tol<T>()), tag + " target grad");
  // threads: same bits
  std::vector<T> loss2(N), rw2(N), e2(N * C), inv2(N), gx2(N * C);
  for (int th : {1, 3}) {
    set_threads(th);
    K::cross_entropy_forward(a, loss2.data(), rw2.data(), e2.data(), inv2.data());
    K::cross_entropy_backward(a, e2.data(), inv2.data(), coef.data(), 1, gx2.data());
    check(loss2 == loss && gx2 == gx, tag + " same bits with " + std::to_string(th) + " threads");
  }
  set_threads(2);
}

template <typename T>
void nll_and_margin(std::mt19937& rng, const char* path) {
  const int64_t N = 3, C = 4, inner = 5;
  std::vector<T> x = randn<T>(rng, N * C * inner, 1.0), w = {1, 2, 3, 4};
  std::vector<int64_t> y(N * inner);
  for (auto& v : y) v = static_cast<int64_t>(rng() % C);
  y[2] = -100;
  std::vector<T> loss(N * inner), rw(N * inner), gx(N * C * inner, 0), coef(N * inner, T(2));
  K::nll_forward(x.data(), y.data(), w.data(), N, C, inner, -100, loss.data(), rw.data());
  K::nll_backward(y.data(), w.data(), N, C, inner, -100, coef.data(), 1, gx.data());
  bool ok = true;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < inner; ++k) {
      const int64_t r = n * inner + k, t = y[r];
      if (t == -100) {
        ok &= loss[r] == 0 && rw[r] == 0;
        continue;
      }
      ok &= loss[r] == -w[t] * x[(n * C + t) * inner + k] && rw[r] == w[t];
      ok &= gx[(n * C + t) * inner + k] == -w[t] * 2;
    }
  check(ok, std::string(path) + " nll over [N, C, inner]");
  // multi-margin: p = 1 and 2 against the definition
  std::vector<T> xm = randn<T>(rng, N * C, 1.0), lm(N), gm(N * C), one(N, T(1));
  std::vector<int64_t> ym = {0, 3, 1};
  for (int p = 1; p <= 2; ++p) {
    K::multi_margin_forward(xm.data(), ym.data(), w.data(), N, C, p, T(1), lm.data());
    K::multi_margin_backward(xm.data(), ym.data(), w.data(), N, C, p, T(1), one.data(), 1, gm.data());
    bool okm = true;
    for (int64_t i = 0; i < N; ++i) {
      LD s = 0, gy = 0;
      for (int64_t j = 0; j < C; ++j) {
        if (j == ym[i]) continue;
        const LD z = 1 - static_cast<LD>(xm[i * C + ym[i]]) + xm[i * C + j];
        const LD d = z > 0 ? (p == 1 ? 1 : 2 * z) * w[ym[i]] / C : 0;
        if (z > 0) s += p == 1 ? z : z * z;
        okm &= std::fabs(static_cast<double>(gm[i * C + j] - d)) < 1e-5;
        gy -= d;
      }
      okm &= std::fabs(static_cast<double>(lm[i] - s * w[ym[i]] / C)) < 1e-5;
      okm &= std::fabs(static_cast<double>(gm[i * C + ym[i]] - gy)) < 1e-5;
    }
    check(okm, std::string(path) + " multi_margin p=" + std::to_string(p));
  }
}

template <typename T>
void all_cases(const char* path) {
  std::mt19937 rng(1234);
  for (int64_t R : {1, 2, 7, 8, 9, 15, 16, 17, 31, 100, 1000, 1003}) softmax_case<T>(rng, 3, R, 1, path);
  for (auto s : std::vector<std::array<int64_t, 3>>{{2, 5, 3}, {1, 4, 300}, {3, 1, 7}, {2, 17, 260}, {0, 3, 2}})
    softmax_case<T>(rng, s[0], s[1], s[2], path);
  special_rows<T>(path);
  for (bool probs : {false, true})
    for (bool weighted : {false, true})
      for (double eps : {0.0, 0.2})
        for (auto nc : std::vector<std::pair<int64_t, int64_t>>{{6, 10}, {300, 37}, {4, 1}})
          cross_entropy_case<T>(rng, nc.first, nc.second, probs, weighted, eps, path);
  nll_and_margin<T>(rng, path);
  // softmax over many rows: the same bits for 1, 2 and 3 threads
  std::vector<T> x = randn<T>(rng, 512 * 300, 3.0), y1(x.size()), y2(x.size());
  set_threads(1);
  K::softmax_forward<T>(x.data(), y1.data(), 512, 300, 1, true);
  for (int th : {2, 3}) {
    set_threads(th);
    K::softmax_forward<T>(x.data(), y2.data(), 512, 300, 1, true);
    check(y1 == y2, std::string(path) + " log_softmax same bits with " + std::to_string(th) + " threads");
  }
  set_threads(2);
}

}  // namespace

int main() {
  set_threads(2);
  const bool avx2 = ember::cpu::use_avx2();
  if (avx2) all_cases<float>("avx2");
  ember::cpu::set_allow_avx2(false);
  all_cases<float>("generic");
  all_cases<double>("generic");
  ember::cpu::set_allow_avx2(avx2);
  std::printf("softmax_loss: %d passed, %d failed (AVX2 %s)\n", g_passed, g_failed, avx2 ? "tested" : "not available");
  return g_failed == 0 ? 0 : 1;
}
