// The leaf loops of the optimizer steps (see optim.h for the update rules). This file is compiled
// twice: on its own for baseline x86-64, and included by optim_kernels_avx2.cc with -mavx2 -mfma.
//
// Rounding mirrors torch's CPU kernels op by op (torch 2.13, AVX2 build):
//   add(x, alpha=a)          -> fma(a, x, self)
//   lerp(end, w)             -> fma(w, end - self, self)  or  fma(w - 1, end - self, end)
//   addcmul(t1, t2, value=c) -> fma(c * t1, t2, self)
//   addcdiv(t1, t2, value=c) -> self + c * t1 / t2             (no fusion: a division in between)
//   mul/div/add by a scalar  -> one rounding each
// Every other product must stay rounded on its own: the pragma below stops the compiler from
// contracting `a * b + c` into an FMA, which it would do under -mfma and not in the baseline build,
// and then the two builds (and torch) would differ. With every FMA explicit, both builds give the
// same bits (the baseline one calls libm's fma: correctly rounded, not vectorized, ~10x slower).
#include <cstdint>

#include "kernels/cpu/optim.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#ifndef EMBER_OPTIM_KERNELS_NAME
#define EMBER_OPTIM_KERNELS_NAME optim_kernels_generic
#endif

namespace ember::kernels::optim_detail {
namespace {  // internal linkage: the two builds must not share (ODR-merge) any of these loops

// Not std::fma / std::sqrt: those are inline functions with external linkage, so in an unoptimized
// build the linker could keep the AVX2 file's out-of-line copy for the baseline file too.
inline float fmadd(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
inline double fmadd(double a, double b, double c) { return __builtin_fma(a, b, c); }
inline float root(float x) { return __builtin_sqrtf(x); }
inline double root(double x) { return __builtin_sqrt(x); }

template <typename T, bool kSmallW>
inline T torch_lerp(T self, T end, T w, T w_minus_1) {
  const T d = end - self;
  return kSmallW ? fmadd(w, d, self) : fmadd(w_minus_1, d, end);
}

// kFirst: torch's first momentum step clones the gradient into the buffer (no dampening).
template <typename T, bool kWD, bool kMomentum, bool kFirst, bool kNesterov>
void sgd_run(T* __restrict p, const T* __restrict gp, T* __restrict buf, int64_t n, const SgdFactors<T>& factors) {
  const SgdFactors<T> f = factors;  // by value: not reloaded through a pointer every element
  for (int64_t i = 0; i < n; ++i) {
    T g = gp[i] * f.sign;
    if constexpr (kWD) g = fmadd(f.wd, p[i], g);  // grad.add(param, alpha=wd)
    if constexpr (kMomentum) {
      T b = g;  // first step: buf = grad.clone()
      if constexpr (!kFirst) {
        const T decayed = buf[i] * f.momentum;         // buf.mul_(momentum)
        b = fmadd(f.one_minus_dampening, g, decayed);  //    .add_(g, alpha=1 - dampening)
      }
      buf[i] = b;
      g = kNesterov ? fmadd(f.momentum, b, g) : b;  // grad.add(buf, alpha=momentum) or buf
    }
    p[i] = fmadd(f.neg_lr, g, p[i]);  // param.add_(g, alpha=-lr)
  }
}

template <typename T, bool kWD>
void adagrad_run(T* __restrict p, const T* __restrict gp, T* __restrict sum, int64_t n,
                 const AdagradFactors<T>& factors) {
  const AdagradFactors<T> f = factors;
  for (int64_t i = 0; i < n; ++i) {
    T g = gp[i] * f.sign;
    if constexpr (kWD) g = fmadd(f.wd, p[i], g);  // grad.add(param, alpha=wd)
    const T s = fmadd(g, g, sum[i]);               // state_sum.addcmul_(g, g, value=1)
    const T stdev = root(s) + f.eps;               // state_sum.sqrt().add_(eps)
    p[i] = p[i] + f.neg_clr * g / stdev;           // param.addcdiv_(g, std, value=-clr)
    sum[i] = s;
  }
}

template <typename T, bool kWD, bool kCentered, bool kSmallW, bool kMomentum>
void rmsprop_run(T* __restrict p, const T* __restrict gp, T* __restrict sq, T* __restrict ga, T* __restrict buf,
                 int64_t n, const RmspropFactors<T>& factors) {
  const RmspropFactors<T> f = factors;
  for (int64_t i = 0; i < n; ++i) {
    T g = gp[i] * f.sign;
    if constexpr (kWD) g = fmadd(f.wd, p[i], g);  // grad.add(param, alpha=wd)
    const T s = fmadd(f.w * g, g, sq[i] * f.alpha);  // square_avg.mul_(alpha).addcmul_(g, g, 1 - alpha)
    sq[i] = s;
    T avg;
    if constexpr (kCentered) {
      const T a = torch_lerp<T, kSmallW>(ga[i], g, f.w, f.w_minus_1);  // grad_avg.lerp_(g, 1 - alpha)
      ga[i] = a;
      avg = root(fmadd(-a, a, s)) + f.eps;  // square_avg.addcmul(ga, ga, value=-1).sqrt_().add_(eps)
    } else {
      avg = root(s) + f.eps;  // square_avg.sqrt().add_(eps)
    }
    if constexpr (kMomentum) {
      const T decayed = buf[i] * f.momentum;  // buf.mul_(momentum)
      const T b = decayed + g / avg;          //    .addcdiv_(g, avg)
      buf[i] = b;
      p[i] = fmadd(f.neg_lr, b, p[i]);  // param.add_(buf, alpha=-lr)
    } else {
      p[i] = p[i] + f.neg_lr * g / avg;  // param.addcdiv_(g, avg, value=-lr)
    }
  }
}

template <typename T, bool kL2, bool kAmsgrad, bool kSmallW>
void adam_run(T* __restrict p, const T* __restrict gp, T* __restrict m, T* __restrict v, T* __restrict vmax,
              int64_t n, const AdamFactors<T>& factors) {
  const AdamFactors<T> f = factors;
  for (int64_t i = 0; i < n; ++i) {
    T g = gp[i] * f.sign;
    if constexpr (kL2) g = fmadd(f.wd, p[i], g);  // grad.add(param, alpha=wd), on the undecayed param
    const T pi = p[i] * f.decay;                  // param.mul_(1 - lr * wd) (AdamW)
    const T mi = torch_lerp<T, kSmallW>(m[i], g, f.w, f.w_minus_1);  // exp_avg.lerp_(g, 1 - beta1)
    const T vi = fmadd(f.one_minus_beta2 * g, g, v[i] * f.beta2);  // mul_(beta2).addcmul_(g, g, 1 - beta2)
    T vu = vi;
    if constexpr (kAmsgrad) {
      const T vm = (vi > vmax[i] || vi != vi) ? vi : vmax[i];  // torch.maximum: a NaN wins
      vmax[i] = vm;
      vu = vm;
    }
    const T denom = root(vu) / f.bc2_sqrt + f.eps;  // (sqrt() / bias_correction2_sqrt).add_(eps)
    p[i] = pi + f.neg_step_size * mi / denom;       // param.addcdiv_(m, denom, value=-step_size)
    m[i] = mi;
    v[i] = vi;
  }
}

// One slot per flag combination; slots whose flags cannot matter share a loop.
template <typename T>
OptimKernels<T> make_kernels() {
  OptimKernels<T> k{};
  k.sgd[0][0][0][0] = sgd_run<T, false, false, false, false>;
  k.sgd[1][0][0][0] = sgd_run<T, true, false, false, false>;
  k.sgd[0][1][0][0] = sgd_run<T, false, true, false, false>;
  k.sgd[0][1][0][1] = sgd_run<T, false, true, false, true>;
  k.sgd[0][1][1][0] = sgd_run<T, false, true, true, false>;
  k.sgd[0][1][1][1] = sgd_run<T, false, true, true, true>;
  k.sgd[1][1][0][0] = sgd_run<T, true, true, false, false>;
  k.sgd[1][1][0][1] = sgd_run<T, true, true, false, true>;
  k.sgd[1][1][1][0] = sgd_run<T, true, true, true, false>;
  k.sgd[1][1][1][1] = sgd_run<T, true, true, true, true>;
  // Without momentum, first_step and nesterov change nothing.
  for (int first = 0; first < 2; ++first)
    for (int nesterov = 0; nesterov < 2; ++nesterov)
      for (int wd = 0; wd < 2; ++wd) k.sgd[wd][0][first][nesterov] = k.sgd[wd][0][0][0];

  k.adagrad[0] = adagrad_run<T, false>;
  k.adagrad[1] = adagrad_run<T, true>;

  k.rmsprop[0][0][0][0] = rmsprop_run<T, false, false, false, false>;
  k.rmsprop[0][0][0][1] = rmsprop_run<T, false, false, false, true>;
  k.rmsprop[1][0][0][0] = rmsprop_run<T, true, false, false, false>;
  k.rmsprop[1][0][0][1] = rmsprop_run<T, true, false, false, true>;
  k.rmsprop[0][1][0][0] = rmsprop_run<T, false, true, false, false>;
  k.rmsprop[0][1][0][1] = rmsprop_run<T, false, true, false, true>;
  k.rmsprop[0][1][1][0] = rmsprop_run<T, false, true, true, false>;
  k.rmsprop[0][1][1][1] = rmsprop_run<T, false, true, true, true>;
  k.rmsprop[1][1][0][0] = rmsprop_run<T, true, true, false, false>;
  k.rmsprop[1][1][0][1] = rmsprop_run<T, true, true, false, true>;
  k.rmsprop[1][1][1][0] = rmsprop_run<T, true, true, true, false>;
  k.rmsprop[1][1][1][1] = rmsprop_run<T, true, true, true, true>;
  // Not centered: there is no lerp, so small_w changes nothing.
  for (int wd = 0; wd < 2; ++wd)
    for (int mom = 0; mom < 2; ++mom) k.rmsprop[wd][0][1][mom] = k.rmsprop[wd][0][0][mom];

  k.adam[0][0][0] = adam_run<T, false, false, false>;
  k.adam[0][0][1] = adam_run<T, false, false, true>;
  k.adam[0][1][0] = adam_run<T, false, true, false>;
  k.adam[0][1][1] = adam_run<T, false, true, true>;
  k.adam[1][0][0] = adam_run<T, true, false, false>;
  k.adam[1][0][1] = adam_run<T, true, false, true>;
  k.adam[1][1][0] = adam_run<T, true, true, false>;
  k.adam[1][1][1] = adam_run<T, true, true, true>;
  return k;
}

}  // namespace

template <typename T>
const OptimKernels<T>& EMBER_OPTIM_KERNELS_NAME() {
  static const OptimKernels<T> kernels = make_kernels<T>();
  return kernels;
}

template const OptimKernels<float>& EMBER_OPTIM_KERNELS_NAME<float>();
template const OptimKernels<double>& EMBER_OPTIM_KERNELS_NAME<double>();

}  // namespace ember::kernels::optim_detail
