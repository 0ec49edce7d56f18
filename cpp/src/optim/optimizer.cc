// The optimizer classes (ember/optim.h): parameter groups, per-parameter state, and a step that
// hands each group to its functional multi-tensor step in one call.
#include <set>
#include <string>

#include "ember/autograd.h"
#include "ember/ops.h"
#include "ember/optim.h"

namespace ember::optim {
namespace {

// Grad mode on for the closure, whatever the caller had, restored on the way out.
Tensor zeros_like_param(const Tensor& p) { return zeros(p.shape(), p.dtype()); }

// The state entry `name`, created by `init` when missing (a fresh parameter, or a state dict
// that lacked it).
template <typename Init>
Tensor& entry(ParamState& st, const char* name, Init&& init) {
  auto it = st.find(name);
  if (it == st.end() || !it->second.defined()) it = st.insert_or_assign(name, init()).first;
  return it->second;
}

Tensor step_counter() { return zeros({}, DType::Float32); }  // torch keeps float32 scalars

}  // namespace

// ---- Optimizer -------------------------------------------------------------------------------

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  if (closure) {
    autograd::GradModeGuard grad_on(true);
    loss = closure();
  }
  autograd::NoGradGuard grad_off;
  for (size_t g = 0; g < groups_.size(); ++g) {
    std::vector<Tensor> params, grads;
    for (const Tensor& p : groups_[g].params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      params.push_back(p);
      grads.push_back(grad);
    }
    if (!params.empty()) step_group(g, params, grads);
  }
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  autograd::NoGradGuard grad_off;
  for (const Group& group : groups_)
    for (Tensor p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      if (set_to_none) {
        p.set_grad(Tensor());
      } else {
        if (g.grad_fn() != nullptr) {  // a gradient with history (create_graph): cut it loose
          g = g.detach();
          p.set_grad(g);
        }
        g.zero_();
      }
    }
}

const std::vector<Tensor>& Optimizer::params(size_t group) const {
  EMBER_CHECK(group < groups_.size(), IndexError, "param group ", group, " out of range (", groups_.size(),
              " groups)");
  return groups_[group].params;
}

std::vector<Tensor> Optimizer::all_params() const {
  std::vector<Tensor> all;
  for (const Group& g : groups_) all.insert(all.end(), g.params.begin(), g.params.end());
  return all;
}

double Optimizer::lr(size_t group) const {
  EMBER_CHECK(group < groups_.size(), IndexError, "param group ", group, " out of range (", groups_.size(),
              " groups)");
  return get_group_lr(group);
}

void Optimizer::set_lr(double lr) {
  for (size_t g = 0; g < groups_.size(); ++g) set_group_lr(g, lr);
}

void Optimizer::set_lr(size_t group, double lr) {
  EMBER_CHECK(group < groups_.size(), IndexError, "param group ", group, " out of range (", groups_.size(),
              " groups)");
  set_group_lr(group, lr);
}

ParamState& Optimizer::state(const Tensor& param) {
  EMBER_CHECK(param.defined(), ValueError, "state: undefined parameter");
  return state_[param.get()];
}

void Optimizer::add_group(std::vector<Tensor> params, size_t options_index) {
  EMBER_CHECK(!params.empty(), ValueError, "optimizer got an empty parameter list");
  std::set<const TensorImpl*> seen;
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    EMBER_CHECK(p.defined(), ValueError, "optimizer got an undefined tensor at position ", i);
    EMBER_CHECK(is_floating(p.dtype()), TypeError, "optimizer can only optimize floating-point tensors, got ",
                dtype_name(p.dtype()), " at position ", i);
    EMBER_CHECK(p.is_leaf(), ValueError, "can't optimize a non-leaf Tensor");
    EMBER_CHECK(seen.insert(p.get()).second, ValueError,
                "optimizer contains a parameter group with duplicate parameters");
  }
  for (const Group& g : groups_)
    for (const Tensor& p : g.params)
      EMBER_CHECK(!seen.count(p.get()), ValueError, "some parameters appear in more than one parameter group");
  groups_.push_back({std::move(params), options_index});
}

io::NamedTensors Optimizer::state_dict() const {
  io::NamedTensors out;
  size_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (const Tensor& p : groups_[g].params) {
      auto it = state_.find(p.get());
      if (it != state_.end())
        for (const auto& [name, t] : it->second)
          if (t.defined()) out.emplace_back("state." + std::to_string(index) + "." + name, t);
      ++index;
    }
    out.emplace_back("param_groups." + std::to_string(g) + ".lr", full({}, get_group_lr(g), DType::Float64));
  }
  return out;
}

