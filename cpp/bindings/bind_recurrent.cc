// ember._C._rnn: recurrent ops (modes by torch's names: RNN_TANH, RNN_RELU, LSTM, GRU).
#include "common.h"
#include "ember/recurrent.h"

namespace ember::py_bind {

void bind_recurrent(py::module_& m) {
  namespace F = ember::functional;
  py::module_ r = m.def_submodule("_rnn", "recurrent ops");
  r.def(
       "rnn",
       [](const std::string& mode, const Tensor& input, const Tensor& hx, const Tensor& cx,
          const std::vector<Tensor>& params, bool has_biases, int64_t num_layers, double dropout, bool train,
          bool bidirectional, bool batch_first) {
         return F::rnn(F::rnn_mode(mode), input, hx, cx, params, has_biases, num_layers, dropout, train,
                       bidirectional, batch_first);
       },
       py::arg("mode"), py::arg("input"), py::arg("hx"), py::arg("cx"), py::arg("params"), py::arg("has_biases"),
       py::arg("num_layers"), py::arg("dropout"), py::arg("train"), py::arg("bidirectional"), py::arg("batch_first"))
      .def(
          "rnn_layer",
          [](const std::string& mode, const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
             const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, bool batch_first, bool reverse) {
            return F::rnn_layer(F::rnn_mode(mode), input, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_first, reverse);
          },
          py::arg("mode"), py::arg("input"), py::arg("h0"), py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"),
          py::arg("b_ih"), py::arg("b_hh"), py::arg("batch_first") = false, py::arg("reverse") = false)
      .def("rnn_tanh_cell", &F::rnn_tanh_cell, py::arg("input"), py::arg("hx"), py::arg("w_ih"), py::arg("w_hh"),
           py::arg("b_ih"), py::arg("b_hh"))
      .def("rnn_relu_cell", &F::rnn_relu_cell, py::arg("input"), py::arg("hx"), py::arg("w_ih"), py::arg("w_hh"),
           py::arg("b_ih"), py::arg("b_hh"))
      .def("lstm_cell", &F::lstm_cell, py::arg("input"), py::arg("hx"), py::arg("cx"), py::arg("w_ih"),
           py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"))
      .def("gru_cell", &F::gru_cell, py::arg("input"), py::arg("hx"), py::arg("w_ih"), py::arg("w_hh"),
           py::arg("b_ih"), py::arg("b_hh"));
}

}  // namespace ember::py_bind
