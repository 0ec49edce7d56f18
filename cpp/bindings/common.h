// Shared pieces of the Python bindings: the Tensor <-> Python conversion, operand coercion for
// Python scalars and array-likes, shape and index parsing.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <vector>

#include "ember/ember.h"

namespace py = pybind11;

// ember::Tensor is a handle around shared_ptr<TensorImpl>; Python sees the TensorImpl class
// (bound as ember.Tensor with a shared_ptr holder). pybind11 keeps one Python object per live
// impl, so `t.grad is t.grad` and Python subclasses such as nn.Parameter keep their identity.
namespace pybind11::detail {
template <>
struct type_caster<ember::Tensor> {
  PYBIND11_TYPE_CASTER(ember::Tensor, const_name("Tensor"));
  using Holder = copyable_holder_caster<ember::TensorImpl, std::shared_ptr<ember::TensorImpl>>;

  bool load(handle src, bool convert) {
    Holder h;
    if (!h.load(src, convert)) return false;
    value = ember::Tensor(static_cast<std::shared_ptr<ember::TensorImpl>&>(h));
    return true;
  }
  static handle cast(const ember::Tensor& t, return_value_policy, handle parent) {
    if (!t.defined()) return none().release();
    return Holder::cast(t.impl(), return_value_policy::take_ownership, parent);
  }
};
}  // namespace pybind11::detail

namespace ember::py_bind {

void bind_tensor(py::module_& m);
void bind_ops(py::module_& m);
void bind_autograd(py::module_& m);
void bind_numpy(py::module_& m);
void bind_io(py::module_& m);
void bind_convolution(py::module_& m);
void bind_graph(py::module_& m);
void bind_recurrent(py::module_& m);
void bind_attention(py::module_& m);
void bind_optim(py::module_& m);
void bind_normalization(py::module_& m);
void bind_activation(py::module_& m);

bool is_tensor(py::handle h);
// A Python operand of a binary op as a tensor: tensors pass through; Python scalars become 0-d
// tensors typed like `like` (torch's weak scalars); anything else goes through ember.tensor().
Tensor to_operand(py::handle h, const Tensor& like);
// Array-likes (lists, numpy arrays) -> tensor, via the Python converter registered at import.
Tensor from_array_like(py::handle h);
// Sizes given as f(2, 3), f((2, 3)) or f([2, 3]).
Shape parse_shape(const py::args& args);
Shape to_shape(py::handle h);
// A Python index (int, slice, None, Ellipsis, tensor, list, tuple of those) -> TensorIndex list.
std::vector<TensorIndex> parse_index(py::handle key);
// dim=None | int | tuple of ints -> list (empty = all)
std::vector<int64_t> parse_dims(const py::object& dim);

}  // namespace ember::py_bind
