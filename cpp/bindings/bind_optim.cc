// ember._C._optim: the functional multi-tensor optimizer steps, the option checks the Python
// optimizers run at construction, gradient clipping and weight penalties (ember/optim.h).
// python/ember/optim and python/ember/nn/utils.py are thin wrappers over these.
#include "common.h"
#include "ember/optim.h"

namespace ember::py_bind {

namespace {

namespace O = ember::optim;

O::SGDOptions sgd_options(double lr, double momentum, double dampening, double weight_decay, bool nesterov,
                          bool maximize) {
  O::SGDOptions o(lr);
  o.momentum = momentum;
  o.dampening = dampening;
  o.weight_decay = weight_decay;
  o.nesterov = nesterov;
  o.maximize = maximize;
  return o;
}

O::AdamOptions adam_options(double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad,
                            bool maximize, bool decoupled_weight_decay) {
  O::AdamOptions o(lr);
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = eps;
  o.weight_decay = weight_decay;
  o.amsgrad = amsgrad;
  o.maximize = maximize;
  o.decoupled_weight_decay = decoupled_weight_decay;
  return o;
}

O::AdagradOptions adagrad_options(double lr, double lr_decay, double weight_decay, double initial_accumulator_value,
                                  double eps, bool maximize) {
  O::AdagradOptions o(lr);
  o.lr_decay = lr_decay;
  o.weight_decay = weight_decay;
  o.initial_accumulator_value = initial_accumulator_value;
  o.eps = eps;
  o.maximize = maximize;
  return o;
}

O::RMSpropOptions rmsprop_options(double lr, double alpha, double eps, double weight_decay, double momentum,
                                  bool centered, bool maximize) {
  O::RMSpropOptions o(lr);
  o.alpha = alpha;
  o.eps = eps;
  o.weight_decay = weight_decay;
  o.momentum = momentum;
  o.centered = centered;
  o.maximize = maximize;
  return o;
}

using TensorVec = std::vector<Tensor>;

}  // namespace

void bind_optim(py::module_& m) {
  py::module_ o = m.def_submodule("_optim", "optimizer steps, gradient clipping and weight penalties");

  // ---- option checks (ValueError in torch's words) ----
  o.def("check_sgd_options", [](double lr, double momentum, double dampening, double weight_decay, bool nesterov,
                                bool maximize) {
         O::validate(sgd_options(lr, momentum, dampening, weight_decay, nesterov, maximize));
       })
      .def("check_adam_options", [](double lr, double beta1, double beta2, double eps, double weight_decay,
                                    bool amsgrad, bool maximize, bool decoupled) {
        O::validate(adam_options(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled));
      })
      .def("check_adagrad_options", [](double lr, double lr_decay, double weight_decay, double init, double eps,
                                       bool maximize) {
        O::validate(adagrad_options(lr, lr_decay, weight_decay, init, eps, maximize));
      })
      .def("check_rmsprop_options", [](double lr, double alpha, double eps, double weight_decay, double momentum,
                                       bool centered, bool maximize) {
        O::validate(rmsprop_options(lr, alpha, eps, weight_decay, momentum, centered, maximize));
      });

  // ---- functional steps: one call per parameter group ----
  // momentum_buffers may hold None (a buffer not created yet); the list after the step is returned.
  o.def(
      "sgd_step",
      [](const TensorVec& params, const TensorVec& grads, const std::vector<std::optional<Tensor>>& momentum_buffers,
         double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) {
        TensorVec bufs;
        bufs.reserve(momentum_buffers.size());
        for (const auto& b : momentum_buffers) bufs.push_back(b ? *b : Tensor());
        {
          py::gil_scoped_release nogil;
          O::sgd_step(params, grads, bufs, sgd_options(lr, momentum, dampening, weight_decay, nesterov, maximize));
        }
        return bufs;
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::kw_only(), py::arg("lr"),
      py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"), py::arg("maximize"));

  o.def(
      "adam_step",
      [](const TensorVec& params, const TensorVec& grads, const TensorVec& exp_avgs, const TensorVec& exp_avg_sqs,
         const TensorVec& max_exp_avg_sqs, const TensorVec& state_steps, double lr, double beta1, double beta2,
         double eps, double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay) {
        const O::AdamOptions opt =
            adam_options(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay);
        py::gil_scoped_release nogil;
        O::adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, opt);
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"), py::arg("max_exp_avg_sqs"),
      py::arg("state_steps"), py::kw_only(), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
      py::arg("weight_decay"), py::arg("amsgrad"), py::arg("maximize"), py::arg("decoupled_weight_decay") = false);

  o.def(
      "adagrad_step",
      [](const TensorVec& params, const TensorVec& grads, const TensorVec& state_sums, const TensorVec& state_steps,
         double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
        const O::AdagradOptions opt = adagrad_options(lr, lr_decay, weight_decay, 0.0, eps, maximize);
        py::gil_scoped_release nogil;
        O::adagrad_step(params, grads, state_sums, state_steps, opt);
      },
      py::arg("params"), py::arg("grads"), py::arg("state_sums"), py::arg("state_steps"), py::kw_only(),
      py::arg("lr"), py::arg("lr_decay"), py::arg("weight_decay"), py::arg("eps"), py::arg("maximize"));

  o.def(
      "rmsprop_step",
      [](const TensorVec& params, const TensorVec& grads, const TensorVec& square_avgs, const TensorVec& grad_avgs,
         const TensorVec& momentum_buffers, const TensorVec& state_steps, double lr, double alpha, double eps,
         double weight_decay, double momentum, bool centered, bool maximize) {
        const O::RMSpropOptions opt = rmsprop_options(lr, alpha, eps, weight_decay, momentum, centered, maximize);
        py::gil_scoped_release nogil;
        O::rmsprop_step(params, grads, square_avgs, grad_avgs, momentum_buffers, state_steps, opt);
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("grad_avgs"), py::arg("momentum_buffers"),
      py::arg("state_steps"), py::kw_only(), py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"),
      py::arg("momentum"), py::arg("centered"), py::arg("maximize"));

  // ---- clipping and penalties ----
  o.def("total_norm", &O::total_norm, py::arg("tensors"), py::arg("norm_type") = 2.0,
        py::arg("error_if_nonfinite") = false)
      .def("clip_grads_with_norm_", &O::clip_grads_with_norm_, py::arg("grads"), py::arg("max_norm"),
           py::arg("total_norm"))
      .def("clip_grad_norm_", &O::clip_grad_norm_, py::arg("grads"), py::arg("max_norm"), py::arg("norm_type") = 2.0,
           py::arg("error_if_nonfinite") = false)
      .def("clip_grad_value_", &O::clip_grad_value_, py::arg("grads"), py::arg("clip_value"))
      .def("l1_penalty", &O::l1_penalty, py::arg("params"))
      .def("l2_penalty", &O::l2_penalty, py::arg("params"));
}

}  // namespace ember::py_bind
