// Layer ops on ember._C._norm: linear, batch_norm, layer_norm, dropout, dropout2d, embedding.
// Python's None arrives as an undefined Tensor (no weight, no bias, no running statistics).
#include "common.h"
#include "ember/normalization.h"

namespace ember::py_bind {

void bind_normalization(py::module_& m) {
  namespace F = ember::functional;
  py::module_ n = m.def_submodule("_norm", "linear, normalisation, dropout and embedding ops");
  // F.linear is bound directly (no Python wrapper): it is called once per layer per step.
  n.def("linear", &F::linear, py::arg("input"), py::arg("weight"), py::arg("bias") = Tensor(),
        "linear(input, weight, bias=None) -> input @ weight.T + bias")
      .def("batch_norm", &F::batch_norm, py::arg("input"), py::arg("running_mean"), py::arg("running_var"),
           py::arg("weight") = Tensor(), py::arg("bias") = Tensor(), py::arg("training") = false,
           py::arg("momentum") = 0.1, py::arg("eps") = 1e-5)
      .def("layer_norm", &F::layer_norm, py::arg("input"), py::arg("normalized_shape"),
           py::arg("weight") = Tensor(), py::arg("bias") = Tensor(), py::arg("eps") = 1e-5)
      .def("dropout", &F::dropout, py::arg("input"), py::arg("p") = 0.5, py::arg("training") = true)
      .def("dropout2d", &F::dropout2d, py::arg("input"), py::arg("p") = 0.5, py::arg("training") = true)
      .def("embedding", &F::embedding, py::arg("input"), py::arg("weight"), py::arg("padding_idx") = py::none());
}

}  // namespace ember::py_bind
