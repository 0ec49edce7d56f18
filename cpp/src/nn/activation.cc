// Activation modules: one call each into the ops Python's ember.nn activations call.
#include "ember/nn/activation.h"

#include "ember/activation.h"
#include "ember/error.h"
#include "ember/ops.h"

namespace ember::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor ReLU6::forward(const Tensor& x) { return functional::relu6(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor SELU::forward(const Tensor& x) { return functional::selu(x); }
Tensor SiLU::forward(const Tensor& x) { return functional::silu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return functional::leaky_relu(x, negative_slope); }
std::string LeakyReLU::extra_repr() const { return str("negative_slope=", negative_slope); }

Tensor ELU::forward(const Tensor& x) { return functional::elu(x, alpha); }
std::string ELU::extra_repr() const { return str("alpha=", alpha); }

GELU::GELU(std::string approximate_) : Module("GELU"), approximate(std::move(approximate_)) {
  EMBER_CHECK(approximate == "none" || approximate == "tanh", ValueError,
              "GELU: approximate must be 'none' or 'tanh', got '", approximate, "'");
}
Tensor GELU::forward(const Tensor& x) { return functional::gelu(x, approximate); }
std::string GELU::extra_repr() const { return "approximate=" + approximate; }

Tensor Softplus::forward(const Tensor& x) { return functional::softplus(x, beta, threshold); }
std::string Softplus::extra_repr() const { return str("beta=", beta, ", threshold=", threshold); }

Hardtanh::Hardtanh(double min_val_, double max_val_) : Module("Hardtanh"), min_val(min_val_), max_val(max_val_) {
  EMBER_CHECK(max_val > min_val, ValueError, "Hardtanh: max_val (", max_val, ") must be greater than min_val (",
              min_val, ")");
}
Tensor Hardtanh::forward(const Tensor& x) { return functional::hardtanh(x, min_val, max_val); }
std::string Hardtanh::extra_repr() const { return str("min_val=", min_val, ", max_val=", max_val); }

Maxout::Maxout(int64_t pieces_, int64_t dim_) : Module("Maxout"), pieces(pieces_), dim(dim_) {
  EMBER_CHECK(pieces > 0, ValueError, "Maxout: pieces must be positive, got ", pieces);
}
Tensor Maxout::forward(const Tensor& x) { return functional::maxout(x, pieces, dim); }
std::string Maxout::extra_repr() const { return str("pieces=", pieces, ", dim=", dim); }

Tensor Softmax::forward(const Tensor& x) { return functional::softmax(x, dim); }
std::string Softmax::extra_repr() const { return str("dim=", dim); }

Tensor LogSoftmax::forward(const Tensor& x) { return functional::log_softmax(x, dim); }
std::string LogSoftmax::extra_repr() const { return str("dim=", dim); }

}  // namespace ember::nn
