// BatchNorm1d/2d and LayerNorm over functional::batch_norm / layer_norm, with the running-stats
// bookkeeping of python/ember/nn/layers.py (_BatchNorm.forward), which follows torch.
#include <sstream>

#include "ember/autograd.h"
#include "ember/error.h"
#include "ember/nn/init.h"
#include "ember/nn/layers.h"
#include "ember/normalization.h"
#include "ember/ops.h"

namespace ember::nn {

namespace {
const char* py_bool(bool b) { return b ? "True" : "False"; }
}  // namespace

BatchNorm::BatchNorm(const char* type_name, const BatchNormOptions& o, int64_t min_dim, int64_t max_dim)
    : Module(type_name), options(o), min_dim_(min_dim), max_dim_(max_dim) {
  EMBER_CHECK(o.num_features() > 0, ValueError, "num_features must be a positive integer, got ", o.num_features());
  EMBER_CHECK(is_floating(o.dtype()), TypeError, type_name, ": parameters must be float32 or float64, got ",
              dtype_name(o.dtype()));
  const int64_t c = o.num_features();
  weight = register_parameter("weight", o.affine() ? ones({c}, o.dtype()) : Tensor());
  bias = register_parameter("bias", o.affine() ? zeros({c}, o.dtype()) : Tensor());
  if (o.track_running_stats()) {
    running_mean = register_buffer("running_mean", zeros({c}, o.dtype()));
    running_var = register_buffer("running_var", ones({c}, o.dtype()));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
  } else {
    register_buffer("running_mean", Tensor());
    register_buffer("running_var", Tensor());
    register_buffer("num_batches_tracked", Tensor());
  }
}

void BatchNorm::reset_running_stats() {
  if (!options.track_running_stats()) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  autograd::NoGradGuard no_grad;
  num_batches_tracked.zero_();
}

void BatchNorm::reset_parameters() {
  reset_running_stats();
  if (options.affine()) {
    init::ones_(weight);
    init::zeros_(bias);
  }
}

Tensor BatchNorm::forward(const Tensor& input) {
  EMBER_CHECK(input.defined(), ValueError, type_name(), ": the input is undefined");
  if (input.dim() < min_dim_ || input.dim() > max_dim_) {
    std::string want = min_dim_ == max_dim_ ? str(min_dim_, "D") : str(min_dim_, "D or ", max_dim_, "D");
    throw ValueError(str(type_name(), ": expected ", want, " input (got ", input.dim(), "D input of shape ",
                         input.shape(), ")"));
  }
  double momentum = options.momentum().value_or(0.0);
  const bool track = options.track_running_stats();
  if (is_training() && track) {
    autograd::NoGradGuard no_grad;
    add_(num_batches_tracked, scalar_tensor(1, DType::Int64));
    if (!options.momentum()) momentum = 1.0 / num_batches_tracked.item();  // cumulative moving average
  }
  // as torch: batch statistics in training (or without running stats), running ones in eval
  const bool use_batch_stats = is_training() || !running_mean.defined();
  const bool keep = !is_training() || track;
  return functional::batch_norm(input, keep ? running_mean : Tensor(), keep ? running_var : Tensor(), weight, bias,
                                use_batch_stats, momentum, options.eps());
}

std::string BatchNorm::extra_repr() const {
  std::ostringstream os;
  os << options.num_features() << ", eps=" << options.eps() << ", momentum=";
  if (options.momentum()) {
    os << *options.momentum();
  } else {
    os << "None";
  }
  os << ", affine=" << py_bool(options.affine()) << ", track_running_stats=" << py_bool(options.track_running_stats());
  return os.str();
}

LayerNorm::LayerNorm(const LayerNormOptions& o) : Module("LayerNorm"), options(o) {
  EMBER_CHECK(!o.normalized_shape().empty(), ValueError, "LayerNorm: normalized_shape must not be empty");
  for (int64_t s : o.normalized_shape()) {
    EMBER_CHECK(s > 0, ValueError, "LayerNorm: normalized_shape must be positive, got ", o.normalized_shape());
  }
  EMBER_CHECK(is_floating(o.dtype()), TypeError, "LayerNorm: parameters must be float32 or float64, got ",
              dtype_name(o.dtype()));
  const bool affine = o.elementwise_affine();
  weight = register_parameter("weight", affine ? ones(o.normalized_shape(), o.dtype()) : Tensor());
  bias = register_parameter("bias", affine && o.bias() ? zeros(o.normalized_shape(), o.dtype()) : Tensor());
}

void LayerNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& input) {
  return functional::layer_norm(input, options.normalized_shape(), weight, bias, options.eps());
}

std::string LayerNorm::extra_repr() const {
  std::ostringstream os;
  os << '(';
  const Shape& s = options.normalized_shape();
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")") << ", eps=" << options.eps()
     << ", elementwise_affine=" << py_bool(options.elementwise_affine());
  return os.str();
}

}  // namespace ember::nn