void Optimizer::load_state_dict(const io::NamedTensors& dict) {
  const std::vector<Tensor> all = all_params();
  std::vector<ParamState> loaded(all.size());
  std::vector<std::pair<size_t, double>> lrs;
  // Everything is checked before anything changes.
  for (const auto& [key, t] : dict) {
    auto bad = [&key = key](const std::string& why) {
      return ValueError("load_state_dict: entry '" + key + "' " + why);
    };
    if (!t.defined()) throw bad("is undefined");
    size_t dot = key.find('.');
    const std::string head = key.substr(0, dot);
    const size_t dot2 = dot == std::string::npos ? dot : key.find('.', dot + 1);
    if (dot2 == std::string::npos) throw bad("is not of the form state.<index>.<name> or param_groups.<group>.lr");
    const std::string num = key.substr(dot + 1, dot2 - dot - 1);
    const std::string name = key.substr(dot2 + 1);
    if (num.empty() || num.size() > 9 || num.find_first_not_of("0123456789") != std::string::npos)
      throw bad("has no valid index");
    const size_t idx = std::stoul(num);
    if (head == "state") {
      if (idx >= all.size())
        throw bad("refers to parameter " + num + ", but the optimizer has " + std::to_string(all.size()));
      const Tensor& p = all[idx];
      if (name == "step") {
        if (t.numel() != 1 || t.dtype() == DType::Bool) throw bad("must be a one-element numeric tensor");
      } else if (t.shape() != p.shape() || t.dtype() != p.dtype()) {
        throw bad("has shape " + str(t.shape()) + " and dtype " + dtype_name(t.dtype()) + ", but parameter " + num +
                  " has shape " + str(p.shape()) + " and dtype " + dtype_name(p.dtype()));
      }
      loaded[idx][name] = t.detach().clone();  // the optimizer's own copy, as torch deep-copies
    } else if (head == "param_groups" && name == "lr") {
      if (idx >= groups_.size())
        throw bad("refers to group " + num + ", but the optimizer has " + std::to_string(groups_.size()));
      if (t.numel() != 1) throw bad("must be a one-element tensor");
      lrs.emplace_back(idx, t.item());
    } else {
      throw bad("is not of the form state.<index>.<name> or param_groups.<group>.lr");
    }
  }
  state_.clear();
  for (size_t i = 0; i < all.size(); ++i)
    if (!loaded[i].empty()) state_[all[i].get()] = std::move(loaded[i]);
  for (const auto& [g, lr] : lrs) set_group_lr(g, lr);
}

// ---- the concrete optimizers ------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> params, const SGDOptions& defaults) : OptimizerWith(defaults) {
  add_param_group(std::move(params));
}

void SGD::step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  const SGDOptions& o = options(group);
  std::vector<Tensor> bufs;
  if (o.momentum != 0)
    for (const Tensor& p : params) {
      ParamState& st = state(p);
      auto it = st.find("momentum_buffer");
      bufs.push_back(it == st.end() ? Tensor() : it->second);  // undefined: created by this step
    }
  sgd_step(params, grads, bufs, o);
  if (o.momentum != 0)
    for (size_t i = 0; i < params.size(); ++i) state(params[i])["momentum_buffer"] = bufs[i];
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& defaults) : OptimizerWith(defaults) {
  add_param_group(std::move(params));
}

void Adam::step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  const AdamOptions& o = options(group);
  std::vector<Tensor> m, v, vmax, steps;
  for (const Tensor& p : params) {
    ParamState& st = state(p);
    steps.push_back(entry(st, "step", step_counter));
    m.push_back(entry(st, "exp_avg", [&] { return zeros_like_param(p); }));
    v.push_back(entry(st, "exp_avg_sq", [&] { return zeros_like_param(p); }));
    if (o.amsgrad) vmax.push_back(entry(st, "max_exp_avg_sq", [&] { return zeros_like_param(p); }));
  }
  adam_step(params, grads, m, v, vmax, steps, o);
}

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults) : OptimizerWith(defaults) {
  add_param_group(std::move(params));
}

void Adagrad::on_group_added(size_t group) {
  const AdagradOptions& o = options(group);
  for (const Tensor& p : groups_[group].params) {
    ParamState& st = state(p);
    entry(st, "step", step_counter);
    entry(st, "sum", [&] { return full(p.shape(), o.initial_accumulator_value, p.dtype()); });
  }
}

void Adagrad::step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  const AdagradOptions& o = options(group);
  std::vector<Tensor> sums, steps;
  for (const Tensor& p : params) {
    ParamState& st = state(p);
    steps.push_back(entry(st, "step", step_counter));
    sums.push_back(entry(st, "sum", [&] { return full(p.shape(), o.initial_accumulator_value, p.dtype()); }));
  }
  adagrad_step(params, grads, sums, steps, o);
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults) : OptimizerWith(defaults) {
  add_param_group(std::move(params));
}

void RMSprop::step_group(size_t group, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  const RMSpropOptions& o = options(group);
  std::vector<Tensor> sq, ga, bufs, steps;
  for (const Tensor& p : params) {
    ParamState& st = state(p);
    steps.push_back(entry(st, "step", step_counter));
    sq.push_back(entry(st, "square_avg", [&] { return zeros_like_param(p); }));
    if (o.momentum > 0) bufs.push_back(entry(st, "momentum_buffer", [&] { return zeros_like_param(p); }));
    if (o.centered) ga.push_back(entry(st, "grad_avg", [&] { return zeros_like_param(p); }));
  }
  rmsprop_step(params, grads, sq, ga, bufs, steps, o);
}

}  // namespace ember::optim
