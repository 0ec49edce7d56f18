// Entry points of the optimizer steps (optim.h): per-tensor factors, the choice of loop, and the
// split of all tensors' elements across threads. The loops themselves are in optim_kernels.cc.
#include "kernels/cpu/optim.h"

#include <cmath>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/parallel.h"

namespace ember::kernels {
namespace {

using namespace optim_detail;

template <typename T>
const OptimKernels<T>& kernels() {
  return cpu::use_avx2() ? optim_kernels_avx2<T>() : optim_kernels_generic<T>();
}

// Threads split the concatenation of all tensors' elements into one contiguous range each (by
// elements, not by tensors, so one big tensor among many small ones does not leave a thread
// idle), cut on multiples of 16 elements so that two threads rarely write one cache line. Each
// thread calls its own copy of `body` (a body may cache per-tensor constants in mutable captures)
// as body(tensor, begin, end) for the part of each tensor inside its range, in tensor order.
// `cost` = rough operations per element, for the parallel threshold.
template <typename Body>
void for_each_piece(int64_t num_tensors, const int64_t* numels, int64_t cost, const Body& body) {
  int64_t total = 0;
  for (int64_t t = 0; t < num_tensors; ++t) total += numels[t];
  if (total <= 0) return;
#pragma omp parallel if (cpu::worth_parallel(total * cost))
  {
    int64_t tid = 0, nth = 1;
#ifdef _OPENMP
    tid = omp_get_thread_num();
    nth = omp_get_num_threads();
#endif
    auto cut = [&](int64_t k) { return k >= nth ? total : (total * k / nth) & ~int64_t(15); };
    const int64_t lo = cut(tid), hi = cut(tid + 1);
    Body local = body;
    int64_t off = 0;  // where tensor t starts in the concatenation
    for (int64_t t = 0; t < num_tensors && off < hi; off += numels[t], ++t) {
      const int64_t b = lo > off ? lo - off : 0;
      const int64_t e = hi - off < numels[t] ? hi - off : numels[t];
      if (b < e) local(t, b, e);
    }
  }
}

// ---- factors: computed in double like torch's Python scalars, rounded to T once -------------

template <typename T>
SgdFactors<T> sgd_factors(const SgdOptions& o) {
  return {o.maximize ? T(-1) : T(1), T(o.weight_decay), T(o.momentum), T(1 - o.dampening), T(-o.lr)};
}

template <typename T>
AdagradFactors<T> adagrad_factors(const AdagradOptions& o, int64_t step) {
  const double clr = o.lr / (1 + (static_cast<double>(step) - 1) * o.lr_decay);
  return {o.maximize ? T(-1) : T(1), T(o.weight_decay), T(o.eps), T(-clr)};
}

template <typename T>
RmspropFactors<T> rmsprop_factors(const RmspropOptions& o) {
  RmspropFactors<T> f;
  f.sign = o.maximize ? T(-1) : T(1);
  f.wd = T(o.weight_decay);
  f.alpha = T(o.alpha);
  f.w = T(1 - o.alpha);
  f.w_minus_1 = f.w - T(1);  // torch's lerp computes weight - 1 in the tensor's type
  f.eps = T(o.eps);
  f.momentum = T(o.momentum);
  f.neg_lr = T(-o.lr);
  return f;
}

template <typename T>
AdamFactors<T> adam_factors(const AdamOptions& o, int64_t step) {
  AdamFactors<T> f;
  f.sign = o.maximize ? T(-1) : T(1);
  f.decay = o.decoupled_weight_decay ? T(1 - o.lr * o.weight_decay) : T(1);
  f.wd = T(o.weight_decay);
  f.w = T(1 - o.beta1);
  f.w_minus_1 = f.w - T(1);
  f.beta2 = T(o.beta2);
  f.one_minus_beta2 = T(1 - o.beta2);
  // As torch's Python: bias_correction2 ** 0.5 is pow(), and step_size = lr / bias_correction1.
  const double s = static_cast<double>(step);
  const double bc1 = 1 - std::pow(o.beta1, s);
  const double bc2 = 1 - std::pow(o.beta2, s);
  f.bc2_sqrt = T(std::pow(bc2, 0.5));
  f.neg_step_size = T(-(o.lr / bc1));
  f.eps = T(o.eps);
  return f;
}

// torch's lerp takes its first form when |weight| < 0.5 (weight in the tensor's type).
template <typename T>
bool small_weight(double one_minus_beta) {
  return std::abs(T(one_minus_beta)) < T(0.5);
}

}  // namespace

// ---- SGD ------------------------------------------------------------------------------------

template <typename T>
void sgd_step_multi(int64_t num_tensors, T* const* params, const T* const* grads, T* const* momentum_buffers,
                    const int64_t* numels, const uint8_t* first_steps, const SgdOptions& opt) {
  const SgdFactors<T> f = sgd_factors<T>(opt);
  const bool wd = opt.weight_decay != 0, momentum = opt.momentum != 0;
  const auto& runs = kernels<T>().sgd[wd][momentum];
  auto body = [&](int64_t t, int64_t b, int64_t e) {
    const bool first = first_steps != nullptr && first_steps[t] != 0;
    T* buf = momentum ? momentum_buffers[t] + b : nullptr;
    runs[first][opt.nesterov](params[t] + b, grads[t] + b, buf, e - b, f);
  };
  for_each_piece(num_tensors, numels, 4, body);
}

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t numel, bool first_step, const SgdOptions& opt) {
  const uint8_t first = first_step ? 1 : 0;
  sgd_step_multi<T>(1, &param, &grad, &momentum_buffer, &numel, &first, opt);
}

