// Math ops as module functions (ember._C.add, ...) and as Tensor methods.
#include "common.h"

namespace ember::py_bind {

using TensorClass = py::class_<TensorImpl, std::shared_ptr<TensorImpl>>;
extern TensorClass* tensor_class;

namespace {

Tensor operand(py::handle h, const Tensor& like) { return to_operand(h, like); }

py::object max_or_min(const Tensor& t, py::object dim, bool keepdim, bool is_max) {
  if (dim.is_none()) return py::cast(is_max ? max(t) : min(t));
  auto r = is_max ? max(t, py_int64<IndexError>(dim, "dim"), keepdim) : min(t, py_int64<IndexError>(dim, "dim"), keepdim);
  return py::make_tuple(r.first, r.second);
}

std::optional<int64_t> opt_dim(const py::object& d) {
  if (d.is_none()) return std::nullopt;
  return py_int64<IndexError>(d, "dim");
}

// var/std: torch's `correction` (and the older `unbiased` flag).
double correction_of(py::object correction, py::object unbiased) {
  auto type_name = [](const py::object& o) { return std::string(py::str(py::type::of(o).attr("__name__"))); };
  if (!correction.is_none()) {
    EMBER_CHECK(PyFloat_Check(correction.ptr()) || PyLong_Check(correction.ptr()), TypeError,
                "var/std: correction must be a number, got ", type_name(correction));
    return correction.cast<double>();
  }
  if (!unbiased.is_none()) {
    EMBER_CHECK(PyLong_Check(unbiased.ptr()), TypeError, "var/std: unbiased must be a bool, got ", type_name(unbiased));
    return PyObject_IsTrue(unbiased.ptr()) ? 1.0 : 0.0;
  }
  return 1.0;
}

// Binds f as ember._C.<name>(input, ...) and as Tensor.<name>(self, ...).
template <typename F, typename... Args>
void def_both(py::module_& m, TensorClass& cls, const char* name, F f, Args... args) {
  // none(false): the Tensor caster turns None into an undefined tensor (optional arguments rely on
  // that), which an op's input must never be.
  m.def(name, f, py::arg("input").none(false), args...);
  cls.def(name, f, args...);
}

}  // namespace

void bind_ops(py::module_& m) {
  TensorClass& cls = *tensor_class;

  // --- creation -----------------------------------------------------------------------------------
  m.def("empty", [](py::handle shape, DType t) { return empty(to_shape(shape), t); })
      .def("zeros", [](py::handle shape, DType t) { return zeros(to_shape(shape), t); })
      .def("ones", [](py::handle shape, DType t) { return ones(to_shape(shape), t); })
      .def("full", [](py::handle shape, double v, DType t) { return full(to_shape(shape), v, t); })
      .def("arange", &arange)
      .def("linspace", &linspace)
      .def("eye", &eye)
      .def("rand", [](py::handle shape, DType t) { return rand(to_shape(shape), t); })
      .def("randn", [](py::handle shape, DType t) { return randn(to_shape(shape), t); })
      .def("randint", [](int64_t lo, int64_t hi, py::handle shape, DType t) { return randint(lo, hi, to_shape(shape), t); })
      .def("randperm", &randperm)
      .def("manual_seed", [](uint64_t s) { manual_seed(s); })
      .def("get_rng_state", []() { return default_generator().state(); })
      .def("set_rng_state", [](const std::array<uint64_t, 6>& s) { default_generator().set_state(s); })
      .def("set_num_threads", &set_num_threads)
      .def("get_num_threads", &get_num_threads)
      .def("_cpu_isa", &cpu_isa);

  // --- elementwise and reductions: module functions and Tensor methods ------------------------------
  auto D = [&](const char* name, auto f, auto... args) { def_both(m, cls, name, f, args...); };
  D("add", [](const Tensor& a, py::handle b, double alpha) { return add(a, operand(b, a), alpha); }, py::arg("other"),
    py::arg("alpha") = 1.0);
  D("sub", [](const Tensor& a, py::handle b, double alpha) { return sub(a, operand(b, a), alpha); }, py::arg("other"),
    py::arg("alpha") = 1.0);
  D("mul", [](const Tensor& a, py::handle b) { return mul(a, operand(b, a)); }, py::arg("other"));
  D("div", [](const Tensor& a, py::handle b) { return div(a, operand(b, a)); }, py::arg("other"));
  D("pow", [](const Tensor& a, py::handle b) {
    if (PyFloat_Check(b.ptr()) || (PyLong_Check(b.ptr()) && !PyBool_Check(b.ptr()))) return pow(a, b.cast<double>());
    return pow(a, operand(b, a));
  }, py::arg("exponent"));
  D("maximum", [](const Tensor& a, py::handle b) { return maximum(a, operand(b, a)); }, py::arg("other"));
  D("minimum", [](const Tensor& a, py::handle b) { return minimum(a, operand(b, a)); }, py::arg("other"));
  D("clamp", &clamp, py::arg("min") = py::none(), py::arg("max") = py::none());
  D("masked_fill", &masked_fill, py::arg("mask"), py::arg("value"));
  D("index_select", &index_select, py::arg("dim"), py::arg("index"));
  D("logical_and", &logical_and, py::arg("other"));
  D("logical_or", &logical_or, py::arg("other"));
  D("matmul", &matmul, py::arg("other"));
  D("broadcast_to", [](const Tensor& a, py::handle s) { return broadcast_to(a, to_shape(s)); }, py::arg("size"));
  D("split", [](const Tensor& a, py::handle size, int64_t dim) {
    if (py::isinstance<py::sequence>(size)) return split_sizes(a, to_shape(size), dim);
    return split(a, py_int64<ValueError>(size, "split_size"), dim);
  }, py::arg("split_size_or_sections"), py::arg("dim") = 0);
  D("chunk", &chunk, py::arg("chunks"), py::arg("dim") = 0);
  for (auto [name, fn] : std::initializer_list<std::pair<const char*, Tensor (*)(const Tensor&)>>{
           {"neg", &neg}, {"exp", &ember::exp}, {"log", &ember::log}, {"sqrt", &ember::sqrt}, {"abs", &ember::abs},
           {"sign", &sign}, {"sigmoid", &sigmoid}, {"tanh", &ember::tanh}, {"relu", &relu}, {"isnan", &ember::isnan},
           {"isfinite", &ember::isfinite}, {"logical_not", &logical_not}, {"nonzero", &nonzero}, {"prod", &prod_all}}) {
    m.def(name, fn, py::arg("input").none(false));
    cls.def(name, fn);
  }
  m.def("where", [](const Tensor& c, py::handle a, py::handle b) {
    Tensor ta = is_tensor(a) ? a.cast<Tensor>() : Tensor(), tb = is_tensor(b) ? b.cast<Tensor>() : Tensor();
    const Tensor like = ta.defined() ? ta : (tb.defined() ? tb : scalar_tensor(0.0));
    return where(c, ta.defined() ? ta : operand(a, like), tb.defined() ? tb : operand(b, like));
  });
  m.def("cat", &cat, py::arg("tensors"), py::arg("dim") = 0)
      .def("stack", &stack, py::arg("tensors"), py::arg("dim") = 0)
      .def("solve", &linalg::solve)
      .def("inv", &linalg::inv)
      .def("det", &linalg::det)
      .def("sum_to", [](const Tensor& a, py::handle s) { return sum_to(a, to_shape(s)); });

  D("sum", [](const Tensor& a, py::object dim, bool keepdim) { return sum(a, parse_dims(dim), keepdim); },
    py::arg("dim") = py::none(), py::arg("keepdim") = false);
  D("mean", [](const Tensor& a, py::object dim, bool keepdim) { return mean(a, parse_dims(dim), keepdim); },
    py::arg("dim") = py::none(), py::arg("keepdim") = false);
  D("var", [](const Tensor& a, py::object dim, py::object unbiased, bool keepdim, py::object correction) {
    return var(a, parse_dims(dim), correction_of(correction, unbiased), keepdim);
  }, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false, py::kw_only(),
    py::arg("correction") = py::none());
  D("std", [](const Tensor& a, py::object dim, py::object unbiased, bool keepdim, py::object correction) {
    return ember::std(a, parse_dims(dim), correction_of(correction, unbiased), keepdim);
  }, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false, py::kw_only(),
    py::arg("correction") = py::none());
  D("logsumexp", [](const Tensor& a, py::object dim, bool keepdim) { return logsumexp(a, parse_dims(dim), keepdim); },
    py::arg("dim"), py::arg("keepdim") = false);
  D("_max", [](const Tensor& a, py::object dim, bool keepdim) { return max_or_min(a, dim, keepdim, true); },
    py::arg("dim") = py::none(), py::arg("keepdim") = false);
  D("_min", [](const Tensor& a, py::object dim, bool keepdim) { return max_or_min(a, dim, keepdim, false); },
    py::arg("dim") = py::none(), py::arg("keepdim") = false);
  D("argmax", [](const Tensor& a, py::object dim, bool keepdim) { return argmax(a, opt_dim(dim), keepdim); },
    py::arg("dim") = py::none(), py::arg("keepdim") = false);
  D("argmin", [](const Tensor& a, py::object dim, bool keepdim) { return argmin(a, opt_dim(dim), keepdim); },
    py::arg("dim") = py::none(), py::arg("keepdim") = false);
}

}  // namespace ember::py_bind
