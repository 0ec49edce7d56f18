// Sequential and ModuleList.
#include "ember/nn/containers.h"

namespace ember::nn {

size_t ModuleSequence::index(int64_t i) const {
  const int64_t n = static_cast<int64_t>(size());
  EMBER_CHECK(i >= -n && i < n, IndexError, "index ", i, " is out of range for ", type_name(), " of length ", n);
  return static_cast<size_t>(i < 0 ? i + n : i);
}

const ModulePtr& ModuleSequence::operator[](int64_t i) const { return child_at(index(i)); }

void ModuleSequence::set(int64_t i, ModulePtr module) {
  replace_module(children_list()[index(i)].first, std::move(module));
}

NamedModules::const_iterator ModuleSequence::begin() const { return children_list().begin(); }
NamedModules::const_iterator ModuleSequence::end() const { return children_list().end(); }

Sequential::Sequential(const NamedModules& named) : Sequential() {
  for (const auto& [name, m] : named) add_child(name, m);
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& entry : children_list()) x = entry.second->forward(x);
  return x;
}

}  // namespace ember::nn
