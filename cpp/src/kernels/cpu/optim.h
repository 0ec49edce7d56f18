// Fused optimizer steps over raw buffers: SGD, Adagrad, RMSprop, Adam/AdamW.
//
// Each call updates parameters and optimizer state in place, in ONE pass over each tensor's
// memory (param, grad and every state buffer read once, written once). The update rules, the
// order of the floating-point operations and the points where a hyper-parameter is rounded to the
// buffer's type are those of torch.optim's single-tensor implementations (torch 2.13, the default
// on CPU), so an ember optimizer and a torch one given the same inputs stay together step by step.
//
// Conventions shared by every kernel
// - T is float or double. All buffers of one tensor hold `numel` contiguous elements and no two
//   buffers overlap (grad may not alias param or state).
// - Hyper-parameters are doubles, like Python floats. Step-dependent factors (bias corrections,
//   Adagrad's decayed lr) are computed in double first, as torch does in Python; each factor is
//   then rounded to T once, where torch turns the Python scalar into the tensor's dtype.
// - `step` is the step count AFTER this step's increment (1 on the first step), i.e. the value of
//   torch's state["step"] once the step is done. The caller keeps and increments it.
// - State initialisation is the caller's job, as torch does on the first step:
//     SGD      momentum_buffer: no init needed; pass first_step = true on the step that has no
//              buffer yet (torch's `buf is None`): the kernel copies the gradient into it.
//     Adagrad  state_sum filled with initial_accumulator_value; step = 0 before the first step.
//     RMSprop  square_avg, grad_avg (centered) and momentum_buffer (momentum > 0) zero-filled.
//     Adam     exp_avg, exp_avg_sq and max_exp_avg_sq (amsgrad) zero-filled; step = 0.
//   Buffers an option does not use may be nullptr (in a multi-tensor call, the whole array).
// - Multi-tensor entry points (`*_multi`) take arrays of `num_tensors` pointers, sizes and per-
//   tensor steps/flags, like torch's foreach lists: the whole model is one call, split across
//   threads by total element count (not by tensor count). A single-tensor call is the same code
//   with num_tensors = 1, so both give the same bits.
// - Rounding: where torch's CPU kernels fuse a multiply-add (add with alpha, lerp, addcmul), so
//   do we (std::fma), and nowhere else. Checked over 50 steps of every option combination against
//   torch 2.13 (float32): SGD gives torch's bits exactly on every path, and Adam, AdamW and Adagrad
//   give exactly the bits of torch's fused=True kernels (for Adam/AdamW: in the vector loop;
//   torch finishes the last numel % 8 elements of a tensor with a scalar loop that now and then
//   rounds one ulp differently, see tests/test_optim.py::test_bitwise_on_same_gradients). torch's default (for-loop) and foreach
//   paths differ from us only through their float sqrt, which is not correctly rounded (one value
//   in five is one ulp off): about one ulp per step, and after 50 steps a gap far below float32's
//   own error against a float64 run.
// - Determinism: every element is updated by the same operations on its own values, so the
//   result has the same bits whatever the number of OpenMP threads, and on AVX2 or generic CPUs.
// - Not validated here (the optimizer classes check their arguments): sizes >= 0, non-null
//   buffers for the options in use, lr >= 0, and so on.
#pragma once

#include <cstdint>

namespace ember::kernels {

// ---- SGD ------------------------------------------------------------------------------------
// torch.optim.SGD:
//   g = maximize ? -grad : grad
//   if weight_decay != 0: g = g + weight_decay * p
//   if momentum != 0:
//     buf = first_step ? g : buf * momentum + (1 - dampening) * g
//     g   = nesterov ? g + momentum * buf : buf
//   p = p + (-lr) * g
struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
};

// momentum_buffer is unused (may be null) when momentum == 0.
template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t numel, bool first_step, const SgdOptions& opt);

// first_steps[i] != 0 marks a tensor whose momentum buffer is not yet initialised (torch's
// `buf is None`); first_steps == nullptr means no tensor is on its first step.
template <typename T>
void sgd_step_multi(int64_t num_tensors, T* const* params, const T* const* grads, T* const* momentum_buffers,
                    const int64_t* numels, const uint8_t* first_steps, const SgdOptions& opt);

// ---- Adagrad --------------------------------------------------------------------------------
// torch.optim.Adagrad (dense gradients):
//   g = maximize ? -grad : grad
//   if weight_decay != 0: g = g + weight_decay * p
//   clr = lr / (1 + (step - 1) * lr_decay)                         (double)
//   sum = sum + g * g
//   p = p + (-clr * g) / (sqrt(sum) + eps)
struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;  // not read by the step: the caller fills state_sum with it
  double eps = 1e-10;
  bool maximize = false;
};

template <typename T>
void adagrad_step(T* param, const T* grad, T* state_sum, int64_t numel, int64_t step, const AdagradOptions& opt);

template <typename T>
void adagrad_step_multi(int64_t num_tensors, T* const* params, const T* const* grads, T* const* state_sums,
                        const int64_t* numels, const int64_t* steps, const AdagradOptions& opt);

