// The backward engine. Two iterative passes, no recursion:
//   1. walk the graph from the roots with an explicit stack and count, for every node, how many
//      edges point at it;
//   2. run nodes whose count reached zero (all their gradients have arrived), summing gradients
//      that meet at the same input slot.
#include <unordered_map>
#include <unordered_set>

#include "ember/autograd.h"
#include "ember/ops.h"

namespace ember::autograd {
namespace {

struct GraphTask {
  std::unordered_map<Node*, int> dependencies;
  std::unordered_map<Node*, TensorList> buffers;
  // autograd.grad: the gradient arriving at these (node, slot) pairs is captured, not applied.
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, size_t>>> captures;
  std::vector<Tensor> captured;
  bool accumulate_into_leaves = true;
};

void count_dependencies(GraphTask& task, const std::vector<Node*>& roots) {
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (Node* r : roots)
    if (seen.insert(r).second) stack.push_back(r);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.fn) continue;
      task.dependencies[e.fn.get()] += 1;
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }
}

void accumulate(TensorList& buffer, uint32_t slot, Tensor&& g) {
  if (!g.defined()) return;
  Tensor& cur = buffer[slot];
  if (!cur.defined()) {
    cur = std::move(g);
  } else {
    NoGradGuard no_grad;
    cur = add(cur, g);  // out of place: `cur` may be a tensor another node still holds
  }
}

void check_gradient(const Node& n, size_t i, const Edge& e, const Tensor& g) {
  // Gradients flowing into a leaf must match it exactly; anything else is an op bug.
  if (auto* acc = dynamic_cast<AccumulateGrad*>(e.fn.get())) {
    EMBER_CHECK(g.shape() == acc->leaf->shape, Error, "Function ", n.name(), " returned an invalid gradient at index ",
                i, " - got ", g.shape(), " but expected shape compatible with ", acc->leaf->shape);
  }
}

void run(GraphTask& task, const std::vector<std::shared_ptr<Node>>& roots, const std::vector<uint32_t>& root_slots,
         std::vector<Tensor> root_grads, bool retain_graph) {
  NoGradGuard no_grad;
  std::vector<Node*> root_ptrs;
  for (auto& r : roots) root_ptrs.push_back(r.get());
  count_dependencies(task, root_ptrs);

  for (size_t i = 0; i < roots.size(); ++i) {
    TensorList& buf = task.buffers[roots[i].get()];
    if (buf.empty()) buf.resize(roots[i]->num_outputs);
    accumulate(buf, root_slots[i], std::move(root_grads[i]));
  }
  std::vector<std::shared_ptr<Node>> ready;
  {
    std::unordered_set<Node*> queued;
    for (auto& r : roots)
      if (task.dependencies[r.get()] == 0 && queued.insert(r.get()).second) ready.push_back(r);
  }

  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    TensorList grads = std::move(task.buffers[node.get()]);
    task.buffers.erase(node.get());
    grads.resize(node->num_outputs);

    for (auto& [slot, weak] : node->retained)
      if (auto t = weak.lock(); t && grads[slot].defined()) t->grad = grads[slot].clone().impl();

    auto cap = task.captures.find(node.get());
    if (cap != task.captures.end())
      for (auto [slot, idx] : cap->second)
        if (grads[slot].defined()) task.captured[idx] = grads[slot];

    bool is_leaf_acc = dynamic_cast<AccumulateGrad*>(node.get()) != nullptr;
    bool any = false;
    for (auto& g : grads) any = any || g.defined();

    TensorList outputs;
    if (any && !(is_leaf_acc && !task.accumulate_into_leaves)) outputs = node->call(std::move(grads));
    // A leaf's accumulator saves nothing and outlives this graph (the next graph built from the
    // same leaf reuses it), so only the op nodes are freed.
    if (!retain_graph && !is_leaf_acc) node->release();

    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.fn) continue;
      TensorList& buf = task.buffers[e.fn.get()];
      if (buf.empty()) buf.resize(e.fn->num_outputs);
      if (i < outputs.size() && outputs[i].defined()) {
        check_gradient(*node, i, e, outputs[i]);
        accumulate(buf, e.input_nr, std::move(outputs[i]));
      }
      if (--task.dependencies[e.fn.get()] == 0) ready.push_back(e.fn);
    }
  }
}

Tensor default_grad(const Tensor& out, const Tensor& given) {
  if (given.defined()) {
    EMBER_CHECK(given.shape() == out.shape(), ValueError, "Mismatch in shape: grad_output has a shape of ",
                given.shape(), " and output has a shape of ", out.shape());
    return given.dtype() == out.dtype() ? given : given.to(out.dtype());
  }
  EMBER_CHECK(out.numel() == 1, Error, "grad can be implicitly created only for scalar outputs (got shape ",
              out.shape(), ")");
  return ones_like(out);
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph) {
  EMBER_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), ValueError, "got ", grad_outputs.size(),
              " gradients for ", outputs.size(), " outputs");
  std::vector<std::shared_ptr<Node>> roots;
  std::vector<uint32_t> slots;
  std::vector<Tensor> grads;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    EMBER_CHECK(out.defined(), ValueError, "backward() got an undefined tensor");
    EMBER_CHECK(out.requires_grad(), Error, "element ", i, " of tensors does not require grad and does not have a "
                "grad_fn");
    Edge e = gradient_edge(out);
    roots.push_back(e.fn);
    slots.push_back(e.input_nr);
    grads.push_back(default_grad(out, grad_outputs.empty() ? Tensor() : grad_outputs[i]));
  }
  GraphTask task;
  run(task, roots, slots, std::move(grads), retain_graph);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool allow_unused) {
  EMBER_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), ValueError, "got ", grad_outputs.size(),
              " grad_outputs for ", outputs.size(), " outputs");
  GraphTask task;
  task.accumulate_into_leaves = false;
  task.captured.resize(inputs.size());
  std::vector<Edge> input_edges;
  for (size_t i = 0; i < inputs.size(); ++i) {
    EMBER_CHECK(inputs[i].defined() && inputs[i].requires_grad(), Error, "input ", i,
                " of autograd.grad does not require grad");
    Edge e = gradient_edge(inputs[i]);
    task.captures[e.fn.get()].emplace_back(e.input_nr, i);
    input_edges.push_back(e);  // keeps a fresh accumulator alive during the pass
  }
  std::vector<std::shared_ptr<Node>> roots;
  std::vector<uint32_t> slots;
  std::vector<Tensor> grads;
  for (size_t i = 0; i < outputs.size(); ++i) {
    EMBER_CHECK(outputs[i].defined() && outputs[i].requires_grad(), Error, "output ", i,
                " of autograd.grad does not require grad and does not have a grad_fn");
    Edge e = gradient_edge(outputs[i]);
    roots.push_back(e.fn);
    slots.push_back(e.input_nr);
    grads.push_back(default_grad(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i]));
  }
  run(task, roots, slots, std::move(grads), retain_graph);
  for (size_t i = 0; i < inputs.size(); ++i)
    EMBER_CHECK(allow_unused || task.captured[i].defined(), Error, "One of the differentiated Tensors (input ", i,
                ") appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.");
  return task.captured;
}

}  // namespace ember::autograd
