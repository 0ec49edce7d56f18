// Checks the fused optimizer kernels (kernels/cpu/optim.h) against a naive reference that runs
// torch.optim's single-tensor algorithms op by op (one pass per torch op, temporaries in between,
// each op rounded like torch's CPU kernel), for every option combination, float and double, over
// several steps. Every path must give the reference's bits: one tensor at a time, all tensors in
// one multi-tensor call, 1, 2 and 3 threads, AVX2 and generic loops.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <omp.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/optim.h"

// The reference rounds every product on its own unless it calls std::fma, like the kernels.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

using namespace ember::kernels;

namespace {

int g_passed = 0, g_failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    std::printf("FAIL %s\n", what.c_str());
  }
}

// splitmix64: reproducible inputs without <random>'s implementation-defined distributions.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() { return std::sqrt(-2 * std::log(1 - uniform())) * std::cos(6.283185307179586 * uniform()); }
};

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;  // NaN payloads may legally differ
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return false;
  }
  return true;
}

// ---- naive references: torch's single-tensor code, one loop per tensor op --------------------
template <typename T>
using Vec = std::vector<T>;

template <typename T>
T torch_lerp(T self, T end, T w) {  // at::native lerp: two fused forms chosen by |weight|
  return std::abs(w) < T(0.5) ? std::fma(w, end - self, self) : std::fma(w - T(1), end - self, end);
}

template <typename T>
T addcmul(T self, T t1, T t2, double value) {  // at::native addcmul: self + (value * t1) * t2, fused
  return std::fma(T(value) * t1, t2, self);
}

template <typename T>
Vec<T> neg_if(const Vec<T>& g, bool maximize) {
  Vec<T> r = g;
  if (maximize)
    for (auto& x : r) x = -x;
  return r;
}

template <typename T>
void add_alpha(Vec<T>& self, const Vec<T>& other, double alpha) {  // self + alpha * other, fused
  for (size_t i = 0; i < self.size(); ++i) self[i] = std::fma(T(alpha), other[i], self[i]);
}

template <typename T>
void ref_sgd(Vec<T>& p, const Vec<T>& grad, Vec<T>& buf, bool first, const SgdOptions& o) {
  Vec<T> g = neg_if(grad, o.maximize);
  if (o.weight_decay != 0) add_alpha(g, p, o.weight_decay);
  if (o.momentum != 0) {
    if (first) {
      buf = g;
    } else {
      for (auto& b : buf) b = b * T(o.momentum);
      add_alpha(buf, g, 1 - o.dampening);
    }
    if (o.nesterov)
      add_alpha(g, buf, o.momentum);
    else
      g = buf;
  }
  add_alpha(p, g, -o.lr);
}

template <typename T>
void ref_adagrad(Vec<T>& p, const Vec<T>& grad, Vec<T>& sum, int64_t step, const AdagradOptions& o) {
  Vec<T> g = neg_if(grad, o.maximize);
  if (o.weight_decay != 0) add_alpha(g, p, o.weight_decay);
  const double clr = o.lr / (1 + (double(step) - 1) * o.lr_decay);
  for (size_t i = 0; i < g.size(); ++i) sum[i] = addcmul(sum[i], g[i], g[i], 1.0);
  Vec<T> stdv(g.size());
  for (size_t i = 0; i < g.size(); ++i) stdv[i] = std::sqrt(sum[i]);
  for (auto& x : stdv) x = x + T(o.eps);
  for (size_t i = 0; i < g.size(); ++i) p[i] = p[i] + T(-clr) * g[i] / stdv[i];
}