// ---- RMSprop --------------------------------------------------------------------------------
// torch.optim.RMSprop:
//   g = maximize ? -grad : grad
//   if weight_decay != 0: g = g + weight_decay * p
//   sq = sq * alpha + (1 - alpha) * g * g
//   if centered: ga = lerp(ga, g, 1 - alpha); avg = sqrt(sq - ga * ga) + eps
//   else:        avg = sqrt(sq) + eps
//   if momentum > 0: buf = buf * momentum + g / avg; p = p + (-lr) * buf
//   else:            p = p + (-lr * g) / avg
// RMSprop keeps a step count in torch but its update never reads it, so there is none here.
struct RmspropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  bool maximize = false;
};

// grad_avg is used only when centered, momentum_buffer only when momentum > 0 (else may be null).
template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t numel,
                  const RmspropOptions& opt);

template <typename T>
void rmsprop_step_multi(int64_t num_tensors, T* const* params, const T* const* grads, T* const* square_avgs,
                        T* const* grad_avgs, T* const* momentum_buffers, const int64_t* numels,
                        const RmspropOptions& opt);

// ---- Adam / AdamW ---------------------------------------------------------------------------
// torch.optim.Adam (AdamW = Adam with decoupled_weight_decay, as in torch 2.13):
//   g = maximize ? -grad : grad
//   if weight_decay != 0: decoupled ? p = p * (1 - lr * weight_decay) : g = g + weight_decay * p
//   m = lerp(m, g, 1 - beta1)
//   v = v * beta2 + (1 - beta2) * g * g
//   if amsgrad: vmax = max(vmax, v) (NaN propagates); v_used = vmax  else v_used = v
//   bc1 = 1 - beta1^step, bc2 = 1 - beta2^step, step_size = lr / bc1  (double)
//   p = p + (-step_size * m) / (sqrt(v_used) / sqrt(bc2) + eps)
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
  bool decoupled_weight_decay = false;  // true = AdamW
};

// torch.optim.AdamW's defaults (weight_decay 1e-2, decoupled).
inline AdamOptions adamw_options() {
  AdamOptions o;
  o.weight_decay = 1e-2;
  o.decoupled_weight_decay = true;
  return o;
}

// max_exp_avg_sq is used only with amsgrad (else may be null).
template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t numel, int64_t step,
               const AdamOptions& opt);

template <typename T>
void adam_step_multi(int64_t num_tensors, T* const* params, const T* const* grads, T* const* exp_avgs,
                     T* const* exp_avg_sqs, T* const* max_exp_avg_sqs, const int64_t* numels, const int64_t* steps,
                     const AdamOptions& opt);

// ---- internals shared by optim.cc and the two builds of optim_kernels.cc ------------------------
namespace optim_detail {

// Per-tensor factors of each update, each rounded to T once, where torch turns the Python scalar
// into the tensor's dtype (see optim.cc). sign is -1 with maximize: g * -1 has exactly the bits of
// torch's -grad, and avoids one more template flag.
template <typename T>
struct SgdFactors {
  T sign, wd, momentum, one_minus_dampening, neg_lr;
};
template <typename T>
struct AdagradFactors {
  T sign, wd, eps, neg_clr;
};
template <typename T>
struct RmspropFactors {
  T sign, wd, alpha;
  T w, w_minus_1;  // 1 - alpha (addcmul's value and grad_avg's lerp weight), and weight - 1
  T eps, momentum, neg_lr;
};
template <typename T>
struct AdamFactors {
  T sign;
  T decay;         // AdamW's 1 - lr * weight_decay; exactly 1 otherwise (p * 1 == p)
  T wd;            // Adam's L2 coefficient
  T w, w_minus_1;  // exp_avg's lerp weight 1 - beta1, and weight - 1
  T beta2, one_minus_beta2;
  T bc2_sqrt, eps, neg_step_size;
};

// The leaf loops: one contiguous run of one tensor. Buffers an option does not use may be null.
template <typename T>
using SgdRun = void (*)(T* p, const T* g, T* buf, int64_t n, const SgdFactors<T>& f);
template <typename T>
using AdagradRun = void (*)(T* p, const T* g, T* sum, int64_t n, const AdagradFactors<T>& f);
template <typename T>
using RmspropRun = void (*)(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, int64_t n,
                            const RmspropFactors<T>& f);
template <typename T>
using AdamRun = void (*)(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamFactors<T>& f);

// One loop per option combination, so that no option is tested inside a loop. small_w picks
// torch's lerp form (|weight| < 0.5: self + w * (end - self), else end + (w - 1) * (end - self)).
template <typename T>
struct OptimKernels {
  SgdRun<T> sgd[2][2][2][2];          // [weight_decay][momentum][first_step][nesterov]
  AdagradRun<T> adagrad[2];           // [weight_decay]
  RmspropRun<T> rmsprop[2][2][2][2];  // [weight_decay][centered][small_w][momentum]
  AdamRun<T> adam[2][2][2];           // [l2 weight_decay][amsgrad][small_w]
};

// The same source (optim_kernels.cc) compiled twice: for baseline x86-64, and with AVX2 + FMA
// (optim_kernels_avx2.cc, used when cpu::use_avx2()). Both give the same bits: every fused
// multiply-add is an explicit std::fma, and no other product is contracted into an add.
template <typename T>
const OptimKernels<T>& optim_kernels_generic();
template <typename T>
const OptimKernels<T>& optim_kernels_avx2();

}  // namespace optim_detail

}  // namespace ember::kernels
