// StepPlan (see step_plan.h).
#include "optim/step_plan.h"

#include <algorithm>
#include <cmath>

#include "ember/autograd.h"
#include "ops/elementwise_iter.h"

namespace ember::optim::detail {
namespace {

bool written_role(size_t role) { return role != 1; }  // everything but the grads

}  // namespace

StepPlan::StepPlan(const char* op, const std::vector<Tensor>& params, const std::vector<Tensor>& grads)
    : op_(op), params_(params) {
  EMBER_CHECK(grads.size() == params.size(), ValueError, op, ": expected one gradient per parameter (",
              params.size(), " params), got ", grads.size(), " grads");
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    const Tensor& g = grads[i];
    EMBER_CHECK(p.defined(), ValueError, op, ": params[", i, "] is undefined");
    EMBER_CHECK(is_floating(p.dtype()), TypeError, op, ": params[", i,
                "] must be a floating-point tensor (float32 or float64), got ", dtype_name(p.dtype()));
    EMBER_CHECK(p.device().type == DeviceType::CPU, NotImplementedError, op, ": params[", i, "] is on ",
                p.device().str(), "; optimizer steps run on the CPU only");
    EMBER_CHECK(g.defined(), ValueError, op, ": grads[", i,
                "] is undefined (leave parameters without a gradient out of the lists)");
    EMBER_CHECK(g.shape() == p.shape(), ValueError, op, ": grads[", i, "] has shape ", g.shape(),
                " but params[", i, "] has shape ", p.shape());
    EMBER_CHECK(g.dtype() == p.dtype(), TypeError, op, ": grads[", i, "] has dtype ", dtype_name(g.dtype()),
                " but params[", i, "] has dtype ", dtype_name(p.dtype()));
    EMBER_CHECK(g.device() == p.device(), ValueError, op, ": grads[", i, "] is on ", g.device().str(),
                " but params[", i, "] is on ", p.device().str());
    if (!p.is_contiguous()) ops::check_no_internal_overlap(p, op);
  }
  lists_.push_back(params);
  lists_.push_back(grads);
}

int StepPlan::add_state(const char* name, const std::vector<Tensor>& list) {
  EMBER_CHECK(list.size() == params_.size(), ValueError, op_, ": expected one ", name, " entry per parameter (",
              params_.size(), " params), got ", list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const Tensor& s = list[i];
    const Tensor& p = params_[i];
    EMBER_CHECK(s.defined(), ValueError, op_, ": ", name, "[", i, "] is undefined");
    EMBER_CHECK(s.shape() == p.shape(), ValueError, op_, ": ", name, "[", i, "] has shape ", s.shape(),
                " but params[", i, "] has shape ", p.shape());
    EMBER_CHECK(s.dtype() == p.dtype(), TypeError, op_, ": ", name, "[", i, "] has dtype ", dtype_name(s.dtype()),
                " but params[", i, "] has dtype ", dtype_name(p.dtype()));
    EMBER_CHECK(s.device() == p.device(), ValueError, op_, ": ", name, "[", i, "] is on ", s.device().str(),
                " but params[", i, "] is on ", p.device().str());
    if (!s.is_contiguous()) ops::check_no_internal_overlap(s, op_);
  }
  lists_.push_back(list);
  return static_cast<int>(lists_.size()) - 1;
}

void StepPlan::set_steps(const std::vector<Tensor>& steps) {
  EMBER_CHECK(steps.size() == params_.size(), ValueError, op_, ": expected one state_steps entry per parameter (",
              params_.size(), " params), got ", steps.size());
  step_values_.resize(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const Tensor& s = steps[i];
    EMBER_CHECK(s.defined() && s.numel() == 1, ValueError, op_, ": state_steps[", i,
                "] must be a one-element tensor");
    EMBER_CHECK(s.dtype() != DType::Bool, TypeError, op_, ": state_steps[", i, "] must be numeric, got bool");
    EMBER_CHECK(s.device().type == DeviceType::CPU, NotImplementedError, op_, ": state_steps[", i,
                "] must be on the CPU");
    const double next = s.item() + 1;
    // A count loaded from a corrupt state dict must not reach pow() as garbage.
    EMBER_CHECK(next >= 1 && next <= 9.0e15 && next == std::floor(next), ValueError, op_, ": state_steps[", i,
                "] holds ", next - 1, ", not a step count");
    step_values_[i] = static_cast<int64_t>(next);
  }
  steps_ = steps;
}

void StepPlan::prepare() {
  // Contiguous buffers: the caller's tensors where possible, else copies (written back later).
  bufs_.assign(lists_.size(), {});
  for (size_t r = 0; r < lists_.size(); ++r) {
    bufs_[r].reserve(lists_[r].size());
    for (const Tensor& t : lists_[r]) bufs_[r].push_back(t.is_contiguous() ? t : t.detach().clone());
  }
  // No two buffers may share memory: the kernels write them all at once, in parallel.
  struct Range {
    const char* lo;
    const char* hi;
    size_t role, index;
  };
  std::vector<Range> ranges;
  for (size_t r = 0; r < bufs_.size(); ++r)
    for (size_t i = 0; i < bufs_[r].size(); ++i) {
      const Tensor& t = bufs_[r][i];
      const char* lo = static_cast<const char*>(t.raw_data());
      if (t.numel() > 0) ranges.push_back({lo, lo + t.numel() * t.itemsize(), r, i});
    }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.lo < b.lo; });
  static const char* const kRoleNames[] = {"params", "grads"};
  auto role_name = [](size_t r) { return r < 2 ? std::string(kRoleNames[r]) : "state list " + std::to_string(r - 2); };
  for (size_t k = 1; k < ranges.size(); ++k) {
    const Range& a = ranges[k - 1];
    const Range& b = ranges[k];
    EMBER_CHECK(b.lo >= a.hi, ValueError, op_, ": ", role_name(a.role), "[", a.index, "] and ", role_name(b.role),
                "[", b.index, "] share memory; every parameter, gradient and state tensor of a step must be "
                "distinct (is a parameter listed twice?)");
  }
  // Validation is over: from here on the step writes.
  for (size_t i = 0; i < steps_.size(); ++i) {
    Tensor& s = steps_[i];
    dispatch_numeric(s.dtype(), op_, [&](auto tag) {
      using S = typename decltype(tag)::type;
      *static_cast<S*>(s.raw_data()) = static_cast<S>(step_values_[i]);
    });
    s.bump_version();
  }
}

template <typename T>
StepPlan::Group<T> StepPlan::group(DType dtype) const {
  Group<T> g;
  g.roles.resize(bufs_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].dtype() != dtype) continue;
    g.indices.push_back(i);
    g.numels.push_back(params_[i].numel());
    if (!step_values_.empty()) g.steps.push_back(step_values_[i]);
    for (size_t r = 0; r < bufs_.size(); ++r) g.roles[r].push_back(static_cast<T*>(bufs_[r][i].raw_data()));
  }
  return g;
}

void StepPlan::finish() {
  autograd::NoGradGuard no_grad;  // the copy-back of a parameter is not an op on it
  for (size_t r = 0; r < lists_.size(); ++r) {
    if (!written_role(r)) continue;
    for (size_t i = 0; i < lists_[r].size(); ++i) {
      Tensor& orig = lists_[r][i];
      if (bufs_[r][i].get() == orig.get())
        orig.bump_version();
      else
        orig.copy_(bufs_[r][i]);  // bumps the version itself
    }
  }
}

template StepPlan::Group<float> StepPlan::group<float>(DType) const;
template StepPlan::Group<double> StepPlan::group<double>(DType) const;

}  // namespace ember::optim::detail
