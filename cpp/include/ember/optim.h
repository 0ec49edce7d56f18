// Optimizers and gradient regularization (torch.optim and torch.nn.utils's names, defaults and
// update rules).
//
// Two levels:
// - Functional multi-tensor steps (sgd_step, adam_step, ...): update a whole list of parameters and
//   their state in one call. The fused kernels split the concatenation of all tensors' elements
//   across the OpenMP threads, so a model of many small tensors pays no per-tensor dispatch.
//   torch.optim's functional forms (torch.optim.sgd, .adam, ...) take the same lists.
// - Optimizer classes (SGD, Adam, AdamW, Adagrad, RMSprop) for C++ programs: parameter groups
//   with their own options, per-parameter state, zero_grad() and step(), state_dict().
//
// The update of every element is the one of torch.optim's CPU implementation, operation for
// operation (see kernels/cpu/optim.h): SGD agrees with torch bit for bit, Adam/AdamW/Adagrad with
// torch's fused=True path bit for bit, and with its default path to a few ulps.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/io.h"
#include "ember/tensor.h"

namespace ember::optim {

// ---- options ---------------------------------------------------------------------------------
// Plain structs with torch's defaults; `validate` throws ValueError with torch's wording
// ("Invalid learning rate: -1"). Every step validates its options, so a value set after
// construction (by a schedule or by hand) is checked too.

struct SGDOptions {
  explicit SGDOptions(double lr_ = 1e-3) : lr(lr_) {}
  double lr;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
};

// Adam; with decoupled_weight_decay it is AdamW (as in torch 2.13).
struct AdamOptions {
  explicit AdamOptions(double lr_ = 1e-3) : lr(lr_) {}
  double lr;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
  bool decoupled_weight_decay = false;
};

// AdamW's defaults: weight_decay 1e-2, decoupled.
struct AdamWOptions : AdamOptions {
  explicit AdamWOptions(double lr_ = 1e-3) : AdamOptions(lr_) {
    weight_decay = 1e-2;
    decoupled_weight_decay = true;
  }
};

struct AdagradOptions {
  explicit AdagradOptions(double lr_ = 1e-2) : lr(lr_) {}
  double lr;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  bool maximize = false;
};

struct RMSpropOptions {
  explicit RMSpropOptions(double lr_ = 1e-2) : lr(lr_) {}
  double lr;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  bool maximize = false;
};

void validate(const SGDOptions& o);
void validate(const AdamOptions& o);
void validate(const AdagradOptions& o);
void validate(const RMSpropOptions& o);

// ---- functional multi-tensor steps -----------------------------------------------------------
// Entry i of every list belongs to params[i]. Parameters and state are updated in place (their
// version counters are bumped, so a graph that saved a parameter notices); autograd does not
// record the update. All tensors of one index share shape and dtype (float32 or float64; the
// lists may mix dtypes). Non-contiguous tensors work (through a contiguous copy). State lists an
// option does not use may be empty: momentum_buffers when momentum == 0, max_exp_avg_sqs
// without amsgrad, grad_avgs when not centered.
//
// state_steps: one-element tensors (torch keeps float32 scalars) holding the number of steps
// taken; each step adds 1 to them before using them, as torch's functional forms do.

// Undefined momentum buffers are created on this step (torch's `buf is None`: the first step
// copies the gradient into the new buffer), and stored back into the list.
void sgd_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
              std::vector<Tensor>& momentum_buffers, const SGDOptions& options);

void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<Tensor>& state_steps,
               const AdamOptions& options);

// state_sums start filled with initial_accumulator_value.
void adagrad_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& state_sums, const std::vector<Tensor>& state_steps,
                  const AdagradOptions& options);

// square_avgs, grad_avgs and momentum_buffers start at zero.
void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& grad_avgs,
                  const std::vector<Tensor>& momentum_buffers, const std::vector<Tensor>& state_steps,
                  const RMSpropOptions& options);

// ---- optimizer classes -----------------------------------------------------------------------

// An optimizer's per-parameter state: named tensors, with torch's names ("step", "exp_avg", ...).
using ParamState = std::map<std::string, Tensor>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient. With a closure, calls it first (with
  // grad mode on; it usually recomputes the loss and its gradients) and returns its result.
  Tensor step(const std::function<Tensor()>& closure = nullptr);
  // set_to_none: drops the gradients (the next backward allocates fresh ones); else fills them
  // with zeros, detached from any graph.
  void zero_grad(bool set_to_none = true);

  size_t num_param_groups() const { return groups_.size(); }
  const std::vector<Tensor>& params(size_t group) const;
  // Every parameter, group after group.
  std::vector<Tensor> all_params() const;
  double lr(size_t group = 0) const;
  void set_lr(double lr);  // every group
  void set_lr(size_t group, double lr);

  // The state of one parameter (empty before its first step).
  ParamState& state(const Tensor& param);

  // Everything a resumed run needs beyond the parameters: "state.<i>.<name>" for the state of
  // the i-th parameter (counting through the groups in order), "param_groups.<g>.lr" as float64
  // scalars. io::save_safetensors writes it; load_state_dict(io::load_safetensors(...).tensors)
  // restores it (shapes and dtypes checked; the optimizer must hold the same parameter list).
  io::NamedTensors state_dict() const;
  void load_state_dict(const io::NamedTensors& state);

 protected:
  Optimizer() = default;
  struct Group {
    std::vector<Tensor> params;
    size_t options;  // index into the subclass's option list
  };
  // Checks (leaf, floating, not in another group, non-empty) and appends a group.
  void add_group(std::vector<Tensor> params, size_t options_index);
  // Updates the parameters of one group that have a gradient (grads[i] is params[i]'s).
  virtual void step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) = 0;
  virtual double get_group_lr(size_t group) const = 0;
  virtual void set_group_lr(size_t group, double lr) = 0;

  std::vector<Group> groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