// ---- Adagrad --------------------------------------------------------------------------------

template <typename T>
void adagrad_step_multi(int64_t num_tensors, T* const* params, const T* const* grads, T* const* state_sums,
                        const int64_t* numels, const int64_t* steps, const AdagradOptions& opt) {
  const AdagradRun<T> run = kernels<T>().adagrad[opt.weight_decay != 0];
  // Tensors of one group usually share a step: recompute the factors only when it changes.
  auto body = [&, last_step = int64_t(-1), f = AdagradFactors<T>{}](int64_t t, int64_t b, int64_t e) mutable {
    if (steps[t] != last_step) {
      f = adagrad_factors<T>(opt, steps[t]);
      last_step = steps[t];
    }
    run(params[t] + b, grads[t] + b, state_sums[t] + b, e - b, f);
  };
  for_each_piece(num_tensors, numels, 12, body);
}

template <typename T>
void adagrad_step(T* param, const T* grad, T* state_sum, int64_t numel, int64_t step, const AdagradOptions& opt) {
  adagrad_step_multi<T>(1, &param, &grad, &state_sum, &numel, &step, opt);
}

// ---- RMSprop --------------------------------------------------------------------------------

template <typename T>
void rmsprop_step_multi(int64_t num_tensors, T* const* params, const T* const* grads, T* const* square_avgs,
                        T* const* grad_avgs, T* const* momentum_buffers, const int64_t* numels,
                        const RmspropOptions& opt) {
  const RmspropFactors<T> f = rmsprop_factors<T>(opt);
  const bool momentum = opt.momentum > 0;
  const RmspropRun<T> run =
      kernels<T>().rmsprop[opt.weight_decay != 0][opt.centered][small_weight<T>(1 - opt.alpha)][momentum];
  auto body = [&](int64_t t, int64_t b, int64_t e) {
    T* ga = opt.centered ? grad_avgs[t] + b : nullptr;
    T* buf = momentum ? momentum_buffers[t] + b : nullptr;
    run(params[t] + b, grads[t] + b, square_avgs[t] + b, ga, buf, e - b, f);
  };
  for_each_piece(num_tensors, numels, 16, body);
}

template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t numel,
                  const RmspropOptions& opt) {
  rmsprop_step_multi<T>(1, &param, &grad, &square_avg, &grad_avg, &momentum_buffer, &numel, opt);
}

// ---- Adam / AdamW ---------------------------------------------------------------------------

template <typename T>
void adam_step_multi(int64_t num_tensors, T* const* params, const T* const* grads, T* const* exp_avgs,
                     T* const* exp_avg_sqs, T* const* max_exp_avg_sqs, const int64_t* numels, const int64_t* steps,
                     const AdamOptions& opt) {
  const bool l2 = opt.weight_decay != 0 && !opt.decoupled_weight_decay;
  const AdamRun<T> run = kernels<T>().adam[l2][opt.amsgrad][small_weight<T>(1 - opt.beta1)];
  // Tensors of one group usually share a step: recompute the pow()s only when it changes.
  auto body = [&, last_step = int64_t(-1), f = AdamFactors<T>{}](int64_t t, int64_t b, int64_t e) mutable {
    if (steps[t] != last_step) {
      f = adam_factors<T>(opt, steps[t]);
      last_step = steps[t];
    }
    T* vmax = opt.amsgrad ? max_exp_avg_sqs[t] + b : nullptr;
    run(params[t] + b, grads[t] + b, exp_avgs[t] + b, exp_avg_sqs[t] + b, vmax, e - b, f);
  };
  for_each_piece(num_tensors, numels, 16, body);
}

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t numel, int64_t step,
               const AdamOptions& opt) {
  adam_step_multi<T>(1, &param, &grad, &exp_avg, &exp_avg_sq, &max_exp_avg_sq, &numel, &step, opt);
}

// ---- instantiations -------------------------------------------------------------------------

#define EMBER_INSTANTIATE(T)                                                                                    \
  template void sgd_step<T>(T*, const T*, T*, int64_t, bool, const SgdOptions&);                                \
  template void sgd_step_multi<T>(int64_t, T* const*, const T* const*, T* const*, const int64_t*,               \
                                  const uint8_t*, const SgdOptions&);                                           \
  template void adagrad_step<T>(T*, const T*, T*, int64_t, int64_t, const AdagradOptions&);                     \
  template void adagrad_step_multi<T>(int64_t, T* const*, const T* const*, T* const*, const int64_t*,           \
                                      const int64_t*, const AdagradOptions&);                                   \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, int64_t, const RmspropOptions&);                      \
  template void rmsprop_step_multi<T>(int64_t, T* const*, const T* const*, T* const*, T* const*, T* const*,    \
                                      const int64_t*, const RmspropOptions&);                                   \
  template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, int64_t, const AdamOptions&);                   \
  template void adam_step_multi<T>(int64_t, T* const*, const T* const*, T* const*, T* const*, T* const*,       \
                                   const int64_t*, const int64_t*, const AdamOptions&);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)
#undef EMBER_INSTANTIATE

}  // namespace ember::kernels
