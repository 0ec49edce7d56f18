// ember.Tensor: construction, properties, views, indexing, Python operators.
#include "common.h"

namespace ember::py_bind {

using TensorClass = py::class_<TensorImpl, std::shared_ptr<TensorImpl>>;

namespace {

py::object array_converter;  // ember._tensor._as_tensor, set at import

py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = py::int_(s[i]);
  return t;
}

py::object item_of(const Tensor& t) {
  double v = t.item();
  switch (t.dtype()) {
    case DType::Bool: return py::bool_(v != 0);
    case DType::Int64: return py::int_(static_cast<int64_t>(*static_cast<int64_t*>(t.raw_data())));
    default: return py::float_(v);
  }
}

// Python scalar kinds for weak typing.
enum class ScalarKind { None, Bool, Int, Float };
ScalarKind scalar_kind(py::handle h) {
  if (PyBool_Check(h.ptr())) return ScalarKind::Bool;
  if (PyLong_Check(h.ptr())) return ScalarKind::Int;
  if (PyFloat_Check(h.ptr())) return ScalarKind::Float;
  return ScalarKind::None;
}

Tensor weak_scalar(py::handle h, ScalarKind k, const Tensor& like) {
  // `like` is undefined when None was passed for the tensor argument (e.g. ember.add(None, 2)).
  EMBER_CHECK(like.defined(), TypeError, "expected a Tensor operand, got None");
  DType t = like.dtype();
  switch (k) {
    case ScalarKind::Bool: return scalar_tensor(h.cast<bool>() ? 1.0 : 0.0, t);
    case ScalarKind::Int: {
      // Python ints beyond int64 would wrap silently; refuse them instead.
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
      EMBER_CHECK(overflow == 0, ValueError, "Python integer is too large for an int64 tensor operand");
      return scalar_tensor(static_cast<double>(v), t == DType::Bool ? DType::Int64 : t);
    }
    case ScalarKind::Float:
      return scalar_tensor(h.cast<double>(), is_floating(t) ? t : DType::Float32);
    default: break;
  }
  throw Error("not a scalar");
}

}  // namespace

bool is_tensor(py::handle h) {
  static py::handle cls = py::detail::get_type_handle(typeid(TensorImpl), true);
  return PyObject_IsInstance(h.ptr(), cls.ptr()) == 1;
}

Tensor from_array_like(py::handle h) {
  EMBER_CHECK(array_converter, Error, "ember is not fully initialised (array converter missing)");
  return array_converter(h).cast<Tensor>();
}

Tensor to_operand(py::handle h, const Tensor& like) {
  if (is_tensor(h)) return h.cast<Tensor>();
  ScalarKind k = scalar_kind(h);
  if (k != ScalarKind::None) return weak_scalar(h, k, like);
  return from_array_like(h);
}

Shape to_shape(py::handle h) {
  Shape s;
  if (PyLong_Check(h.ptr()) || py::hasattr(h, "__index__")) {
    if (!py::isinstance<py::sequence>(h)) return {py_int64<ValueError>(h, "size")};
  }
  EMBER_CHECK(py::isinstance<py::sequence>(h), TypeError, "expected a shape (sequence of ints), got ",
              std::string(py::str(py::type::of(h).attr("__name__"))));
  for (py::handle v : h) {
    EMBER_CHECK(!PyFloat_Check(v.ptr()), TypeError, "shape entries must be integers, got a float");
    s.push_back(py_int64<ValueError>(v, "size"));
  }
  return s;
}

static const Tensor& bool_operand(const Tensor& t, const char* op) {
  EMBER_CHECK(t.dtype() == DType::Bool, TypeError, "operator ", op, " is only implemented for bool tensors in ember, got ",
              dtype_name(t.dtype()), " (use logical_and/logical_or/logical_not for a truth-value result)");
  return t;
}

Shape parse_shape(const py::args& args) {
  if (args.size() == 1 && py::isinstance<py::sequence>(args[0])) return to_shape(args[0]);
  Shape s;
  for (py::handle v : args) {
    EMBER_CHECK(!PyFloat_Check(v.ptr()), TypeError, "size arguments must be integers, got a float");
    s.push_back(py_int64<ValueError>(v, "size"));
  }
  return s;
}