template <typename T>
void ref_rmsprop(Vec<T>& p, const Vec<T>& grad, Vec<T>& sq, Vec<T>& ga, Vec<T>& buf, const RmspropOptions& o) {
  Vec<T> g = neg_if(grad, o.maximize);
  if (o.weight_decay != 0) add_alpha(g, p, o.weight_decay);
  for (auto& x : sq) x = x * T(o.alpha);
  for (size_t i = 0; i < g.size(); ++i) sq[i] = addcmul(sq[i], g[i], g[i], 1 - o.alpha);
  Vec<T> avg(g.size());
  if (o.centered) {
    for (size_t i = 0; i < g.size(); ++i) ga[i] = torch_lerp(ga[i], g[i], T(1 - o.alpha));
    for (size_t i = 0; i < g.size(); ++i) avg[i] = addcmul(sq[i], ga[i], ga[i], -1.0);
    for (auto& x : avg) x = std::sqrt(x);
  } else {
    for (size_t i = 0; i < g.size(); ++i) avg[i] = std::sqrt(sq[i]);
  }
  for (auto& x : avg) x = x + T(o.eps);
  if (o.momentum > 0) {
    for (auto& b : buf) b = b * T(o.momentum);
    for (size_t i = 0; i < g.size(); ++i) buf[i] = buf[i] + T(1) * g[i] / avg[i];
    add_alpha(p, buf, -o.lr);
  } else {
    for (size_t i = 0; i < g.size(); ++i) p[i] = p[i] + T(-o.lr) * g[i] / avg[i];
  }
}

template <typename T>
void ref_adam(Vec<T>& p, const Vec<T>& grad, Vec<T>& m, Vec<T>& v, Vec<T>& vmax, int64_t step, const AdamOptions& o) {
  Vec<T> g = neg_if(grad, o.maximize);
  if (o.weight_decay != 0) {
    if (o.decoupled_weight_decay)
      for (auto& x : p) x = x * T(1 - o.lr * o.weight_decay);
    else
      add_alpha(g, p, o.weight_decay);
  }
  for (size_t i = 0; i < g.size(); ++i) m[i] = torch_lerp(m[i], g[i], T(1 - o.beta1));
  for (auto& x : v) x = x * T(o.beta2);
  for (size_t i = 0; i < g.size(); ++i) v[i] = addcmul(v[i], g[i], g[i], 1 - o.beta2);
  const double bc1 = 1 - std::pow(o.beta1, double(step)), bc2 = 1 - std::pow(o.beta2, double(step));
  const double step_size = o.lr / bc1, bc2_sqrt = std::pow(bc2, 0.5);
  const Vec<T>* used = &v;
  if (o.amsgrad) {
    for (size_t i = 0; i < g.size(); ++i) vmax[i] = (std::isnan(vmax[i]) || std::isnan(v[i])) ? NAN : std::max(vmax[i], v[i]);
    used = &vmax;
  }
  Vec<T> denom(g.size());
  for (size_t i = 0; i < g.size(); ++i) denom[i] = std::sqrt((*used)[i]) / T(bc2_sqrt);
  for (auto& x : denom) x = x + T(o.eps);
  for (size_t i = 0; i < g.size(); ++i) p[i] = p[i] + T(-step_size) * m[i] / denom[i];
}

// ---- a "model": several tensors with param, grad, up to 3 state buffers, per-tensor steps ------
template <typename T>
struct Model {
  std::vector<Vec<T>> p, g, s0, s1, s2;
  std::vector<int64_t> numel, step;
  std::vector<uint8_t> first;

  bool same(const Model& o) const {
    for (size_t t = 0; t < p.size(); ++t)
      if (!same_bits(p[t], o.p[t]) || !same_bits(s0[t], o.s0[t]) || !same_bits(s1[t], o.s1[t]) ||
          !same_bits(s2[t], o.s2[t]))
        return false;
    return true;
  }
  template <typename U>
  static std::vector<U*> ptrs(std::vector<Vec<U>>& v) {
    std::vector<U*> r;
    for (auto& x : v) r.push_back(x.data());
    return r;
  }
  std::vector<const T*> grads() const {
    std::vector<const T*> r;
    for (auto& x : g) r.push_back(x.data());
    return r;
  }
};

// Sizes straddle the vector width, the 16-element thread cut and the parallel threshold; a
// zero-size tensor must be skipped.
const std::vector<int64_t> kSizes = {0, 1, 3, 17, 100, 1000, 4099, 20000, 30001};

