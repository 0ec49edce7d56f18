// Recording an op's backward as a closure. The closure receives the node (to unpack saved
// tensors, which checks their version) and the output gradients; it returns one gradient per
// input. Releasing the node drops the closure and with it everything it saved.
#pragma once

#include <functional>
#include <utility>

#include "ember/autograd.h"
#include "ember/ops.h"

namespace ember::ops {

using autograd::SavedTensor;
using autograd::TensorList;

struct FunctionNode final : autograd::Node {
  using Fn = std::function<TensorList(const autograd::Node&, TensorList&)>;
  FunctionNode(const char* n, Fn f) : label(n), fn(std::move(f)) {}
  TensorList apply(TensorList&& grads) override { return fn(*this, grads); }
  std::string name() const override { return label; }
  void release_saved() override { fn = nullptr; }
  const char* label;
  Fn fn;
};

// Records `fn` as the backward of an op with the given inputs and outputs, if any input needs it.
template <typename F>
void record(const char* name, std::initializer_list<const Tensor*> inputs, std::initializer_list<Tensor*> outputs,
            F&& fn) {
  if (!autograd::any_requires_grad(inputs)) return;
  auto node = std::make_shared<FunctionNode>(name, FunctionNode::Fn(std::forward<F>(fn)));
  autograd::set_history(node, std::vector<const Tensor*>(inputs), std::vector<Tensor*>(outputs));
}

// Same for a variable number of inputs.
template <typename F>
void record_list(const char* name, const std::vector<Tensor>& inputs, const std::vector<Tensor*>& outputs, F&& fn) {
  if (!autograd::any_requires_grad(inputs)) return;
  auto node = std::make_shared<FunctionNode>(name, FunctionNode::Fn(std::forward<F>(fn)));
  std::vector<const Tensor*> ins;
  for (const Tensor& t : inputs) ins.push_back(&t);
  autograd::set_history(node, ins, outputs);
}

// For in-place ops: after `self` was modified, make it the output of a node whose edges are
// the old history of self followed by `others`.
template <typename F>
void record_inplace(const char* name, Tensor& self, std::initializer_list<const Tensor*> others, F&& fn) {
  std::vector<const Tensor*> ins{&self};
  ins.insert(ins.end(), others.begin(), others.end());
  bool needed = false;
  if (autograd::grad_enabled())
    for (const Tensor* t : ins) needed = needed || (t->defined() && t->requires_grad());
  if (!needed) return;
  auto node = std::make_shared<FunctionNode>(name, FunctionNode::Fn(std::forward<F>(fn)));
  for (const Tensor* t : ins) node->next_edges.push_back(autograd::gradient_edge(*t));
  autograd::rebase_history(self, node);
}

// The gradient of a broadcast input: summed back to its shape and cast to its dtype.
inline Tensor reduce_grad(const Tensor& g, const Shape& shape, DType dtype) {
  Tensor r = g.shape() == shape ? g : sum_to(g, shape);
  return r.dtype() == dtype ? r : r.to(dtype);
}

}  // namespace ember::ops
