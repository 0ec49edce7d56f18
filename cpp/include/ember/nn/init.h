// Weight initialisation in place (no autograd recording), torch.nn.init's formulas, drawing from
// ember's global generator exactly as Python's ember.nn.init does (same op sequence, same bits).
#pragma once

#include <optional>
#include <string>

#include "ember/tensor.h"

namespace ember::nn::init {

// torch.nn.init.calculate_gain: 1 for linear/conv/sigmoid, 5/3 tanh, √2 relu,
// √(2 / (1 + slope²)) leaky_relu (slope defaults to 0.01), 3/4 selu; ValueError otherwise.
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);
// (fan_in, fan_out) of a weight with >= 2 dims: size(1) and size(0) times the receptive field.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

Tensor& uniform_(Tensor& tensor, double a = 0.0, double b = 1.0);
Tensor& normal_(Tensor& tensor, double mean = 0.0, double std = 1.0);
Tensor& constant_(Tensor& tensor, double value);
Tensor& zeros_(Tensor& tensor);
Tensor& ones_(Tensor& tensor);
Tensor& xavier_uniform_(Tensor& tensor, double gain = 1.0);
Tensor& xavier_normal_(Tensor& tensor, double gain = 1.0);
// mode "fan_in" or "fan_out"; a is the leaky_relu slope.
Tensor& kaiming_uniform_(Tensor& tensor, double a = 0.0, const std::string& mode = "fan_in",
                         const std::string& nonlinearity = "leaky_relu");
Tensor& kaiming_normal_(Tensor& tensor, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");

}  // namespace ember::nn::init
