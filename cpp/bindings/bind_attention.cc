// ember._C._attention: scaled dot-product and multi-head attention, transformer tables.
#include "common.h"
#include "ember/attention.h"

namespace ember::py_bind {

void bind_attention(py::module_& m) {
  namespace F = ember::functional;
  py::module_ a = m.def_submodule("_attention", "attention ops");
  a.def("scaled_dot_product_attention", &F::scaled_dot_product_attention, py::arg("query"), py::arg("key"),
        py::arg("value"), py::arg("attn_mask") = py::none(), py::arg("dropout_p") = 0.0, py::arg("is_causal") = false,
        py::arg("scale") = py::none(), py::arg("need_weights") = false)
      .def("multi_head_attention_forward", &F::multi_head_attention_forward, py::arg("query"), py::arg("key"),
           py::arg("value"), py::arg("num_heads"), py::arg("in_proj_weight"), py::arg("in_proj_bias"),
           py::arg("out_proj_weight"), py::arg("out_proj_bias"), py::arg("key_padding_mask") = py::none(),
           py::arg("attn_mask") = py::none(), py::arg("need_weights") = true,
           py::arg("average_attn_weights") = true, py::arg("dropout_p") = 0.0, py::arg("training") = true,
           py::arg("batch_first") = false, py::arg("is_causal") = false, py::arg("q_proj_weight") = py::none(),
           py::arg("k_proj_weight") = py::none(), py::arg("v_proj_weight") = py::none())
      .def("causal_mask", &F::causal_mask, py::arg("L"), py::arg("S"))
      .def("sinusoidal_positional_encoding", &F::sinusoidal_positional_encoding, py::arg("length"), py::arg("dim"),
           py::arg("dtype") = DType::Float32);
}

}  // namespace ember::py_bind
