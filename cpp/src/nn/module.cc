// ember::nn::Module: registration, traversal, modes and state dicts (the rules of Python's
// ember.nn.Module, python/ember/nn/module.py).
#include "ember/nn/module.h"

#include <algorithm>
#include <sstream>
#include <unordered_set>

#include "ember/autograd.h"
#include "ember/error.h"
#include "ember/io.h"
#include "ember/ops.h"

namespace ember::nn {

namespace {

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ',';
  os << ')';
  return os.str();
}

// A non-owning handle to a module that is not (or not yet) held by a shared_ptr.
ModulePtr handle_of(const Module* m) {
  ModulePtr owned = const_cast<Module*>(m)->weak_from_this().lock();
  return owned ? owned : ModulePtr(ModulePtr(), const_cast<Module*>(m));
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

Tensor Module::forward(const Tensor&) {
  throw NotImplementedError(str("Module [", type_name_, "] has no forward(const Tensor&); call its own forward"));
}

// ---- registration ------------------------------------------------------------------------------

void Module::check_new_name(const std::string& name, const char* what) const {
  EMBER_CHECK(!name.empty() && name.find('.') == std::string::npos, ValueError, what,
              " name can't be empty or contain \".\", got: '", name, "'");
  bool taken = std::any_of(parameters_.begin(), parameters_.end(), [&](auto& e) { return e.first == name; }) ||
               std::any_of(buffers_.begin(), buffers_.end(), [&](auto& e) { return e.name == name; }) ||
               std::any_of(children_.begin(), children_.end(), [&](auto& e) { return e.first == name; });
  EMBER_CHECK(!taken, ValueError, type_name_, " already has an entry named '", name, "' (registering a ", what, ")");
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "parameter");
  if (tensor.defined()) {
    EMBER_CHECK(tensor.is_leaf(), ValueError, "parameter '", name,
                "' must be a leaf tensor (detach() the result of an op first)");
    if (requires_grad) {
      EMBER_CHECK(is_floating(tensor.dtype()), TypeError, "parameter '", name,
                  "' must be floating point to require grad, got ", dtype_name(tensor.dtype()));
    }
    tensor.set_requires_grad(requires_grad);
  }
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor, bool persistent) {
  check_new_name(name, "buffer");
  buffers_.push_back({name, tensor, persistent});
  return tensor;
}

void Module::add_child(const std::string& name, ModulePtr module) {
  check_new_name(name, "module");
  EMBER_CHECK(module != nullptr, ValueError, "submodule '", name, "' of ", type_name_, " is null");
  children_.emplace_back(name, std::move(module));
}

void Module::replace_module(const std::string& name, ModulePtr module) {
  EMBER_CHECK(module != nullptr, ValueError, "replace_module: the new module '", name, "' is null");
  for (auto& [n, m] : children_) {
    if (n == name) {
      m = std::move(module);
      return;
    }
  }
  throw ValueError(str(type_name_, " has no submodule named '", name, "'"));
}

// ---- traversal ---------------------------------------------------------------------------------

void Module::collect_modules(const std::string& prefix, NamedModules& out, std::vector<const Module*>& seen) const {
  if (std::find(seen.begin(), seen.end(), this) != seen.end()) return;  // shared child: once
  seen.push_back(this);
  out.emplace_back(prefix, handle_of(this));
  for (const auto& [name, child] : children_) child->collect_modules(join(prefix, name), out, seen);
}

NamedModules Module::named_modules() const {
  NamedModules out;
  std::vector<const Module*> seen;
  collect_modules("", out, seen);
  return out;
}

NamedModules Module::named_children() const {
  NamedModules out;
  for (const auto& e : children_) {
    bool dup = std::any_of(out.begin(), out.end(), [&](auto& o) { return o.second == e.second; });
    if (!dup) out.push_back(e);
  }
  return out;
}

std::vector<ModulePtr> Module::children() const {
  std::vector<ModulePtr> out;
  for (auto& [n, m] : named_children()) out.push_back(m);
  return out;
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;  // a tensor shared by two layers is listed once
  NamedModules mods = recurse ? named_modules() : NamedModules{{"", handle_of(this)}};
  for (auto& [prefix, m] : mods) {
    for (auto& [name, t] : m->parameters_) {
      if (t.defined() && seen.insert(t.get()).second) out.emplace_back(join(prefix, name), t);
    }
  }
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;
  NamedModules mods = recurse ? named_modules() : NamedModules{{"", handle_of(this)}};
  for (auto& [prefix, m] : mods) {
    for (auto& b : m->buffers_) {
      if (b.tensor.defined() && seen.insert(b.tensor.get()).second) out.emplace_back(join(prefix, b.name), b.tensor);
    }
  }
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) {
    if (!trainable_only || p.requires_grad()) n += p.numel();
  }
  return n;
}

