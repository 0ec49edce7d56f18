// The functional multi-tensor optimizer steps (ember/optim.h) and the checks of their options.
// Each step is one StepPlan (validation, contiguity, step counts) and one fused multi-tensor
// kernel call per dtype (kernels/cpu/optim.h).
#include <cmath>
#include <type_traits>

#include "ember/optim.h"
#include "kernels/cpu/optim.h"
#include "optim/step_plan.h"

namespace ember::optim {

using detail::StepPlan;

// ---- option checks, in torch's words (`not 0.0 <= x` also rejects NaN) -----------------------

namespace {

void check_lr(double lr) { EMBER_CHECK(lr >= 0.0, ValueError, "Invalid learning rate: ", lr); }
void check_eps(double eps) { EMBER_CHECK(eps >= 0.0, ValueError, "Invalid epsilon value: ", eps); }
void check_weight_decay(double wd) { EMBER_CHECK(wd >= 0.0, ValueError, "Invalid weight_decay value: ", wd); }
void check_momentum(double m) { EMBER_CHECK(m >= 0.0, ValueError, "Invalid momentum value: ", m); }

}  // namespace

void validate(const SGDOptions& o) {
  check_lr(o.lr);
  check_momentum(o.momentum);
  check_weight_decay(o.weight_decay);
  EMBER_CHECK(std::isfinite(o.dampening), ValueError, "Invalid dampening value: ", o.dampening);
  EMBER_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), ValueError,
              "Nesterov momentum requires a momentum and zero dampening");
}

void validate(const AdamOptions& o) {
  check_lr(o.lr);
  check_eps(o.eps);
  EMBER_CHECK(0.0 <= o.beta1 && o.beta1 < 1.0, ValueError, "Invalid beta parameter at index 0: ", o.beta1);
  EMBER_CHECK(0.0 <= o.beta2 && o.beta2 < 1.0, ValueError, "Invalid beta parameter at index 1: ", o.beta2);
  check_weight_decay(o.weight_decay);
}

void validate(const AdagradOptions& o) {
  check_lr(o.lr);
  EMBER_CHECK(o.lr_decay >= 0.0, ValueError, "Invalid lr_decay value: ", o.lr_decay);
  check_weight_decay(o.weight_decay);
  EMBER_CHECK(o.initial_accumulator_value >= 0.0, ValueError, "Invalid initial_accumulator_value value: ",
              o.initial_accumulator_value);
  check_eps(o.eps);
}

void validate(const RMSpropOptions& o) {
  check_lr(o.lr);
  check_eps(o.eps);
  check_momentum(o.momentum);
  check_weight_decay(o.weight_decay);
  EMBER_CHECK(o.alpha >= 0.0, ValueError, "Invalid alpha value: ", o.alpha);
}

// ---- steps -------------------------------------------------------------------------------------

void sgd_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
              std::vector<Tensor>& momentum_buffers, const SGDOptions& o) {
  validate(o);
  StepPlan plan("sgd_step", params, grads);
  const bool momentum = o.momentum != 0;
  std::vector<Tensor> bufs;  // the caller's list is replaced only once the step has succeeded
  std::vector<uint8_t> first;
  int buf_role = -1;
  if (momentum) {
    EMBER_CHECK(momentum_buffers.size() == params.size(), ValueError,
                "sgd_step: expected one momentum_buffers entry per parameter (", params.size(),
                " params), got ", momentum_buffers.size());
    bufs = momentum_buffers;
    first.assign(params.size(), 0);
    for (size_t i = 0; i < bufs.size(); ++i)
      if (!bufs[i].defined()) {  // torch's `buf is None`: the kernel copies the gradient in
        bufs[i] = empty(params[i].shape(), params[i].dtype());
        first[i] = 1;
      }
    buf_role = plan.add_state("momentum_buffers", bufs);
  }
  kernels::SgdOptions k;
  k.lr = o.lr;
  k.momentum = o.momentum;
  k.dampening = o.dampening;
  k.weight_decay = o.weight_decay;
  k.nesterov = o.nesterov;
  k.maximize = o.maximize;
  plan.run([&](auto& g) {
    using T = typename std::decay_t<decltype(g)>::value_type;
    std::vector<uint8_t> first_g;
    if (momentum)
      for (size_t i : g.indices) first_g.push_back(first[i]);
    kernels::sgd_step_multi<T>(g.count(), g.ptrs(0), g.ptrs(1), g.ptrs(buf_role),
                               g.numels.data(), momentum ? first_g.data() : nullptr, k);
  });
  if (momentum) momentum_buffers = std::move(bufs);
}