// State starts "mid-training" (random; non-negative where torch's state is) and per-tensor step
// counts differ: tensor t has done t % 3 steps already. s0 is signed (momentum buffers, exp_avg),
// s1 >= 4e-4 (squares: Adagrad's sum, exp_avg_sq, square_avg) and 0 <= s2 < 0.02 (max_exp_avg_sq,
// grad_avg), so that RMSprop's square_avg - grad_avg^2 starts non-negative.
template <typename T>
Model<T> make_model(uint64_t seed) {
  Rng rng{seed};
  Model<T> m;
  for (size_t t = 0; t < kSizes.size(); ++t) {
    const int64_t n = kSizes[t];
    m.numel.push_back(n);
    m.step.push_back(int64_t(t % 3));
    m.first.push_back(t % 2 == 0);  // even tensors: momentum buffer not yet initialised
    Vec<T> p(n), s0(n), s1(n), s2(n);
    for (int64_t i = 0; i < n; ++i) {
      p[i] = T(rng.normal());
      s0[i] = T(0.1 * rng.normal());
      s1[i] = T(0.01 * rng.uniform() + 4e-4);
      s2[i] = T(0.02 * rng.uniform());
    }
    m.p.push_back(p);
    m.g.push_back(Vec<T>(n));
    m.s0.push_back(s0);
    m.s1.push_back(s1);
    m.s2.push_back(s2);
  }
  return m;
}

template <typename T>
void new_grads(Model<T>& m, Rng& rng) {
  for (auto& g : m.g)
    for (auto& x : g) x = T(rng.normal());
}

// Runs `steps` steps of one configuration along five paths and compares them with the reference.
// ref(model, t) updates tensor t; single(model, t) calls the single-tensor kernel; multi(model)
// calls the multi-tensor kernel on all tensors. Each path bumps per-tensor steps itself.
template <typename T>
void run_case(const std::string& name, const std::function<void(Model<T>&, size_t)>& ref,
              const std::function<void(Model<T>&, size_t)>& single, const std::function<void(Model<T>&)>& multi) {
  const char* tname = sizeof(T) == 4 ? "f32" : "f64";
  Model<T> init = make_model<T>(42);
  Model<T> r = init, s1 = init, s2 = init, m1 = init, m2 = init, m3 = init;
  Rng rng{7};
  bool ok_s1 = true, ok_s2 = true, ok_m1 = true, ok_m2 = true, ok_m3 = true;
  for (int step = 0; step < 4; ++step) {
    new_grads(r, rng);
    s1.g = s2.g = m1.g = m2.g = m3.g = r.g;
    for (size_t t = 0; t < kSizes.size(); ++t) ref(r, t);
    omp_set_num_threads(1);
    for (size_t t = 0; t < kSizes.size(); ++t) single(s1, t);
    multi(m1);
    omp_set_num_threads(2);
    for (size_t t = 0; t < kSizes.size(); ++t) single(s2, t);
    multi(m2);
    omp_set_num_threads(3);  // and the baseline x86-64 loops instead of the AVX2 ones
    const bool avx2 = ember::cpu::use_avx2();
    ember::cpu::set_allow_avx2(false);
    multi(m3);
    ember::cpu::set_allow_avx2(avx2);
    for (auto* m : {&r, &s1, &s2, &m1, &m2, &m3}) {  // after a step no buffer is "first" any more
      for (auto& f : m->first) f = 0;
      for (auto& st : m->step) ++st;
    }
    ok_s1 = ok_s1 && s1.same(r);
    ok_s2 = ok_s2 && s2.same(r);
    ok_m1 = ok_m1 && m1.same(r);
    ok_m2 = ok_m2 && m2.same(r);
    ok_m3 = ok_m3 && m3.same(r);
  }
  check(ok_s1, name + " " + tname + " single-tensor, 1 thread == reference");
  check(ok_s2, name + " " + tname + " single-tensor, 2 threads == reference");
  check(ok_m1, name + " " + tname + " multi-tensor, 1 thread == reference");
  check(ok_m2, name + " " + tname + " multi-tensor, 2 threads == reference");
  check(ok_m3, name + " " + tname + " multi-tensor, 3 threads, generic loops == reference");
  // The update must have moved the parameters (guards against a kernel that does nothing).
  bool moved = false;
  for (size_t t = 0; t < kSizes.size(); ++t)
    if (kSizes[t] != 0 && !same_bits(r.p[t], init.p[t])) moved = true;
  check(moved, name + " " + tname + " parameters changed");
}

