// ember._C autograd entry points: grad mode, backward, grad, and graph nodes for inspection.
#include "common.h"

namespace ember::py_bind {

namespace {
std::vector<Tensor> tensor_list(py::handle h) {
  std::vector<Tensor> out;
  if (h.is_none()) return out;
  if (is_tensor(h)) return {h.cast<Tensor>()};
  for (py::handle v : h) out.push_back(v.is_none() ? Tensor() : v.cast<Tensor>());
  return out;
}
}  // namespace

void bind_autograd(py::module_& m) {
  py::class_<autograd::Node, std::shared_ptr<autograd::Node>>(m, "Node")
      .def("name", &autograd::Node::name)
      .def_property_readonly("next_functions", [](const autograd::Node& n) {
        py::list out;
        for (const auto& e : n.next_edges) out.append(py::make_tuple(e.fn ? py::cast(e.fn) : py::none(), e.input_nr));
        return py::tuple(out);
      })
      .def("__repr__", [](const autograd::Node& n) { return "<" + n.name() + ">"; });

  m.def("is_grad_enabled", &autograd::grad_enabled)
      .def("set_grad_enabled", &autograd::set_grad_enabled)
      .def("_backward", [](py::handle tensors, py::handle grads, bool retain_graph) {
        autograd::backward(tensor_list(tensors), tensor_list(grads), retain_graph);
      })
      .def("_grad", [](py::handle outputs, py::handle inputs, py::handle grad_outputs, bool retain_graph,
                       bool allow_unused) {
        return autograd::grad(tensor_list(outputs), tensor_list(inputs), tensor_list(grad_outputs), retain_graph,
                              allow_unused);
      });
}

}  // namespace ember::py_bind