void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<Tensor>& state_steps,
               const AdamOptions& o) {
  validate(o);
  StepPlan plan("adam_step", params, grads);
  const int m = plan.add_state("exp_avgs", exp_avgs);
  const int v = plan.add_state("exp_avg_sqs", exp_avg_sqs);
  const int vmax = o.amsgrad ? plan.add_state("max_exp_avg_sqs", max_exp_avg_sqs) : -1;
  plan.set_steps(state_steps);
  kernels::AdamOptions k;
  k.lr = o.lr;
  k.beta1 = o.beta1;
  k.beta2 = o.beta2;
  k.eps = o.eps;
  k.weight_decay = o.weight_decay;
  k.amsgrad = o.amsgrad;
  k.maximize = o.maximize;
  k.decoupled_weight_decay = o.decoupled_weight_decay;
  plan.run([&](auto& g) {
    using T = typename std::decay_t<decltype(g)>::value_type;
    kernels::adam_step_multi<T>(g.count(), g.ptrs(0), g.ptrs(1), g.ptrs(m), g.ptrs(v),
                                g.ptrs(vmax), g.numels.data(), g.steps.data(), k);
  });
}

void adagrad_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& state_sums, const std::vector<Tensor>& state_steps,
                  const AdagradOptions& o) {
  validate(o);
  StepPlan plan("adagrad_step", params, grads);
  const int sum = plan.add_state("state_sums", state_sums);
  plan.set_steps(state_steps);
  kernels::AdagradOptions k;
  k.lr = o.lr;
  k.lr_decay = o.lr_decay;
  k.weight_decay = o.weight_decay;
  k.initial_accumulator_value = o.initial_accumulator_value;
  k.eps = o.eps;
  k.maximize = o.maximize;
  plan.run([&](auto& g) {
    using T = typename std::decay_t<decltype(g)>::value_type;
    kernels::adagrad_step_multi<T>(g.count(), g.ptrs(0), g.ptrs(1), g.ptrs(sum),
                                   g.numels.data(), g.steps.data(), k);
  });
}

void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& grad_avgs,
                  const std::vector<Tensor>& momentum_buffers, const std::vector<Tensor>& state_steps,
                  const RMSpropOptions& o) {
  validate(o);
  StepPlan plan("rmsprop_step", params, grads);
  const int sq = plan.add_state("square_avgs", square_avgs);
  const int ga = o.centered ? plan.add_state("grad_avgs", grad_avgs) : -1;
  const int buf = o.momentum > 0 ? plan.add_state("momentum_buffers", momentum_buffers) : -1;
  plan.set_steps(state_steps);
  kernels::RmspropOptions k;
  k.lr = o.lr;
  k.alpha = o.alpha;
  k.eps = o.eps;
  k.weight_decay = o.weight_decay;
  k.momentum = o.momentum;
  k.centered = o.centered;
  k.maximize = o.maximize;
  plan.run([&](auto& g) {
    using T = typename std::decay_t<decltype(g)>::value_type;
    kernels::rmsprop_step_multi<T>(g.count(), g.ptrs(0), g.ptrs(1), g.ptrs(sq),
                                   g.ptrs(ga), g.ptrs(buf), g.numels.data(), k);
  });
}

}  // namespace ember::optim
