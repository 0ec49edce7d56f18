// torch.nn.init's formulas. Each draw is the op sequence of python/ember/nn/init.py
// (rand * (b - a) + a, randn * std + mean), so C++ and Python give the same numbers from the
// same seed.
#include "ember/nn/init.h"

#include <cmath>

#include "ember/autograd.h"
#include "ember/error.h"
#include "ember/ops.h"

namespace ember::nn::init {

namespace {
Tensor& assign(Tensor& tensor, const Tensor& value) {
  autograd::NoGradGuard no_grad;
  tensor.copy_(value);
  return tensor;
}

void check_defined(const Tensor& t, const char* fn) {
  EMBER_CHECK(t.defined(), ValueError, fn, ": the tensor is undefined");
  EMBER_CHECK(is_floating(t.dtype()), TypeError, fn, ": expected a float32 or float64 tensor, got ",
              dtype_name(t.dtype()));
}

int64_t fan(const Tensor& t, const std::string& mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  EMBER_CHECK(mode == "fan_in" || mode == "fan_out", ValueError, "Mode ", mode,
              " not supported, please use one of fan_in, fan_out");
  return mode == "fan_in" ? fan_in : fan_out;
}
}  // namespace

double calculate_gain(const std::string& nonlinearity, std::optional<double> param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" ||
      nonlinearity == "conv3d" || nonlinearity == "conv_transpose1d" || nonlinearity == "conv_transpose2d" ||
      nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1 + slope * slope));
  }
  if (nonlinearity == "selu") return 3.0 / 4;
  throw ValueError(str("Unsupported nonlinearity ", nonlinearity));
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  EMBER_CHECK(tensor.defined() && tensor.dim() >= 2, ValueError,
              "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
  int64_t receptive = 1;
  for (int64_t d = 2; d < tensor.dim(); ++d) receptive *= tensor.size(d);
  return {tensor.size(1) * receptive, tensor.size(0) * receptive};
}

Tensor& uniform_(Tensor& tensor, double a, double b) {
  check_defined(tensor, "uniform_");
  EMBER_CHECK(a <= b, ValueError, "uniform_ expects a <= b, got a=", a, ", b=", b);
  return assign(tensor, add(mul(rand(tensor.shape(), tensor.dtype()), b - a), a));
}

Tensor& normal_(Tensor& tensor, double mean, double std) {
  check_defined(tensor, "normal_");
  EMBER_CHECK(std >= 0, ValueError, "normal_ expects std >= 0, got ", std);
  return assign(tensor, add(mul(randn(tensor.shape(), tensor.dtype()), std), mean));
}

Tensor& constant_(Tensor& tensor, double value) {
  EMBER_CHECK(tensor.defined(), ValueError, "constant_: the tensor is undefined");
  autograd::NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor& zeros_(Tensor& tensor) { return constant_(tensor, 0.0); }
Tensor& ones_(Tensor& tensor) { return constant_(tensor, 1.0); }

Tensor& xavier_uniform_(Tensor& tensor, double gain) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(tensor, -bound, bound);
}

Tensor& xavier_normal_(Tensor& tensor, double gain) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return normal_(tensor, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor& kaiming_uniform_(Tensor& tensor, double a, const std::string& mode, const std::string& nonlinearity) {
  int64_t f = fan(tensor, mode);
  double bound = f ? std::sqrt(3.0) * calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(f)) : 0.0;
  return uniform_(tensor, -bound, bound);
}

Tensor& kaiming_normal_(Tensor& tensor, double a, const std::string& mode, const std::string& nonlinearity) {
  int64_t f = fan(tensor, mode);
  double sd = f ? calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(f)) : 0.0;
  return normal_(tensor, 0.0, sd);
}

}  // namespace ember::nn::init
