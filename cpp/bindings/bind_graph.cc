// ember._C._graph: scatter / message-passing ops for graph neural networks.
#include "common.h"
#include "ember/graph.h"

namespace ember::py_bind {

void bind_graph(py::module_& m) {
  namespace F = ember::functional;
  py::module_ g = m.def_submodule("_graph", "graph neural network ops");
  g.def("scatter", &F::scatter, py::arg("src"), py::arg("index"), py::arg("dim_size") = -1,
        py::arg("reduce") = "sum")
      .def("scatter_max", &F::scatter_max, py::arg("src"), py::arg("index"), py::arg("dim_size") = -1)
      .def("propagate", &F::propagate, py::arg("x"), py::arg("edge_index"), py::arg("edge_weight") = py::none(),
           py::arg("num_nodes") = -1, py::arg("reduce") = "sum")
      .def("gcn_norm", &F::gcn_norm, py::arg("edge_index"), py::arg("edge_weight") = py::none(),
           py::arg("num_nodes") = 0, py::arg("add_self_loops") = true, py::arg("fill_value") = 1.0,
           py::arg("dtype") = DType::Float32)
      .def("global_add_pool", &F::global_add_pool, py::arg("x"), py::arg("batch"), py::arg("size") = -1)
      .def("global_mean_pool", &F::global_mean_pool, py::arg("x"), py::arg("batch"), py::arg("size") = -1)
      .def("global_max_pool", &F::global_max_pool, py::arg("x"), py::arg("batch"), py::arg("size") = -1);
}

}  // namespace ember::py_bind
