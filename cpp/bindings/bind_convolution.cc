// Convolution and pooling ops on ember._C._nn_conv.
#include "common.h"
#include "ember/convolution.h"

namespace ember::py_bind {

void bind_convolution(py::module_& m) {
  namespace F = ember::functional;
  py::module_ c = m.def_submodule("_conv", "convolution and pooling ops");
  c.def("conv2d", &F::conv2d, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("groups"))
      .def("conv1d", &F::conv1d, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("stride"),
           py::arg("padding"), py::arg("dilation"), py::arg("groups"))
      .def("max_pool2d_with_indices", &F::max_pool2d_with_indices)
      .def("max_pool2d", &F::max_pool2d)
      .def("max_pool1d", &F::max_pool1d)
      .def("avg_pool2d", &F::avg_pool2d)
      .def("adaptive_avg_pool2d", &F::adaptive_avg_pool2d);
}

}  // namespace ember::py_bind
