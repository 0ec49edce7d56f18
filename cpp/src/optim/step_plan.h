// StepPlan: the checks and the bookkeeping shared by the functional optimizer steps.
//
// A step gets parallel lists (params, grads, one list per state) and hands the fused kernels one
// array of raw pointers per list and dtype. StepPlan validates everything before anything is
// written (so a failed call leaves params and state as they were), turns non-contiguous tensors
// into contiguous copies that are copied back afterwards, refuses buffers that share memory (the
// kernels update all tensors at once, in parallel), increments the step counters and bumps the
// version counters of everything it wrote.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ember/tensor.h"

namespace ember::optim::detail {

class StepPlan {
 public:
  // Checks params (defined, float32/float64, on the CPU) and grads (same shape and dtype).
  StepPlan(const char* op, const std::vector<Tensor>& params, const std::vector<Tensor>& grads);

  size_t size() const { return params_.size(); }

  // Adds a state list (one tensor per parameter, same shape and dtype, written by the step).
  // Returns its role number for ptrs().
  int add_state(const char* name, const std::vector<Tensor>& list);
  // The state_steps list: one-element numeric tensors, incremented by run().
  void set_steps(const std::vector<Tensor>& steps);

  // One group of parameters of one dtype, as the kernels want it.
  template <typename T>
  struct Group {
    using value_type = T;
    std::vector<std::vector<T*>> roles;  // roles[0] params, [1] grads, [2 + k] the k-th state
    std::vector<int64_t> numels;
    std::vector<int64_t> steps;   // the new step counts (if set_steps was called)
    std::vector<size_t> indices;  // positions in the caller's lists
    int64_t count() const { return static_cast<int64_t>(numels.size()); }
    T* const* ptrs(int role) const { return role < 0 ? nullptr : roles[role].data(); }
  };

  // Increments the steps, calls fn(Group<float>&) and fn(Group<double>&) for the tensors of each
  // dtype, then publishes the writes (copy-back of non-contiguous tensors, version bumps).
  template <typename Fn>
  void run(Fn&& fn) {
    prepare();
    Group<float> f = group<float>(DType::Float32);
    Group<double> d = group<double>(DType::Float64);
    if (f.count() > 0) fn(f);
    if (d.count() > 0) fn(d);
    finish();
  }

 private:
  void prepare();  // overlap check, contiguous copies, step increments
  void finish();
  template <typename T>
  Group<T> group(DType dtype) const;

  const char* op_;
  std::vector<Tensor> params_;
  std::vector<std::vector<Tensor>> lists_;  // [role][index]: the caller's tensors
  std::vector<std::vector<Tensor>> bufs_;   // [role][index]: contiguous tensors the kernels use
  std::vector<Tensor> steps_;
  std::vector<int64_t> step_values_;
};

}  // namespace ember::optim::detail