// The steps below are the value after the increment, as the kernels expect: model.step holds the
// count before this step, so each call passes step + 1.
template <typename T>
void test_sgd() {
  for (double momentum : {0.0, 0.9})
    for (double dampening : {0.0, 0.1})
      for (bool nesterov : {false, true})
        for (double wd : {0.0, 1e-2})
          for (bool maximize : {false, true}) {
            if (momentum == 0 && (dampening != 0 || nesterov)) continue;
            SgdOptions o;
            o.lr = 0.05, o.momentum = momentum, o.dampening = dampening, o.nesterov = nesterov;
            o.weight_decay = wd, o.maximize = maximize;
            char name[160];
            std::snprintf(name, sizeof name, "sgd(momentum=%g dampening=%g nesterov=%d wd=%g maximize=%d)", momentum,
                          dampening, nesterov, wd, maximize);
            run_case<T>(
                name, [&](Model<T>& m, size_t t) { ref_sgd(m.p[t], m.g[t], m.s0[t], m.first[t] != 0, o); },
                [&](Model<T>& m, size_t t) {
                  sgd_step<T>(m.p[t].data(), m.g[t].data(), m.s0[t].data(), m.numel[t], m.first[t] != 0, o);
                },
                [&](Model<T>& m) {
                  auto p = Model<T>::ptrs(m.p), s0 = Model<T>::ptrs(m.s0);
                  auto g = m.grads();
                  sgd_step_multi<T>(int64_t(p.size()), p.data(), g.data(), s0.data(), m.numel.data(), m.first.data(),
                                    o);
                });
          }
}

template <typename T>
void test_adagrad() {
  for (double lr_decay : {0.0, 1e-2})
    for (double wd : {0.0, 0.1})
      for (bool maximize : {false, true}) {
        AdagradOptions o;
        o.lr = 0.1, o.lr_decay = lr_decay, o.weight_decay = wd, o.maximize = maximize;
        char name[160];
        std::snprintf(name, sizeof name, "adagrad(lr_decay=%g wd=%g maximize=%d)", lr_decay, wd, maximize);
        run_case<T>(
            name, [&](Model<T>& m, size_t t) { ref_adagrad(m.p[t], m.g[t], m.s1[t], m.step[t] + 1, o); },
            [&](Model<T>& m, size_t t) {
              adagrad_step<T>(m.p[t].data(), m.g[t].data(), m.s1[t].data(), m.numel[t], m.step[t] + 1, o);
            },
            [&](Model<T>& m) {
              auto p = Model<T>::ptrs(m.p), s1 = Model<T>::ptrs(m.s1);
              auto g = m.grads();
              std::vector<int64_t> steps = m.step;
              for (auto& s : steps) ++s;
              adagrad_step_multi<T>(int64_t(p.size()), p.data(), g.data(), s1.data(), m.numel.data(), steps.data(), o);
            });
      }
}

template <typename T>
void test_rmsprop() {
  for (double alpha : {0.99, 0.3})  // 0.3: grad_avg's lerp takes torch's large-weight form
    for (bool centered : {false, true})
      for (double momentum : {0.0, 0.9})
        for (double wd : {0.0, 1e-2})
          for (bool maximize : {false, true}) {
            RmspropOptions o;
            o.lr = 1e-2, o.alpha = alpha, o.centered = centered, o.momentum = momentum;
            o.weight_decay = wd, o.maximize = maximize;
            char name[160];
            std::snprintf(name, sizeof name, "rmsprop(alpha=%g centered=%d momentum=%g wd=%g maximize=%d)", alpha,
                          centered, momentum, wd, maximize);
            // s1 = square_avg, s2 = grad_avg, s0 = momentum buffer
            run_case<T>(
                name,
                [&](Model<T>& m, size_t t) { ref_rmsprop(m.p[t], m.g[t], m.s1[t], m.s2[t], m.s0[t], o); },
                [&](Model<T>& m, size_t t) {
                  rmsprop_step<T>(m.p[t].data(), m.g[t].data(), m.s1[t].data(), m.s2[t].data(), m.s0[t].data(),
                                  m.numel[t], o);
                },
                [&](Model<T>& m) {
                  auto p = Model<T>::ptrs(m.p), s0 = Model<T>::ptrs(m.s0), s1 = Model<T>::ptrs(m.s1),
                       s2 = Model<T>::ptrs(m.s2);
                  auto g = m.grads();
                  rmsprop_step_multi<T>(int64_t(p.size()), p.data(), g.data(), s1.data(), s2.data(), s0.data(),
                                        m.numel.data(), o);
                });
          }
}

