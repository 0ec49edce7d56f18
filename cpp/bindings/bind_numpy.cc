// numpy interop: from_numpy shares memory, _from_numpy_copy copies, Tensor.numpy() is zero-copy.
// numpy itself is imported lazily by pybind11 on first use, so `import ember` stays cheap.
#include <pybind11/numpy.h>

#include "common.h"

namespace ember::py_bind {

using TensorClass = py::class_<TensorImpl, std::shared_ptr<TensorImpl>>;
extern TensorClass* tensor_class;

namespace {

DType dtype_of_array(const py::array& a) {
  const char kind = a.dtype().kind();
  const auto size = a.dtype().itemsize();
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'b' && size == 1) return DType::Bool;
  throw TypeError(str("can't convert np.ndarray of type ", std::string(py::str(a.dtype())),
                      ". The only supported types are: float64, float32, int64, and bool."));
}

py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::Bool: return py::dtype("bool");
    case DType::Int64: return py::dtype("int64");
    case DType::Float32: return py::dtype("float32");
    case DType::Float64: return py::dtype("float64");
  }
  throw Error("unknown dtype");
}

// share=false: the caller copies the result at once, so a read-only array is fine to read from.
Tensor wrap_array(py::array a, bool share) {
  DType t = dtype_of_array(a);
  EMBER_CHECK(a.dtype().attr("isnative").cast<bool>(), TypeError, "from_numpy: byte-swapped arrays (dtype ",
              std::string(py::str(a.dtype())), ") are not supported; use .astype(native dtype) first");
  // Kernels read whole items through typed pointers: a misaligned buffer is undefined behaviour.
  EMBER_CHECK(reinterpret_cast<uintptr_t>(a.data()) % static_cast<uintptr_t>(a.dtype().itemsize()) == 0, ValueError,
              "from_numpy: the array's data is not aligned to its item size; use .copy() first");
  EMBER_CHECK(!share || a.writeable(), ValueError,
              "from_numpy: the array is read-only and a tensor sharing its memory could write to it; "
              "use ember.tensor(array) to copy it");
  const int64_t isz = static_cast<int64_t>(itemsize(t));
  Shape shape, strides;
  int64_t extent = 1;  // elements spanned, for the storage size
  bool empty_array = false;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    int64_t sz = a.shape(d), st = a.strides(d);
    EMBER_CHECK(st >= 0, ValueError, "from_numpy: arrays with negative strides are not supported; use .copy() first");
    EMBER_CHECK(st % isz == 0, ValueError, "from_numpy: array strides must be multiples of the item size");
    shape.push_back(sz);
    strides.push_back(st / isz);
    if (sz == 0) empty_array = true;
    else extent += (sz - 1) * (st / isz);
  }
  if (empty_array) extent = 0;
  // The storage holds a reference to the array; dropping it needs the GIL.
  // The handle points at the array itself (never null), so the storage knows it is foreign memory.
  PyObject* owner = a.ptr();
  Py_INCREF(owner);
  std::shared_ptr<void> keep(owner, [](void* p) {
    py::gil_scoped_acquire gil;
    Py_DECREF(static_cast<PyObject*>(p));
  });
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::wrap(const_cast<void*>(a.data()), static_cast<size_t>(extent * isz), keep);
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = t;
  return Tensor(std::move(impl));
}

py::array to_numpy(const Tensor& t) {
  EMBER_CHECK(!t.requires_grad(), Error, "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
              "instead.");
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * static_cast<py::ssize_t>(t.itemsize()));
  // The capsule keeps the storage alive as long as the array (or any view of it) lives.
  auto* keep = new std::shared_ptr<Storage>(t.get()->storage);
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(numpy_dtype(t.dtype()), shape, strides, t.raw_data(), base);
}

}  // namespace

void bind_numpy(py::module_& m) {
  m.def("from_numpy", [](py::handle obj) {
    EMBER_CHECK(py::isinstance<py::array>(obj), TypeError, "expected np.ndarray (got ",
                std::string(py::str(py::type::of(obj).attr("__name__"))), ")");
    return wrap_array(py::reinterpret_borrow<py::array>(obj), true);
  });
  m.def("_from_numpy_copy", [](py::handle obj) { return wrap_array(py::reinterpret_borrow<py::array>(obj), false).clone(); });
  tensor_class->def("numpy", &to_numpy);
  tensor_class->def("__array__", [](const Tensor& t, py::object dtype, py::object copy) -> py::object {
    py::array a = to_numpy(t.requires_grad() ? t.detach() : t);
    if (!dtype.is_none()) return a.attr("astype")(dtype);
    if (!copy.is_none() && py::bool_(copy)) return a.attr("copy")();
    return std::move(a);
  }, py::arg("dtype") = py::none(), py::arg("copy") = py::none());
}

}  // namespace ember::py_bind
