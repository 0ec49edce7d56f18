// Sequential and ModuleList. Children are named "0", "1", ... in the order they are added (as
// torch names them), or by the name given, like Python's Sequential(OrderedDict(...)).
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "ember/error.h"
#include "ember/nn/module.h"

namespace ember::nn {

namespace detail {
// A module passed by value (moved into a new shared_ptr) or a shared_ptr to one; an lvalue
// module is refused, since taking it would silently share or steal its parameters.
template <typename M>
constexpr bool is_module_arg_v = (std::is_base_of_v<Module, std::decay_t<M>> && !std::is_lvalue_reference_v<M>) ||
                                 std::is_convertible_v<M, ModulePtr>;

template <typename M>
ModulePtr to_module_ptr(M&& m) {
  if constexpr (std::is_convertible_v<M, ModulePtr>) {
    return ModulePtr(std::forward<M>(m));
  } else {
    return std::make_shared<std::decay_t<M>>(std::move(m));
  }
}
}  // namespace detail

// Indexed list of modules with a checked, negative-friendly at(); base of the two containers.
class ModuleSequence : public Module {
 public:
  size_t size() const { return num_children(); }
  bool empty() const { return num_children() == 0; }
  // i in [-size, size); IndexError otherwise.
  const ModulePtr& operator[](int64_t i) const;
  // The i-th child as M; TypeError when it is another kind of module.
  template <typename M>
  std::shared_ptr<M> at(int64_t i) const {
    const ModulePtr& m = (*this)[i];
    auto typed = std::dynamic_pointer_cast<M>(m);
    EMBER_CHECK(typed != nullptr, TypeError, type_name(), "[", i, "] is a ", m->type_name(),
                ", not the module type asked for");
    return typed;
  }
  // Replaces the i-th child, keeping its name.
  void set(int64_t i, ModulePtr module);
  NamedModules::const_iterator begin() const;
  NamedModules::const_iterator end() const;

 protected:
  explicit ModuleSequence(const char* type_name) : Module(type_name) {}
  size_t index(int64_t i) const;
};

// Runs its children in order: forward(x) = child_n(... child_1(child_0(x))).
class Sequential : public ModuleSequence {
 public:
  Sequential() : ModuleSequence("Sequential") {}
  // Sequential(Linear(2, 8), Tanh(), std::make_shared<Linear>(8, 1)). A lone Sequential
  // argument by value is a move, not nesting: nest through a shared_ptr (make_shared<Sequential>).
  template <typename... Ms, typename = std::enable_if_t<(sizeof...(Ms) > 0) && (detail::is_module_arg_v<Ms> && ...)>>
  explicit Sequential(Ms&&... modules) : Sequential() {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  // Named children, in order (Python's Sequential(OrderedDict(...))).
  explicit Sequential(const NamedModules& named);

  // Appends under the name str(size()).
  template <typename M, typename = std::enable_if_t<detail::is_module_arg_v<M>>>
  Sequential& push_back(M&& module) {
    return push_back(std::to_string(size()), std::forward<M>(module));
  }
  template <typename M, typename = std::enable_if_t<detail::is_module_arg_v<M>>>
  Sequential& push_back(const std::string& name, M&& module) {
    add_child(name, detail::to_module_ptr(std::forward<M>(module)));
    return *this;
  }

  Tensor forward(const Tensor& input) override;
};

// Holds modules for a model's own forward to use (no forward of its own).
class ModuleList : public ModuleSequence {
 public:
  ModuleList() : ModuleSequence("ModuleList") {}
  template <typename... Ms, typename = std::enable_if_t<(sizeof...(Ms) > 0) && (detail::is_module_arg_v<Ms> && ...)>>
  explicit ModuleList(Ms&&... modules) : ModuleList() {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  template <typename M, typename = std::enable_if_t<detail::is_module_arg_v<M>>>
  ModuleList& push_back(M&& module) {
    add_child(std::to_string(size()), detail::to_module_ptr(std::forward<M>(module)));
    return *this;
  }
};

}  // namespace ember::nn
