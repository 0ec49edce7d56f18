// The layers of ember::nn: each forward is one call into ember::functional (the ops Python's
// ember.nn calls), and each layer initialises its parameters with torch's default distributions
// from ember's seeded generator (so ember::manual_seed(s) then the same layers in the same order
// give the very numbers Python's ember.nn gives after ember.manual_seed(s)).
#pragma once

#include <optional>
#include <string>

#include "ember/dtype.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"
#include "ember/tensor.h"

namespace ember::nn {

// ---- Identity, Linear ----------------------------------------------------------------------

class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& input) override { return input; }
};

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  EMBER_ARG(int64_t, in_features);
  EMBER_ARG(int64_t, out_features);
  EMBER_ARG(bool, bias) = true;
  EMBER_ARG(DType, dtype) = DType::Float32;
};

// y = x Wᵀ + b; weight [out_features, in_features] ~ U(-1/√in, 1/√in) (kaiming_uniform with
// a = √5), bias [out_features] ~ U(-1/√in, 1/√in).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true)
      : Linear(LinearOptions(in_features, out_features).bias(bias)) {}
  explicit Linear(const LinearOptions& options);
  Tensor forward(const Tensor& input) override;
  void reset_parameters();
  std::string extra_repr() const override;

  LinearOptions options;
  Tensor weight, bias;  // bias undefined without one
};

// ---- convolutions --------------------------------------------------------------------------

struct Conv1dOptions {
  Conv1dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  EMBER_ARG(int64_t, in_channels);
  EMBER_ARG(int64_t, out_channels);
  EMBER_ARG(int64_t, kernel_size);
  EMBER_ARG(int64_t, stride) = 1;
  EMBER_ARG(ConvPadding<1>, padding) = 0;
  EMBER_ARG(int64_t, dilation) = 1;
  EMBER_ARG(int64_t, groups) = 1;
  EMBER_ARG(bool, bias) = true;
  EMBER_ARG(DType, dtype) = DType::Float32;
};

struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  EMBER_ARG(int64_t, in_channels);
  EMBER_ARG(int64_t, out_channels);
  EMBER_ARG(Size2, kernel_size);
  EMBER_ARG(Size2, stride) = 1;
  EMBER_ARG(ConvPadding<2>, padding) = 0;
  EMBER_ARG(Size2, dilation) = 1;
  EMBER_ARG(int64_t, groups) = 1;
  EMBER_ARG(bool, bias) = true;
  EMBER_ARG(DType, dtype) = DType::Float32;
};

// weight [out, in / groups, k] ~ kaiming_uniform(a = √5); bias ~ U(-1/√fan_in, 1/√fan_in) with
// fan_in = in / groups * k. Input [N, C_in, L] or [C_in, L].
class Conv1d : public Module {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : Conv1d(Conv1dOptions(in_channels, out_channels, kernel_size)) {}
  explicit Conv1d(const Conv1dOptions& options);
  Tensor forward(const Tensor& input) override;
  void reset_parameters();
  std::string extra_repr() const override;

  Conv1dOptions options;
  int64_t padding;  // resolved from options.padding ("same" -> sizes)
  Tensor weight, bias;
};

// weight [out, in / groups, kH, kW], initialised as Conv1d. Input [N, C_in, H, W] or [C_in, H, W].
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  explicit Conv2d(const Conv2dOptions& options);
  Tensor forward(const Tensor& input) override;
  void reset_parameters();
  std::string extra_repr() const override;

  Conv2dOptions options;
  Size2 padding;
  Tensor weight, bias;
};

// ---- pooling (no parameters) ---------------------------------------------------------------

// stride defaults to kernel_size, as torch's stride=None.
struct MaxPool1dOptions {
  MaxPool1dOptions(int64_t kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  EMBER_ARG(int64_t, kernel_size);
  EMBER_ARG(int64_t, stride);
  EMBER_ARG(int64_t, padding) = 0;
  EMBER_ARG(int64_t, dilation) = 1;
  EMBER_ARG(bool, ceil_mode) = false;
};

struct MaxPool2dOptions {
  MaxPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  EMBER_ARG(Size2, kernel_size);
  EMBER_ARG(Size2, stride);
  EMBER_ARG(Size2, padding) = 0;
  EMBER_ARG(Size2, dilation) = 1;
  EMBER_ARG(bool, ceil_mode) = false;
};

struct AvgPool2dOptions {
  AvgPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  EMBER_ARG(Size2, kernel_size);
  EMBER_ARG(Size2, stride);
  EMBER_ARG(Size2, padding) = 0;
  EMBER_ARG(bool, ceil_mode) = false;
  EMBER_ARG(bool, count_include_pad) = true;
};

class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(const MaxPool1dOptions& options) : Module("MaxPool1d"), options(options) {}
  explicit MaxPool1d(int64_t kernel_size) : MaxPool1d(MaxPool1dOptions(kernel_size)) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  MaxPool1dOptions options;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& options) : Module("MaxPool2d"), options(options) {}
  explicit MaxPool2d(Size2 kernel_size) : MaxPool2d(MaxPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& input) override;
  // (output, flat indices within each input plane), for max_unpool-style uses.
  std::pair<Tensor, Tensor> forward_with_indices(const Tensor& input);
  std::string extra_repr() const override;
  MaxPool2dOptions options;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const AvgPool2dOptions& options) : Module("AvgPool2d"), options(options) {}
  explicit AvgPool2d(Size2 kernel_size) : AvgPool2d(AvgPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  AvgPool2dOptions options;
};