std::vector<int64_t> parse_dims(const py::object& dim) {
  if (dim.is_none()) return {};
  if (py::isinstance<py::sequence>(dim)) return to_shape(dim);
  return {py_int64<IndexError>(dim, "dim")};
}

std::vector<TensorIndex> parse_index(py::handle key) {
  std::vector<TensorIndex> out;
  auto one = [&](py::handle k) {
    if (k.is_none()) {
      out.push_back(TensorIndex::NewAxis());
    } else if (k.ptr() == Py_Ellipsis) {
      out.push_back(TensorIndex::Dots());
    } else if (PySlice_Check(k.ptr())) {
      py::slice s = py::reinterpret_borrow<py::slice>(k);
      auto get = [](py::object o) -> std::optional<int64_t> {
        if (o.is_none()) return std::nullopt;
        return py_int64<IndexError>(o, "slice bound", true);
      };
      std::optional<int64_t> step = get(s.attr("step"));
      out.push_back(TensorIndex::Slice(get(s.attr("start")), get(s.attr("stop")), step.value_or(1)));
    } else if (is_tensor(k)) {
      out.push_back(TensorIndex::Tensor(k.cast<Tensor>()));
    } else if (PyBool_Check(k.ptr())) {
      throw NotImplementedError("indexing with a Python bool is not supported");
    } else if (PyLong_Check(k.ptr()) || (py::hasattr(k, "__index__") && !py::hasattr(k, "shape"))) {
      out.push_back(TensorIndex::Int(py_int64<IndexError>(k, "index")));
    } else if (PyFloat_Check(k.ptr())) {
      throw IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or bool tensors are valid indices");
    } else {
      Tensor t = from_array_like(k);
      EMBER_CHECK(t.dtype() == DType::Int64 || t.dtype() == DType::Bool, IndexError,
                  "tensors used as indices must be long or bool tensors, got ", dtype_name(t.dtype()));
      out.push_back(TensorIndex::Tensor(t));
    }
  };
  if (PyTuple_Check(key.ptr())) {
    for (py::handle k : key) one(k);
  } else {
    one(key);
  }
  return out;
}

namespace {

Tensor to_dtype_or_device(const Tensor& self, py::handle arg) {
  if (py::isinstance<py::str>(arg)) {
    Device d = Device::parse(arg.cast<std::string>());
    EMBER_CHECK(d.type == DeviceType::CPU || cuda_is_built(), Error, "Cannot move tensor to '", d.str(),
                "': ember was built without CUDA support (rebuild with -DEMBER_CUDA=ON on a machine with nvcc)");
    EMBER_CHECK(d.type == DeviceType::CPU, NotImplementedError, "CUDA tensors are not available yet");
    return self;
  }
  EMBER_CHECK(py::isinstance<DType>(arg), TypeError, "to(): expected an ember dtype or a device string, got ",
              std::string(py::str(py::type::of(arg).attr("__name__"))));
  return self.to(arg.cast<DType>());
}

}  // namespace

// Adapts a Tensor member function for binding on the TensorImpl class.
template <typename R, typename... A>
auto method(R (Tensor::*f)(A...) const) {
  return [f](const Tensor& t, A... a) -> R { return (t.*f)(a...); };
}
template <typename R, typename... A>
auto method(R (Tensor::*f)(A...)) {
  return [f](Tensor& t, A... a) -> R { return (t.*f)(a...); };
}

TensorClass* tensor_class = nullptr;

