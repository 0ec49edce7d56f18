// Linear, convolutions, pooling, Flatten/Unflatten, Identity, Embedding, Dropout: thin modules
// over ember::functional (the ops python/ember/nn/layers.py calls), initialised as torch does.
#include "ember/nn/layers.h"

#include <cmath>
#include <sstream>

#include "ember/activation.h"
#include "ember/autograd.h"
#include "ember/convolution.h"
#include "ember/error.h"
#include "ember/nn/init.h"
#include "ember/normalization.h"
#include "ember/ops.h"

namespace ember::nn {

namespace {

void check_positive(const char* name, int64_t v) {
  EMBER_CHECK(v > 0, ValueError, name, " must be a positive integer, got ", v);
}

void check_float(const char* layer, DType t) {
  EMBER_CHECK(is_floating(t), TypeError, layer, ": parameters must be float32 or float64, got ", dtype_name(t));
}

const char* py_bool(bool b) { return b ? "True" : "False"; }

std::string tuple(const Size2& s) { return str("(", s.h, ", ", s.w, ")"); }

// Weight ~ kaiming_uniform(a = √5), bias ~ U(-1/√fan_in, 1/√fan_in): torch's default for
// Linear and the convolutions (python/ember/nn/layers.py draws in the same order).
void reset_affine(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    double bound = fan_in ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

// ---- Linear --------------------------------------------------------------------------------

Linear::Linear(const LinearOptions& o) : Module("Linear"), options(o) {
  check_positive("in_features", o.in_features());
  check_positive("out_features", o.out_features());
  check_float("Linear", o.dtype());
  weight = register_parameter("weight", empty({o.out_features(), o.in_features()}, o.dtype()));
  bias = register_parameter("bias", o.bias() ? empty({o.out_features()}, o.dtype()) : Tensor());
  reset_parameters();
}

void Linear::reset_parameters() { reset_affine(weight, bias); }

Tensor Linear::forward(const Tensor& input) { return functional::linear(input, weight, bias); }

std::string Linear::extra_repr() const {
  return str("in_features=", options.in_features(), ", out_features=", options.out_features(),
             ", bias=", py_bool(bias.defined()));
}

// ---- convolutions --------------------------------------------------------------------------

namespace {

void check_conv(const char* layer, int64_t in, int64_t out, int64_t groups) {
  check_positive("in_channels", in);
  check_positive("out_channels", out);
  check_positive("groups", groups);
  EMBER_CHECK(in % groups == 0 && out % groups == 0, ValueError, layer, ": in_channels (", in,
              ") and out_channels (", out, ") must be divisible by groups (", groups, ")");
}

// The explicit padding of one dim; "same" keeps the size: d (k - 1) / 2 on each side.
int64_t resolve_padding(const char* layer, int64_t explicit_pad, bool same, bool valid, int64_t kernel,
                        int64_t dilation, int64_t stride) {
  if (valid) return 0;
  if (!same) {
    EMBER_CHECK(explicit_pad >= 0, ValueError, layer, ": padding must be non-negative, got ", explicit_pad);
    return explicit_pad;
  }
  EMBER_CHECK(stride == 1, ValueError, layer, ": padding='same' is not supported for strided convolutions");
  int64_t total = dilation * (kernel - 1);
  if (total % 2) {
    throw NotImplementedError(str(layer, ": padding='same' with an even effective kernel size needs asymmetric "
                                  "padding, which is not supported; pad explicitly"));
  }
  return total / 2;
}

}  // namespace

Conv1d::Conv1d(const Conv1dOptions& o) : Module("Conv1d"), options(o) {
  check_conv("Conv1d", o.in_channels(), o.out_channels(), o.groups());
  EMBER_CHECK(o.kernel_size() > 0 && o.stride() > 0 && o.dilation() > 0, ValueError,
              "Conv1d: kernel_size, stride and dilation must be positive");
  using Mode = ConvPadding<1>::Mode;
  padding = resolve_padding("Conv1d", o.padding().sizes[0], o.padding().mode == Mode::Same,
                            o.padding().mode == Mode::Valid, o.kernel_size(), o.dilation(), o.stride());
  check_float("Conv1d", o.dtype());
  weight = register_parameter(
      "weight", empty({o.out_channels(), o.in_channels() / o.groups(), o.kernel_size()}, o.dtype()));
  bias = register_parameter("bias", o.bias() ? empty({o.out_channels()}, o.dtype()) : Tensor());
  reset_parameters();
}

void Conv1d::reset_parameters() { reset_affine(weight, bias); }

Tensor Conv1d::forward(const Tensor& input) {
  return functional::conv1d(input, weight, bias, options.stride(), padding, options.dilation(), options.groups());
}

std::string Conv1d::extra_repr() const {
  std::string s = str(options.in_channels(), ", ", options.out_channels(), ", kernel_size=(", options.kernel_size(),
                      ",), stride=(", options.stride(), ",)");
  if (padding != 0) s += str(", padding=(", padding, ",)");
  if (options.dilation() != 1) s += str(", dilation=(", options.dilation(), ",)");
  if (options.groups() != 1) s += str(", groups=", options.groups());
  if (!bias.defined()) s += ", bias=False";
  return s;
}

Conv2d::Conv2d(const Conv2dOptions& o) : Module("Conv2d"), options(o), padding(0) {
  check_conv("Conv2d", o.in_channels(), o.out_channels(), o.groups());
  const Size2 &k = o.kernel_size(), &s = o.stride(), &d = o.dilation();
  EMBER_CHECK(k.h > 0 && k.w > 0 && s.h > 0 && s.w > 0 && d.h > 0 && d.w > 0, ValueError,
              "Conv2d: kernel_size, stride and dilation must be positive");
  using Mode = ConvPadding<2>::Mode;
  const ConvPadding<2>& p = o.padding();
  // "same" with a stride in either dim is refused, as torch does
  int64_t stride_any = (s.h == 1 && s.w == 1) ? 1 : 2;
  padding.h = resolve_padding("Conv2d", p.sizes[0], p.mode == Mode::Same, p.mode == Mode::Valid, k.h, d.h, stride_any);
  padding.w = resolve_padding("Conv2d", p.sizes[1], p.mode == Mode::Same, p.mode == Mode::Valid, k.w, d.w, stride_any);
  check_float("Conv2d", o.dtype());
  weight = register_parameter("weight", empty({o.out_channels(), o.in_channels() / o.groups(), k.h, k.w}, o.dtype()));
  bias = register_parameter("bias", o.bias() ? empty({o.out_channels()}, o.dtype()) : Tensor());
  reset_parameters();
}

void Conv2d::reset_parameters() { reset_affine(weight, bias); }

Tensor Conv2d::forward(const Tensor& input) {
  return functional::conv2d(input, weight, bias, options.stride().array(), padding.array(),
                            options.dilation().array(), options.groups());
}

std::string Conv2d::extra_repr() const {
  std::string s = str(options.in_channels(), ", ", options.out_channels(), ", kernel_size=",
                      tuple(options.kernel_size()), ", stride=", tuple(options.stride()));
  if (padding != Size2(0)) s += ", padding=" + tuple(padding);
  if (options.dilation() != Size2(1)) s += ", dilation=" + tuple(options.dilation());
  if (options.groups() != 1) s += str(", groups=", options.groups());
  if (!bias.defined()) s += ", bias=False";
  return s;
}

// ---- pooling -------------------------------------------------------------------------------

Tensor MaxPool1d::forward(const Tensor& input) {
  const auto& o = options;
  return functional::max_pool1d(input, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}

std::string MaxPool1d::extra_repr() const {
  return str("kernel_size=", options.kernel_size(), ", stride=", options.stride(), ", padding=", options.padding());
}

Tensor MaxPool2d::forward(const Tensor& input) {
  const auto& o = options;
  return functional::max_pool2d(input, o.kernel_size().array(), o.stride().array(), o.padding().array(),
                                o.dilation().array(), o.ceil_mode());
}

std::pair<Tensor, Tensor> MaxPool2d::forward_with_indices(const Tensor& input) {
  const auto& o = options;
  return functional::max_pool2d_with_indices(input, o.kernel_size().array(), o.stride().array(), o.padding().array(),
                                             o.dilation().array(), o.ceil_mode());
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + tuple(options.kernel_size()) + ", stride=" + tuple(options.stride()) +
         ", padding=" + tuple(options.padding());
}

Tensor AvgPool2d::forward(const Tensor& input) {
  const auto& o = options;
  return functional::avg_pool2d(input, o.kernel_size().array(), o.stride().array(), o.padding().array(),
                                o.ceil_mode(), o.count_include_pad());
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + tuple(options.kernel_size()) + ", stride=" + tuple(options.stride()) +
         ", padding=" + tuple(options.padding());
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& input) {
  return functional::adaptive_avg_pool2d(input, output_size.array());
}

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + tuple(output_size); }

// ---- dropout -------------------------------------------------------------------------------

Dropout::Dropout(double p) : Dropout("Dropout", p) {}

Dropout::Dropout(const char* type_name, double p_) : Module(type_name), p(p_) {
  EMBER_CHECK(p >= 0.0 && p <= 1.0, ValueError, "dropout probability has to be between 0 and 1, but got ", p);
}

Tensor Dropout::forward(const Tensor& input) { return functional::dropout(input, p, is_training()); }

Tensor Dropout2d::forward(const Tensor& input) { return functional::dropout2d(input, p, is_training()); }

std::string Dropout::extra_repr() const { return str("p=", p); }

// ---- shapes --------------------------------------------------------------------------------

Tensor Flatten::forward(const Tensor& input) { return input.flatten(start_dim, end_dim); }

std::string Flatten::extra_repr() const { return str("start_dim=", start_dim, ", end_dim=", end_dim); }

Tensor Unflatten::forward(const Tensor& input) {
  EMBER_CHECK(input.dim() > 0, ValueError, "Unflatten: the input must have at least one dim");
  int64_t d = wrap_dim(dim, input.dim());
  Shape s(input.shape().begin(), input.shape().begin() + d);
  s.insert(s.end(), sizes.begin(), sizes.end());
  s.insert(s.end(), input.shape().begin() + d + 1, input.shape().end());
  // reshape rejects sizes whose product differs from input.size(d) (with the other dims fixed)
  int64_t known = 1, unknown = 0;
  for (int64_t v : sizes) {
    if (v == -1) {
      ++unknown;
    } else {
      EMBER_CHECK(v >= 0, ValueError, "Unflatten: sizes must be non-negative or -1, got ", sizes);
      known *= v;
    }
  }
  EMBER_CHECK(unknown <= 1, ValueError, "Unflatten: only one size can be -1, got ", sizes);
  EMBER_CHECK(unknown ? known != 0 && input.size(d) % known == 0 : known == input.size(d), ValueError,
              "Unflatten: sizes ", sizes, " don't multiply to the size of dim ", d, " of the input ", input.shape());
  return input.reshape(s);
}

std::string Unflatten::extra_repr() const {
  std::ostringstream os;
  os << "dim=" << dim << ", unflattened_size=(";
  for (size_t i = 0; i < sizes.size(); ++i) os << (i ? ", " : "") << sizes[i];
  os << (sizes.size() == 1 ? ",)" : ")");
  return os.str();
}

// ---- Embedding -----------------------------------------------------------------------------

Embedding::Embedding(const EmbeddingOptions& o) : Module("Embedding"), options(o) {
  check_positive("num_embeddings", o.num_embeddings());
  check_positive("embedding_dim", o.embedding_dim());
  check_float("Embedding", o.dtype());
  if (o.padding_idx()) {
    int64_t p = *o.padding_idx(), n = o.num_embeddings();
    EMBER_CHECK(p >= -n && p < n, ValueError, "padding_idx must be within num_embeddings (", n, "), got ", p);
    options.padding_idx(p < 0 ? p + n : p);
  }
  weight = register_parameter("weight", empty({o.num_embeddings(), o.embedding_dim()}, o.dtype()));
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight);
  if (options.padding_idx()) {
    autograd::NoGradGuard no_grad;
    weight.select(0, *options.padding_idx()).fill_(0.0);
  }
}

Tensor Embedding::forward(const Tensor& indices) {
  return functional::embedding(indices, weight, options.padding_idx());
}

std::string Embedding::extra_repr() const {
  std::string s = str(options.num_embeddings(), ", ", options.embedding_dim());
  if (options.padding_idx()) s += str(", padding_idx=", *options.padding_idx());
  return s;
}

}  // namespace ember::nn
