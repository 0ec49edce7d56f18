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
// A Python integer -> int64, with a clear error instead of pybind11's "Unable to cast": a non-integer
// is a TypeError, a value outside int64 throws E. With clamp, out-of-range values saturate instead
// (slice bounds: Python itself clamps t[2**70:] to the sequence).
template <class E>
inline int64_t py_int64(py::handle h, const char* what, bool clamp = false) {
  PyObject* idx = PyNumber_Index(h.ptr());
  if (!idx) {
    PyErr_Clear();
    throw TypeError(str(what, " must be an integer, got ", std::string(py::str(py::type::of(h).attr("__name__")))));
  }
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
  std::string repr = overflow ? std::string(py::str(idx)) : std::string();
  Py_DECREF(idx);
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow != 0) {
    if (clamp) return overflow > 0 ? INT64_MAX : -INT64_MAX;
    throw E(str(what, " ", repr, " is outside the int64 range"));
  }
  return v;
}

// Sizes given as f(2, 3), f((2, 3)) or f([2, 3]).
Shape parse_shape(const py::args& args);
Shape to_shape(py::handle h);
// A Python index (int, slice, None, Ellipsis, tensor, list, tuple of those) -> TensorIndex list.
std::vector<TensorIndex> parse_index(py::handle key);
// dim=None | int | tuple of ints -> list (empty = all)
std::vector<int64_t> parse_dims(const py::object& dim);

}  // namespace ember::py_bind
