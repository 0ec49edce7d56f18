// ember::nn::Module: the base of every C++ layer and model, with the registration rules of
// torch.nn.Module. A module owns named parameters, buffers and submodules, registered in order;
// their dotted names ("features.0.weight") equal the names Python's ember.nn and torch give the
// same model, so a state dict saved from Python loads here by name, and the other way round.
//
// Parameters and buffers are Tensor handles: a layer keeps the handle it registered as a member
// (Linear::weight), and load_state_dict copies into it in place, so both stay the same tensor.
// Submodules are held by shared_ptr, so a child can be shared and outlives its parent if needed.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ember/io.h"
#include "ember/tensor.h"

namespace ember::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
using NamedTensors = io::NamedTensors;
using NamedModules = std::vector<std::pair<std::string, ModulePtr>>;

// What load_state_dict(strict = false) skipped (torch's IncompatibleKeys).
struct LoadResult {
  std::vector<std::string> missing_keys;     // in the module, not in the state dict
  std::vector<std::string> unexpected_keys;  // in the state dict, not in the module
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  // type_name shows in error messages and the printed tree ("Linear", or your model's name).
  explicit Module(std::string type_name = "Module");
  virtual ~Module() = default;
  // Copying would share parameters between two modules behind the user's back; moving is fine
  // (the registry and the members move together).
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  // One tensor in, one out: what Sequential chains. Modules with other signatures (losses, or a
  // model with two inputs) add their own forward and leave this one throwing NotImplementedError.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  // --- registration (names: non-empty, no '.', unique among this module's entries) ------------
  // A leaf tensor that requires grad (unless requires_grad is false); the handle is returned so a
  // layer can keep it: `weight = register_parameter("weight", w)`. An undefined tensor reserves
  // the name (torch's `bias=None`) and is left out of parameters() and state_dict().
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  // State that is not learned (running statistics). Non-persistent buffers stay out of state_dict().
  Tensor register_buffer(const std::string& name, Tensor tensor, bool persistent = true);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  // Registers a module given by value: `fc = register_module("fc", Linear(4, 2))`.
  template <typename M, typename = std::enable_if_t<std::is_base_of_v<Module, std::decay_t<M>> &&
                                                    !std::is_lvalue_reference_v<M>>>
  std::shared_ptr<std::decay_t<M>> register_module(const std::string& name, M&& module) {
    return register_module(name, std::make_shared<std::decay_t<M>>(std::move(module)));
  }
  // Replaces a registered child (same name), as `model.features[0] = ...` does in Python.
  void replace_module(const std::string& name, ModulePtr module);

  // --- traversal (each tensor and module once, in registration order, depth first) ------------
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  NamedModules named_children() const;
  std::vector<ModulePtr> children() const;
  // This module (named "") and all below it. Only modules owned through shared_ptr can be
  // returned; the root itself is included as a non-owning pointer when it is not.
  NamedModules named_modules() const;
  // Sum of numel() over the parameters (only those that require grad when trainable_only).
  int64_t num_parameters(bool trainable_only = false) const;
  // The child of a dotted path ("features.0"); ValueError naming the missing part.
  ModulePtr get_submodule(const std::string& path) const;
  // Parameter or buffer by dotted name; ValueError when there is none.
  Tensor get_parameter(const std::string& path) const;
  Tensor get_buffer(const std::string& path) const;

  // --- modes ------------------------------------------------------------------------------------
  // Sets the training flag of this module and every submodule (dropout and batch norm read it).
  virtual Module& train(bool on = true);
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }
  // set_to_none drops the gradients; otherwise fills them with zeros.
  void zero_grad(bool set_to_none = true);
  // Sets requires_grad on every parameter (freezing a feature extractor).
  Module& requires_grad_(bool requires_grad = true);

  // --- state --------------------------------------------------------------------------------
  // Parameters then persistent buffers of each module, depth first, detached (sharing storage).
  NamedTensors state_dict() const;
  // Copies each tensor into the parameter or buffer of the same name (converting the dtype).
  // Throws ember::Error ("Error(s) in loading state_dict for Sequential: ...") listing every
  // unexpected key, missing key (both only when strict) and shape mismatch; on error nothing has
  // been copied.
  LoadResult load_state_dict(const NamedTensors& state, bool strict = true);
  // The state dict as a safetensors file (atomically), and back: the format of Python's
  // model.save(path) / model.load(path) and ember.save / ember.load.
  void save(const std::string& path) const;
  LoadResult load(const std::string& path, bool strict = true);

  // --- printing -----------------------------------------------------------------------------
  const std::string& type_name() const { return type_name_; }
  // The arguments shown in the tree ("in_features=4, out_features=2, bias=true").
  virtual std::string extra_repr() const { return ""; }
  // The module tree as Python prints it.
  std::string repr() const;

 protected:
  void add_child(const std::string& name, ModulePtr module);
  size_t num_children() const { return children_.size(); }
  const ModulePtr& child_at(size_t i) const { return children_.at(i).second; }
  // The registered children as they are (a child shared under two names appears twice).
  const NamedModules& children_list() const { return children_; }
  // `what` and `name` for the error message of a bad or duplicate name.
  void check_new_name(const std::string& name, const char* what) const;

 private:
  struct BufferEntry {
    std::string name;
    Tensor tensor;
    bool persistent;
  };
  void collect_modules(const std::string& prefix, NamedModules& out, std::vector<const Module*>& seen) const;
  template <typename Visit>
  void visit_modules(Visit&& visit) const;

  std::string type_name_;
  bool training_ = true;
  NamedTensors parameters_;
  std::vector<BufferEntry> buffers_;
  NamedModules children_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace ember::nn