// Output [.., oh, ow] whatever the input size (torch's bin edges floor(i*H/oh) .. ceil((i+1)*H/oh)).
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : Module("AdaptiveAvgPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  Size2 output_size;
};

// ---- normalisation -------------------------------------------------------------------------

struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
  EMBER_ARG(int64_t, num_features);
  EMBER_ARG(double, eps) = 1e-5;
  // nullopt: the cumulative moving average (momentum = 1 / num_batches_tracked), as torch's None.
  EMBER_ARG(std::optional<double>, momentum) = 0.1;
  EMBER_ARG(bool, affine) = true;
  EMBER_ARG(bool, track_running_stats) = true;
  EMBER_ARG(DType, dtype) = DType::Float32;
};

// Parameters weight (ones) and bias (zeros) when affine; buffers running_mean (zeros),
// running_var (ones) and num_batches_tracked (int64 scalar) when tracking running stats.
// Training: batch statistics, and the running ones updated with momentum; eval: running stats.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  void reset_running_stats();
  void reset_parameters();
  std::string extra_repr() const override;

  BatchNormOptions options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 protected:
  BatchNorm(const char* type_name, const BatchNormOptions& options, int64_t min_dim, int64_t max_dim);
  int64_t min_dim_, max_dim_;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNorm("BatchNorm1d", options, 2, 3) {}
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNorm("BatchNorm2d", options, 4, 4) {}
};

struct LayerNormOptions {
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  EMBER_ARG(Shape, normalized_shape);
  EMBER_ARG(double, eps) = 1e-5;
  EMBER_ARG(bool, elementwise_affine) = true;
  EMBER_ARG(bool, bias) = true;
  EMBER_ARG(DType, dtype) = DType::Float32;
};

// Normalises over the trailing normalized_shape dims; weight (ones) and bias (zeros) of that shape.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(const LayerNormOptions& options);
  explicit LayerNorm(Shape normalized_shape) : LayerNorm(LayerNormOptions(std::move(normalized_shape))) {}
  Tensor forward(const Tensor& input) override;
  void reset_parameters();
  std::string extra_repr() const override;

  LayerNormOptions options;
  Tensor weight, bias;
};

// ---- dropout -------------------------------------------------------------------------------

// Inverted dropout in training (zeroes with probability p, scales the rest by 1/(1-p)); the
// identity in eval. Draws from ember's global generator.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  double p;

 protected:
  Dropout(const char* type_name, double p);
};

// Zeroes whole channels of [N, C, ...] inputs.
class Dropout2d : public Dropout {
 public:
  explicit Dropout2d(double p = 0.5) : Dropout("Dropout2d", p) {}
  Tensor forward(const Tensor& input) override;
};

// ---- shapes and lookups --------------------------------------------------------------------

// Flattens dims start_dim..end_dim into one.
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  int64_t start_dim, end_dim;
};

// Splits dim `dim` into `sizes` (one entry may be -1).
class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, Shape sizes) : Module("Unflatten"), dim(dim), sizes(std::move(sizes)) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  int64_t dim;
  Shape sizes;
};

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  EMBER_ARG(int64_t, num_embeddings);
  EMBER_ARG(int64_t, embedding_dim);
  // Rows at padding_idx start at zero and receive no gradient; negative counts from the end.
  EMBER_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
  EMBER_ARG(DType, dtype) = DType::Float32;
};

// weight [num_embeddings, embedding_dim] ~ N(0, 1); input int64 indices of any shape.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim)
      : Embedding(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  explicit Embedding(const EmbeddingOptions& options);
  Tensor forward(const Tensor& indices) override;
  void reset_parameters();
  std::string extra_repr() const override;

  EmbeddingOptions options;
  Tensor weight;
};

}  // namespace ember::nn