void bind_tensor(py::module_& m) {
  py::enum_<DType>(m, "dtype")
      .value("bool", DType::Bool)
      .value("int64", DType::Int64)
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .def_property_readonly("itemsize", [](DType t) { return itemsize(t); })
      .def_property_readonly("is_floating_point", [](DType t) { return is_floating(t); });

  m.def("_set_array_converter", [](py::object f) {
    array_converter = f;
    array_converter.inc_ref();  // kept for the life of the process
  });

  // Leaked on purpose: destroying a Python type after interpreter shutdown would crash.
  tensor_class = new TensorClass(m, "Tensor", py::dynamic_attr());
  TensorClass& cls = *tensor_class;
  cls.def(py::init([](const Tensor& data) {
       // Tensor(data): a new tensor object sharing data's storage (used by nn.Parameter).
       EMBER_CHECK(data.defined(), ValueError, "Tensor(data): data must be a tensor");
       return make_view(data, data.shape(), data.strides(), data.offset()).impl();
     }),
     py::arg("data"));

  // --- properties ---------------------------------------------------------------------------
  cls.def_property_readonly("shape", [](const Tensor& t) { return shape_tuple(t.shape()); })
      .def_property_readonly("dtype", method(&Tensor::dtype))
      .def_property_readonly("device", [](const Tensor& t) { return t.device().str(); })
      .def_property_readonly("ndim", method(&Tensor::dim))
      .def("dim", method(&Tensor::dim))
      .def("numel", method(&Tensor::numel))
      .def("stride", [](const Tensor& t, py::object d) -> py::object {
        if (d.is_none()) return shape_tuple(t.strides());
        return py::int_(t.stride(py_int64<IndexError>(d, "dim")));
      }, py::arg("dim") = py::none())
      .def("storage_offset", method(&Tensor::offset))
      .def("element_size", method(&Tensor::itemsize))
      .def("is_contiguous", method(&Tensor::is_contiguous))
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); })
      .def_property_readonly("_version", method(&Tensor::version))
      .def_property_readonly("is_leaf", method(&Tensor::is_leaf))
      .def_property("requires_grad", method(&Tensor::requires_grad),
                    [](Tensor& t, bool r) { t.set_requires_grad(r); })
      .def("requires_grad_", [](Tensor& t, bool r) { t.set_requires_grad(r); return t; },
           py::arg("requires_grad") = true)
      .def_property("grad", method(&Tensor::grad), [](Tensor& t, const std::optional<Tensor>& g) {
        t.set_grad(g ? *g : Tensor());
      })
      .def_property_readonly("grad_fn", [](const Tensor& t) -> py::object {
        if (!t.grad_fn()) return py::none();
        return py::cast(t.grad_fn());
      })
      .def("retain_grad", method(&Tensor::retain_grad))
      .def_property_readonly("retains_grad", [](const Tensor& t) { return t.get()->retains_grad; })
      .def("backward", [](const Tensor& t, const std::optional<Tensor>& g, std::optional<bool> retain_graph) {
        t.backward(g ? *g : Tensor(), retain_graph.value_or(false));
      }, py::arg("gradient") = py::none(), py::arg("retain_graph") = py::none())
      .def("detach", method(&Tensor::detach))
      .def("detach_", [](Tensor& t) {
        t.get()->grad_fn = nullptr;
        t.get()->requires_grad = false;
        return t;
      })
      .def("item", &item_of)
      .def("__float__", [](const Tensor& t) { return t.item(); })
      // Through item_of, not item(): a double would round int64 values above 2**53 and turn NaN
      // into an undefined cast (Python's int() raises ValueError for NaN and inf instead).
      .def("__int__", [](const Tensor& t) { return py::int_(item_of(t)); })
      .def("__index__", [](const Tensor& t) {
        EMBER_CHECK(t.dtype() == DType::Int64 || t.dtype() == DType::Bool, TypeError,
                    "only integer tensors of a single element can be converted to an index");
        return py::int_(item_of(t));
      })
      .def("__bool__", [](const Tensor& t) {
        EMBER_CHECK(t.numel() == 1, Error, "Boolean value of Tensor with ", t.numel(),
                    " elements is ambiguous; use .any() or .all()");
        return t.item() != 0;
      })
      .def("__len__", [](const Tensor& t) {
        EMBER_CHECK(t.dim() > 0, TypeError, "len() of a 0-d tensor");
        return t.size(0);
      });

  // --- copies and conversions -----------------------------------------------------------------
  cls.def("clone", method(&Tensor::clone))
      .def("contiguous", method(&Tensor::contiguous))
      .def("to", [](const Tensor& t, py::object arg) { return to_dtype_or_device(t, arg); }, py::arg("dtype_or_device"))
      .def("float", [](const Tensor& t) { return t.to(DType::Float32); })
      .def("double", [](const Tensor& t) { return t.to(DType::Float64); })
      .def("long", [](const Tensor& t) { return t.to(DType::Int64); })
      .def("bool", [](const Tensor& t) { return t.to(DType::Bool); })
      .def("cpu", [](const Tensor& t) { return t; })
      .def("cuda", [](const Tensor& t) { return to_dtype_or_device(t, py::str("cuda")); })
      .def("copy_", [](Tensor& t, py::object src) { return t.copy_(to_operand(src, t)); })
      .def("fill_", [](Tensor& t, double v) { return t.fill_(v); })
      .def("zero_", [](Tensor& t) { return t.zero_(); });

  // --- views ------------------------------------------------------------------------------------
  cls.def("reshape", [](const Tensor& t, py::args a) { return t.reshape(parse_shape(a)); })
      .def("view", [](const Tensor& t, py::args a) { return t.view(parse_shape(a)); })
      .def("view_as", [](const Tensor& t, const Tensor& o) { return t.view(o.shape()); }, py::arg("other").none(false))
      .def("reshape_as", [](const Tensor& t, const Tensor& o) { return t.reshape(o.shape()); }, py::arg("other").none(false))
      .def("transpose", method(&Tensor::transpose), py::arg("dim0"), py::arg("dim1"))
      .def("permute", [](const Tensor& t, py::args a) { return t.permute(parse_shape(a)); })
      .def("t", method(&Tensor::t))
      .def_property_readonly("T", [](const Tensor& t) {
        Shape p(t.dim());
        for (int64_t i = 0; i < t.dim(); ++i) p[i] = t.dim() - 1 - i;
        return t.permute(p);
      })
      .def_property_readonly("mT", [](const Tensor& t) { return t.transpose(-2, -1); })
      .def("squeeze", [](const Tensor& t, py::object d) {
        return d.is_none() ? t.squeeze() : t.squeeze(py_int64<IndexError>(d, "dim"));
      }, py::arg("dim") = py::none())
      .def("unsqueeze", method(&Tensor::unsqueeze), py::arg("dim"))
      .def("expand", [](const Tensor& t, py::args a) { return t.expand(parse_shape(a)); })
      .def("expand_as", [](const Tensor& t, const Tensor& o) { return t.expand(o.shape()); }, py::arg("other").none(false))
      .def("flatten", method(&Tensor::flatten), py::arg("start_dim") = 0, py::arg("end_dim") = -1)
      .def("select", method(&Tensor::select), py::arg("dim"), py::arg("index"))
      .def("narrow", method(&Tensor::narrow), py::arg("dim"), py::arg("start"), py::arg("length"))
      .def("__getitem__", [](const Tensor& t, py::handle key) {
        if (PyLong_Check(key.ptr()) && !PyBool_Check(key.ptr())) {  // fast path: t[i]
          EMBER_CHECK(t.dim() > 0, IndexError, "invalid index of a 0-dim tensor");
          int64_t i = py_int64<IndexError>(key, "index"), n = t.size(0);
          EMBER_CHECK(i >= -n && i < n, IndexError, "index ", i, " is out of bounds for dimension 0 with size ", n);
          return t.select(0, i);
        }
        return index(t, parse_index(key));
      })
      .def("__setitem__", [](Tensor& t, py::handle key, py::handle value) {
        index_put_(t, parse_index(key), to_operand(value, t));
      });

  // --- Python operators -------------------------------------------------------------------------
  auto binary = [](Tensor (*f)(const Tensor&, const Tensor&)) {
    return [f](const Tensor& a, py::handle b) { return f(a, to_operand(b, a)); };
  };
  auto reflected = [](Tensor (*f)(const Tensor&, const Tensor&)) {
    return [f](const Tensor& a, py::handle b) { return f(to_operand(b, a), a); };
  };
  static auto add2 = [](const Tensor& a, const Tensor& b) { return add(a, b); };
  static auto sub2 = [](const Tensor& a, const Tensor& b) { return sub(a, b); };
  static auto pow2 = [](const Tensor& a, const Tensor& b) { return pow(a, b); };
  static auto eq = [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Eq); };
  static auto ne = [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Ne); };
  static auto lt = [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Lt); };
  static auto le = [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Le); };
  static auto gt = [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Gt); };
  static auto ge = [](const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Ge); };
  cls.def("__add__", binary(+add2), py::is_operator())
      .def("__radd__", reflected(+add2), py::is_operator())
      .def("__sub__", binary(+sub2), py::is_operator())
      .def("__rsub__", reflected(+sub2), py::is_operator())
      .def("__mul__", binary(&mul), py::is_operator())
      .def("__rmul__", reflected(&mul), py::is_operator())
      .def("__truediv__", binary(&div), py::is_operator())
      .def("__rtruediv__", reflected(&div), py::is_operator())
      .def("__pow__", [](const Tensor& a, py::handle b) -> Tensor {
        if (PyFloat_Check(b.ptr()) || (PyLong_Check(b.ptr()) && !PyBool_Check(b.ptr())))
          return pow(a, b.cast<double>());
        return pow(a, to_operand(b, a));
      }, py::is_operator())
      .def("__rpow__", reflected(+pow2), py::is_operator())
      .def("__matmul__", binary(&matmul), py::is_operator())
      .def("__rmatmul__", reflected(&matmul), py::is_operator())
      .def("__neg__", &neg)
      .def("__pos__", [](const Tensor& a) { return a; })
      .def("__abs__", &ember::abs)
      .def("__eq__", binary(+eq), py::is_operator())
      .def("__ne__", binary(+ne), py::is_operator())
      .def("__lt__", binary(+lt), py::is_operator())
      .def("__le__", binary(+le), py::is_operator())
      .def("__gt__", binary(+gt), py::is_operator())
      .def("__ge__", binary(+ge), py::is_operator())
      // ember has no bitwise ops: &, |, ~ are logical and so only defined for bool tensors (on int64
      // torch and numpy give bitwise results, which a logical op would silently get wrong).
      .def("__and__", [](const Tensor& a, py::handle b) { return logical_and(bool_operand(a, "&"),
                                                                            bool_operand(to_operand(b, a), "&")); },
           py::is_operator())
      .def("__or__", [](const Tensor& a, py::handle b) { return logical_or(bool_operand(a, "|"),
                                                                          bool_operand(to_operand(b, a), "|")); },
           py::is_operator())
      .def("__invert__", [](const Tensor& a) { return logical_not(bool_operand(a, "~")); })
      .def("__iadd__", [](Tensor& a, py::handle b) { return add_(a, to_operand(b, a)); }, py::is_operator())
      .def("__isub__", [](Tensor& a, py::handle b) { return sub_(a, to_operand(b, a)); }, py::is_operator())
      .def("__imul__", [](Tensor& a, py::handle b) { return mul_(a, to_operand(b, a)); }, py::is_operator())
      .def("__itruediv__", [](Tensor& a, py::handle b) { return div_(a, to_operand(b, a)); }, py::is_operator())
      .def("add_", [](Tensor& a, py::handle b, double alpha) { return add_(a, to_operand(b, a), alpha); },
           py::arg("other"), py::arg("alpha") = 1.0)
      .def("sub_", [](Tensor& a, py::handle b, double alpha) { return sub_(a, to_operand(b, a), alpha); },
           py::arg("other"), py::arg("alpha") = 1.0)
      .def("mul_", [](Tensor& a, py::handle b) { return mul_(a, to_operand(b, a)); })
      .def("div_", [](Tensor& a, py::handle b) { return div_(a, to_operand(b, a)); });
  // Defining __eq__ removes the default hash; tensors hash by identity, like torch's.
  cls.attr("__hash__") = py::module_::import("builtins").attr("object").attr("__hash__");
}

}  // namespace ember::py_bind