// The options-typed part shared by the concrete optimizers.
template <typename Options>
class OptimizerWith : public Optimizer {
 public:
  // A group with the default options.
  void add_param_group(std::vector<Tensor> params) { add_param_group(std::move(params), defaults_); }
  void add_param_group(std::vector<Tensor> params, const Options& options) {
    validate(options);
    options_.push_back(options);
    try {
      add_group(std::move(params), options_.size() - 1);
    } catch (...) {
      options_.pop_back();
      throw;
    }
    on_group_added(groups_.size() - 1);
  }
  const Options& defaults() const { return defaults_; }
  Options& options(size_t group) { return options_.at(groups_.at(group).options); }
  const Options& options(size_t group) const { return options_.at(groups_.at(group).options); }

 protected:
  explicit OptimizerWith(const Options& defaults) : defaults_(defaults) { validate(defaults); }
  double get_group_lr(size_t group) const override { return options(group).lr; }
  void set_group_lr(size_t group, double lr) override { options(group).lr = lr; }
  virtual void on_group_added(size_t /*group*/) {}

  Options defaults_;
  std::vector<Options> options_;
};

class SGD : public OptimizerWith<SGDOptions> {
 public:
  explicit SGD(std::vector<Tensor> params, const SGDOptions& defaults = SGDOptions());

 protected:
  void step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) override;
};

class Adam : public OptimizerWith<AdamOptions> {
 public:
  explicit Adam(std::vector<Tensor> params, const AdamOptions& defaults = AdamOptions());

 protected:
  void step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) override;
};

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, const AdamWOptions& defaults = AdamWOptions())
      : Adam(std::move(params), defaults) {}
};

class Adagrad : public OptimizerWith<AdagradOptions> {
 public:
  explicit Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults = AdagradOptions());

 protected:
  // torch creates Adagrad's state (step 0, sum = initial_accumulator_value) with the group.
  void on_group_added(size_t group) override;
  void step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) override;
};

class RMSprop : public OptimizerWith<RMSpropOptions> {
 public:
  explicit RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults = RMSpropOptions());

 protected:
  void step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) override;
};

// ---- gradient clipping and weight penalties (torch.nn.utils) ----------------------------------

// The norm of all tensors together, as if concatenated: p-norm for p > 0, max |x| for +inf,
// min |x| for -inf, the count of non-zeros for 0. A scalar of the tensors' (promoted) dtype;
// float32 for an empty list. Accumulates in double over fixed chunks: same bits whatever the
// thread count. No autograd. A non-finite norm raises Error (RuntimeError, torch's message) when
// error_if_nonfinite.
Tensor total_norm(const std::vector<Tensor>& tensors, double norm_type = 2.0, bool error_if_nonfinite = false);

// Multiplies the gradients in place by max_norm / (total_norm + 1e-6) when that is below 1 (in
// total_norm's dtype, then rounded to each gradient's, as torch).
void clip_grads_with_norm_(const std::vector<Tensor>& grads, double max_norm, const Tensor& total_norm);

// Scales the gradients in place so that their total norm is at most max_norm (by
// max_norm / (norm + 1e-6) when larger), as torch.nn.utils.clip_grad_norm_; returns the total
// norm before clipping: total_norm + clip_grads_with_norm_.
// Takes the gradients themselves (the Python wrapper collects p.grad).
Tensor clip_grad_norm_(const std::vector<Tensor>& grads, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value], in place.
void clip_grad_value_(const std::vector<Tensor>& grads, double clip_value);

// Differentiable weight penalties, scalars to add to a loss:
//   l1_penalty = sum over all elements of |w|        (gradient sign(w); 0 at w == 0)
//   l2_penalty = sum over all elements of w * w / 2  (gradient w, so lambda * l2_penalty adds
//                exactly lambda * w to each gradient: SGD's weight_decay = lambda)
// Result dtype: the promoted dtype of the parameters (float32 for an empty list).
Tensor l1_penalty(const std::vector<Tensor>& params);
Tensor l2_penalty(const std::vector<Tensor>& params);

}  // namespace ember::optim
