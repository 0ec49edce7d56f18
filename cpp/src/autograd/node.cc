// Nodes, saved tensors, grad mode and the helpers ops use to record history.
#include <atomic>

#include "ember/autograd.h"
#include "ember/ops.h"

namespace ember::autograd {
namespace {

std::atomic<uint64_t> next_sequence_nr{0};
thread_local bool grad_mode = true;

// Destroying a long chain of nodes would recurse once per node through shared_ptr destructors
// and overflow the stack. Instead, a dying node hands its edges to this queue, and only the
// outermost destructor drains it, one node at a time.
thread_local std::vector<std::shared_ptr<Node>>* deletion_queue = nullptr;

}  // namespace

Node::Node() : sequence_nr(next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> local;
  bool outermost = deletion_queue == nullptr;
  if (outermost) deletion_queue = &local;
  for (Edge& e : next_edges)
    if (e.fn && e.fn.use_count() == 1) deletion_queue->push_back(std::move(e.fn));
  next_edges.clear();
  if (outermost) {
    while (!local.empty()) {
      std::shared_ptr<Node> n = std::move(local.back());
      local.pop_back();
      n.reset();  // may push more nodes onto `local`
    }
    deletion_queue = nullptr;
  }
}

TensorList Node::call(TensorList&& grads) {
  EMBER_CHECK(!released, Error, "Trying to backward through the graph a second time (or directly access saved "
              "tensors after they have already been freed). Saved intermediate values of the graph are freed when "
              "you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through "
              "the graph a second time. (node: ", name(), ")");
  return apply(std::move(grads));
}

void Node::release() {
  release_saved();
  released = true;
}

// --- AccumulateGrad -------------------------------------------------------------------------------
AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> l) : leaf(std::move(l)) {}

TensorList AccumulateGrad::apply(TensorList&& grads) {
  Tensor& g = grads[0];
  if (!g.defined()) return {};
  NoGradGuard no_grad;
  if (!leaf->grad) {
    // Steal the buffer when nobody else holds it (the common case), otherwise copy it so a later
    // in-place accumulation cannot write into another tensor.
    leaf->grad = (g.impl().use_count() == 1 && g.is_contiguous()) ? g.impl() : g.clone().impl();
    leaf->grad->requires_grad = false;
    leaf->grad->grad_fn = nullptr;
  } else {
    Tensor acc(leaf->grad);
    add_(acc, g);
  }
  return {};
}

// --- SavedTensor ----------------------------------------------------------------------------------
SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  data_ = t.detach();
  version_ = t.version();
}

Tensor SavedTensor::unpack(const Node* owner) const {
  EMBER_CHECK(!owner->released, Error, "Trying to backward through the graph a second time; specify "
              "retain_graph=True on the first backward (node: ", owner->name(), ")");
  if (!data_.defined()) return data_;
  EMBER_CHECK(data_.version() == version_, Error, "one of the variables needed for gradient computation has been "
              "modified by an inplace operation: [", dtype_name(data_.dtype()), " ", data_.shape(), "] is at version ",
              data_.version(), "; expected version ", version_, " instead (node: ", owner->name(), ")");
  return data_;
}

// --- grad mode --------------------------------------------------------------------------------------
bool grad_enabled() { return grad_mode; }
void set_grad_enabled(bool enabled) { grad_mode = enabled; }

// --- recording helpers --------------------------------------------------------------------------------
bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_mode) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return {};
  TensorImpl* impl = t.get();
  if (impl->grad_fn) return Edge{impl->grad_fn, impl->output_nr};
  if (!impl->requires_grad) return {};
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl());
    impl->grad_accumulator = acc;
  }
  return Edge{acc, 0};
}

void set_history(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs,
                 const std::vector<Tensor*>& outputs) {
  node->next_edges.clear();
  node->next_edges.reserve(inputs.size());
  for (const Tensor* t : inputs) node->next_edges.push_back(gradient_edge(*t));
  node->num_outputs = static_cast<uint32_t>(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl* impl = outputs[i]->get();
    impl->grad_fn = node;
    impl->output_nr = static_cast<uint32_t>(i);
  }
}

void check_inplace(const Tensor& self, const char* op) {
  if (!grad_mode) return;
  EMBER_CHECK(!(self.is_leaf() && self.requires_grad()), Error, "a leaf Variable that requires grad is being used "
              "in an in-place operation (", op, "); wrap it in ember.no_grad() or use an out-of-place op");
  EMBER_CHECK(!self.get()->is_view || !self.requires_grad(), Error, "in-place operation ", op,
              " on a view of a tensor that requires grad is not supported; call .clone() first");
}

void rebase_history(Tensor& self, const std::shared_ptr<Node>& node) {
  TensorImpl* impl = self.get();
  impl->grad_fn = node;
  impl->output_nr = 0;
  impl->requires_grad = false;
  node->num_outputs = 1;
}

}  // namespace ember::autograd
