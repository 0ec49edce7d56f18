// Reverse-mode autodiff: every op that needs a gradient records a Node whose apply() maps the
// gradients of its outputs to the gradients of its inputs; the engine walks the graph
// iteratively (no recursion, so a chain of 100,000 ops is fine).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ember/tensor.h"

namespace ember::autograd {

struct Node;

// Where a gradient flows: input slot `input_nr` of node `fn`.
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

using TensorList = std::vector<Tensor>;

struct Node : std::enable_shared_from_this<Node> {
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gradients w.r.t. this node's outputs in, gradients w.r.t. each next_edges entry out.
  // Entries of `grads` may be undefined (= zero); returned entries may be undefined too.
  virtual TensorList apply(TensorList&& grads) = 0;
  virtual std::string name() const = 0;
  // Drops saved tensors after a backward pass without retain_graph.
  virtual void release_saved() {}

  // Called by the engine: checks the graph was not freed, then apply().
  TensorList call(TensorList&& grads);
  void release();

  std::vector<Edge> next_edges;
  // Non-leaf tensors that asked for retain_grad(): (output slot, tensor).
  std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> retained;
  uint32_t num_outputs = 1;
  uint64_t sequence_nr;
  bool released = false;
};

// The node that adds incoming gradients into a leaf tensor's .grad.
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  TensorList apply(TensorList&& grads) override;
  std::string name() const override { return "AccumulateGrad"; }
  std::shared_ptr<TensorImpl> leaf;
};

// A tensor kept for backward. Remembers the storage version at save time, so that an in-place
// change before backward is detected instead of silently giving a wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor unpack(const Node* owner) const;  // throws if modified in place or released
  void reset() { data_ = Tensor(); }
  bool defined() const { return data_.defined(); }

 private:
  Tensor data_;  // an alias without autograd history (no reference cycle through grad_fn)
  uint64_t version_ = 0;
};

// --- grad mode --------------------------------------------------------------------------------
bool grad_enabled();
void set_grad_enabled(bool enabled);

struct GradModeGuard {
  explicit GradModeGuard(bool enabled) : prev_(grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(prev_); }
  bool prev_;
};
struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};

// --- helpers for op implementations ----------------------------------------------------------
// True when grad mode is on and any input requires grad.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);
// The edge along which a gradient for `t` should flow (grad_fn slot or leaf accumulator).
Edge gradient_edge(const Tensor& t);
// Wires node->next_edges to the inputs and makes `outputs` its outputs.
void set_history(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs,
                 const std::vector<Tensor*>& outputs);
// For in-place ops: `self` becomes output 0 of `node`, whose edges were set from the old history.
void rebase_history(Tensor& self, const std::shared_ptr<Node>& node);
// Throws the torch-style error when an in-place op hits a leaf that requires grad.
void check_inplace(const Tensor& self, const char* op);

// --- engine --------------------------------------------------------------------------------
// Backpropagates `grad_outputs` from `outputs` into the leaves' .grad.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              bool retain_graph);
// Returns d(outputs)/d(inputs) without touching .grad; undefined where an input is unused
// (an error unless allow_unused).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool allow_unused);

}  // namespace ember::autograd