ModulePtr Module::get_submodule(const std::string& path) const {
  ModulePtr m = handle_of(this);
  size_t start = 0;
  while (!path.empty() && start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    auto it = std::find_if(m->children_.begin(), m->children_.end(), [&](auto& e) { return e.first == part; });
    EMBER_CHECK(it != m->children_.end(), ValueError, m->type_name_, " has no submodule '", part, "' (looking up '",
                path, "')");
    m = it->second;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return m;
}

namespace {
// (owning module path, leaf name) of a dotted tensor name.
std::pair<std::string, std::string> split_last(const std::string& path) {
  size_t dot = path.rfind('.');
  if (dot == std::string::npos) return {"", path};
  return {path.substr(0, dot), path.substr(dot + 1)};
}
}  // namespace

Tensor Module::get_parameter(const std::string& path) const {
  auto [mod, name] = split_last(path);
  ModulePtr m = get_submodule(mod);
  for (auto& [n, t] : m->parameters_) {
    if (n == name && t.defined()) return t;
  }
  throw ValueError(str(m->type_name_, " has no parameter '", name, "' (looking up '", path, "')"));
}

Tensor Module::get_buffer(const std::string& path) const {
  auto [mod, name] = split_last(path);
  ModulePtr m = get_submodule(mod);
  for (auto& b : m->buffers_) {
    if (b.name == name && b.tensor.defined()) return b.tensor;
  }
  throw ValueError(str(m->type_name_, " has no buffer '", name, "' (looking up '", path, "')"));
}

// ---- modes -------------------------------------------------------------------------------------

Module& Module::train(bool on) {
  training_ = on;
  for (auto& [n, child] : children_) child->train(on);
  return *this;
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      // a fresh zero tensor, detached from any graph that produced the old gradient
      p.set_grad(zeros_like(g));
    }
  }
}

Module& Module::requires_grad_(bool requires_grad) {
  for (Tensor& p : parameters()) p.set_requires_grad(requires_grad);
  return *this;
}

// ---- state dicts -------------------------------------------------------------------------------

NamedTensors Module::state_dict() const {
  NamedTensors out;
  NamedModules mods = named_modules();
  // per module: parameters, then persistent buffers (torch's order)
  for (auto& [prefix, m] : mods) {
    for (auto& [name, t] : m->parameters_) {
      if (t.defined()) out.emplace_back(join(prefix, name), t.detach());
    }
    for (auto& b : m->buffers_) {
      if (b.tensor.defined() && b.persistent) out.emplace_back(join(prefix, b.name), b.tensor.detach());
    }
  }
  return out;
}

LoadResult Module::load_state_dict(const NamedTensors& state, bool strict) {
  // Our own tensors by name, as state_dict() lists them, but the live handles (not detached).
  NamedTensors own;
  for (auto& [prefix, m] : named_modules()) {
    for (auto& [name, t] : m->parameters_) {
      if (t.defined()) own.emplace_back(join(prefix, name), t);
    }
    for (auto& b : m->buffers_) {
      if (b.tensor.defined() && b.persistent) own.emplace_back(join(prefix, b.name), b.tensor);
    }
  }
  auto find = [](const NamedTensors& list, const std::string& key) {
    return std::find_if(list.begin(), list.end(), [&](auto& e) { return e.first == key; });
  };

  LoadResult result;
  for (auto& [key, t] : own) {
    if (find(state, key) == state.end()) result.missing_keys.push_back(key);
  }
  for (auto& [key, t] : state) {
    if (find(own, key) == own.end()) result.unexpected_keys.push_back(key);
  }
  std::vector<std::string> errors;
  auto quoted = [](const std::vector<std::string>& keys) {
    std::string s;
    for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", \"" : "\"") + keys[i] + "\"";
    return s;
  };
  if (strict && !result.unexpected_keys.empty())
    errors.push_back("Unexpected key(s) in state_dict: " + quoted(result.unexpected_keys));
  if (strict && !result.missing_keys.empty())
    errors.push_back("Missing key(s) in state_dict: " + quoted(result.missing_keys));

  std::vector<std::pair<Tensor, Tensor>> pending;  // (target, source): copied only when all is well
  for (auto& [key, target] : own) {
    auto it = find(state, key);
    if (it == state.end()) continue;
    const Tensor& src = it->second;
    if (!src.defined()) {
      errors.push_back("the tensor for \"" + key + "\" is undefined");
    } else if (src.shape() != target.shape()) {
      errors.push_back("size mismatch for " + key + ": copying a param with shape " + shape_str(src.shape()) +
                       " from checkpoint, the shape in current model is " + shape_str(target.shape()) + ".");
    } else if (is_floating(target.dtype()) != is_floating(src.dtype())) {
      errors.push_back("dtype mismatch for " + key + ": copying a " + dtype_name(src.dtype()) + " tensor into a " +
                       dtype_name(target.dtype()) + " one");
    } else {
      pending.emplace_back(target, src);
    }
  }
  if (!errors.empty()) {
    std::string msg = "Error(s) in loading state_dict for " + type_name_ + ":";
    for (auto& e : errors) msg += "\n\t" + e;
    throw Error(msg);
  }
  autograd::NoGradGuard no_grad;
  for (auto& [target, src] : pending) target.copy_(src);
  return result;
}

void Module::save(const std::string& path) const { io::save_safetensors(path, state_dict()); }

LoadResult Module::load(const std::string& path, bool strict) {
  return load_state_dict(io::load_safetensors(path).tensors, strict);
}

// ---- printing ----------------------------------------------------------------------------------

std::string Module::repr() const {
  std::string head = type_name_ + "(";
  std::string extra = extra_repr();
  if (children_.empty()) return head + extra + ")";
  std::string out = head;
  if (!extra.empty()) out += "\n  " + extra;
  for (auto& [name, child] : children_) {
    std::string body = child->repr();
    std::string indented;
    for (char c : body) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
    out += "\n  (" + name + "): " + indented;
  }
  return out + "\n)";
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.repr(); }

}  // namespace ember::nn
