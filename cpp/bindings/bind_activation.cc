// Activations, softmax and losses on ember._C._act. A reduction is passed as torch's string
// ("none" | "mean" | "sum" | "batchmean"); anything else raises ValueError.
#include "common.h"
#include "ember/activation.h"
#include "ember/loss.h"

namespace pybind11::detail {
template <>
struct type_caster<ember::functional::Reduction> {
  PYBIND11_TYPE_CASTER(ember::functional::Reduction, const_name("str"));
  bool load(handle src, bool) {
    if (!isinstance<str>(src)) return false;
    value = ember::functional::reduction_from_string(src.cast<std::string>());
    return true;
  }
  static handle cast(ember::functional::Reduction r, return_value_policy, handle) {
    static const char* names[] = {"none", "mean", "sum", "batchmean"};
    return str(names[static_cast<int>(r)]).release();
  }
};
}  // namespace pybind11::detail

namespace ember::py_bind {

void bind_activation(py::module_& m) {
  namespace F = ember::functional;
  py::module_ a = m.def_submodule("_act", "activation functions, softmax and losses");
  a.def("leaky_relu", &F::leaky_relu, py::arg("input"), py::arg("negative_slope") = 0.01)
      .def("elu", &F::elu, py::arg("input"), py::arg("alpha") = 1.0)
      .def("selu", &F::selu, py::arg("input"))
      .def("gelu", &F::gelu, py::arg("input"), py::arg("approximate") = "none")
      .def("softplus", &F::softplus, py::arg("input"), py::arg("beta") = 1.0, py::arg("threshold") = 20.0)
      .def("silu", &F::silu, py::arg("input"))
      .def("hardtanh", &F::hardtanh, py::arg("input"), py::arg("min_val") = -1.0, py::arg("max_val") = 1.0)
      .def("relu6", &F::relu6, py::arg("input"))
      .def("maxout", &F::maxout, py::arg("input"), py::arg("pieces"), py::arg("dim") = 1)
      .def("softmax", &F::softmax, py::arg("input"), py::arg("dim"))
      .def("log_softmax", &F::log_softmax, py::arg("input"), py::arg("dim"));

  a.def("mse_loss", &F::mse_loss, py::arg("input"), py::arg("target"), py::arg("reduction"), py::arg("weight"))
      .def("l1_loss", &F::l1_loss, py::arg("input"), py::arg("target"), py::arg("reduction"), py::arg("weight"))
      .def("smooth_l1_loss", &F::smooth_l1_loss, py::arg("input"), py::arg("target"), py::arg("reduction"),
           py::arg("beta"))
      .def("huber_loss", &F::huber_loss, py::arg("input"), py::arg("target"), py::arg("reduction"), py::arg("delta"),
           py::arg("weight"))
      .def("binary_cross_entropy", &F::binary_cross_entropy, py::arg("input"), py::arg("target"), py::arg("weight"),
           py::arg("reduction"))
      .def("binary_cross_entropy_with_logits", &F::binary_cross_entropy_with_logits, py::arg("input"),
           py::arg("target"), py::arg("weight"), py::arg("reduction"), py::arg("pos_weight"))
      .def("cross_entropy", &F::cross_entropy, py::arg("input"), py::arg("target"), py::arg("weight"),
           py::arg("ignore_index"), py::arg("reduction"), py::arg("label_smoothing"))
      .def("nll_loss", &F::nll_loss, py::arg("input"), py::arg("target"), py::arg("weight"), py::arg("ignore_index"),
           py::arg("reduction"))
      .def("hinge_embedding_loss", &F::hinge_embedding_loss, py::arg("input"), py::arg("target"), py::arg("margin"),
           py::arg("reduction"))
      .def("multi_margin_loss", &F::multi_margin_loss, py::arg("input"), py::arg("target"), py::arg("p"),
           py::arg("margin"), py::arg("weight"), py::arg("reduction"))
      .def("kl_div", &F::kl_div, py::arg("input"), py::arg("target"), py::arg("reduction"), py::arg("log_target"));
}

}  // namespace ember::py_bind