template <typename T>
void test_adam() {
  for (double beta1 : {0.9, 0.3})  // 0.3: exp_avg's lerp takes torch's large-weight form
    for (bool amsgrad : {false, true})
      for (bool maximize : {false, true})
        for (int wd_mode : {0, 1, 2}) {  // none, L2 (Adam), decoupled (AdamW)
          AdamOptions o = wd_mode == 2 ? adamw_options() : AdamOptions{};
          o.beta1 = beta1, o.amsgrad = amsgrad, o.maximize = maximize;
          if (wd_mode == 1) o.weight_decay = 1e-2;
          char name[160];
          std::snprintf(name, sizeof name, "%s(beta1=%g amsgrad=%d maximize=%d wd=%g)",
                        wd_mode == 2 ? "adamw" : "adam", beta1, amsgrad, maximize, o.weight_decay);
          // s0 = exp_avg, s1 = exp_avg_sq, s2 = max_exp_avg_sq
          run_case<T>(
              name,
              [&](Model<T>& m, size_t t) { ref_adam(m.p[t], m.g[t], m.s0[t], m.s1[t], m.s2[t], m.step[t] + 1, o); },
              [&](Model<T>& m, size_t t) {
                adam_step<T>(m.p[t].data(), m.g[t].data(), m.s0[t].data(), m.s1[t].data(), m.s2[t].data(), m.numel[t],
                             m.step[t] + 1, o);
              },
              [&](Model<T>& m) {
                auto p = Model<T>::ptrs(m.p), s0 = Model<T>::ptrs(m.s0), s1 = Model<T>::ptrs(m.s1),
                     s2 = Model<T>::ptrs(m.s2);
                auto g = m.grads();
                std::vector<int64_t> steps = m.step;
                for (auto& s : steps) ++s;
                adam_step_multi<T>(int64_t(p.size()), p.data(), g.data(), s0.data(), s1.data(), s2.data(),
                                   m.numel.data(), steps.data(), o);
              });
        }
}

// amsgrad's max keeps a NaN like torch.maximum does (std::max would drop it when v is NaN).
void test_amsgrad_nan() {
  float p[4] = {1, 1, 1, 1}, g[4] = {0.5f, NAN, 0.5f, 0.5f}, m[4] = {}, v[4] = {}, vmax[4] = {};
  AdamOptions o;
  o.amsgrad = true;
  adam_step<float>(p, g, m, v, vmax, 4, 1, o);
  check(std::isnan(vmax[1]) && !std::isnan(vmax[0]) && std::isnan(p[1]) && !std::isnan(p[2]),
        "adam amsgrad propagates a NaN gradient into max_exp_avg_sq");
}

// First Adam step from zero state: p moves by -lr * sign(g) (up to eps), the textbook check.
void test_adam_first_step() {
  float p[3] = {0, 0, 0}, g[3] = {2, -3, 1e-3f}, m[3] = {}, v[3] = {};
  AdamOptions o;
  o.lr = 0.1;
  adam_step<float>(p, g, m, v, nullptr, 3, 1, o);
  check(std::abs(p[0] + 0.1f) < 1e-6f && std::abs(p[1] - 0.1f) < 1e-6f && std::abs(p[2] + 0.1f) < 1e-5f,
        "adam first step moves each parameter by lr against the gradient's sign");
}

}  // namespace

int main() {
  std::printf("AVX2 loops: %s\n", ember::cpu::use_avx2() ? "yes (and generic)" : "no (generic only)");
  test_amsgrad_nan();
  test_adam_first_step();
  test_sgd<float>();
  test_sgd<double>();
  test_adagrad<float>();
  test_adagrad<double>();
  test_rmsprop<float>();
  test_rmsprop<double>();
  test_adam<float>();
  test_adam<double>();
  std::printf("optim kernels: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
