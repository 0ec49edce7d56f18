// batch_norm and layer_norm: checks, then the kernels in kernels/cpu/norm.h, each with one fused
// backward node (the closed-form input gradient, not a chain of elementwise nodes).
#include <cmath>
#include <string>

#include "ember/normalization.h"
#include "kernels/cpu/norm.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

Tensor contiguous_no_grad(const Tensor& t) {
  if (!t.defined()) return t;
  autograd::NoGradGuard no_grad;
  return t.contiguous();
}

template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Gradient outputs: null when that gradient is not wanted.
template <typename T>
T* out_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

void check_param(const Tensor& t, const char* what, const Shape& shape, DType dtype, const char* op) {
  if (!t.defined()) return;
  EMBER_CHECK(t.dtype() == dtype, TypeError, op, ": ", what, " dtype ", dtype_name(t.dtype()),
              " differs from input dtype ", dtype_name(dtype));
  EMBER_CHECK(t.shape() == shape, ValueError, op, ": expected ", what, " of shape ", shape, ", got ", t.shape());
}

// r = (1 - momentum) r + momentum s, in place through r's own strides (r is 1-D).
template <typename T>
void blend_into(const Tensor& r, const T* s, double momentum, double scale) {
  T* d = r.data<T>();
  const int64_t st = r.stride(0);
  for (int64_t c = 0; c < r.size(0); ++c)
    d[c * st] = static_cast<T>((1.0 - momentum) * static_cast<double>(d[c * st]) +
                               momentum * scale * static_cast<double>(s[c]));
  r.bump_version();
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  EMBER_CHECK(input.defined(), ValueError, op, ": input must be a tensor");
  EMBER_CHECK(is_floating(input.dtype()), TypeError, op, ": expected a floating-point input, got ",
              dtype_name(input.dtype()));
  EMBER_CHECK(input.dim() >= 2, ValueError, op, ": expected an input of shape [N, C, ...] (2-D or more), got shape ",
              input.shape());
  EMBER_CHECK(eps >= 0 && std::isfinite(eps), ValueError, op, ": eps must be a finite number >= 0, got ", eps);
  const int64_t N = input.size(0), C = input.size(1);
  const int64_t S = N * C > 0 ? input.numel() / (N * C) : 0;
  const Shape cshape{C};
  check_param(weight, "weight", cshape, input.dtype(), op);
  check_param(bias, "bias", cshape, input.dtype(), op);
  check_param(running_mean, "running_mean", cshape, input.dtype(), op);
  check_param(running_var, "running_var", cshape, input.dtype(), op);
  EMBER_CHECK(running_mean.defined() == running_var.defined(), ValueError, op,
              ": running_mean and running_var must be given together");
  EMBER_CHECK(training || running_mean.defined(), ValueError, op,
              ": running_mean and running_var must be given in evaluation mode (training=False)");
  const int64_t count = N * S;
  EMBER_CHECK(!training || count != 1, ValueError, op, ": expected more than 1 value per channel when training, got ",
              "input of shape ", input.shape());

  const Tensor x = contiguous_no_grad(input);
  Tensor out = empty(input.shape(), input.dtype());
  Tensor mean = empty(cshape, input.dtype()), invstd = empty(cshape, input.dtype());
  const Tensor w = contiguous_no_grad(weight), b = contiguous_no_grad(bias);
  dispatch_floating(input.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* m = mean.data<T>();
    T* is = invstd.data<T>();
    if (training) {
      Tensor var = empty(cshape, input.dtype());
      T* v = var.data<T>();
      kernels::batch_norm_stats(x.data<T>(), N, C, S, m, v);
      for (int64_t c = 0; c < C; ++c) is[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(v[c]) + eps));
      // An empty batch has no statistics to blend in.
      if (running_mean.defined() && count > 0) {
        blend_into(running_mean, m, momentum, 1.0);
        blend_into(running_var, v, momentum, static_cast<double>(count) / static_cast<double>(count - 1));
      }
    } else {
      const T* rm = running_mean.data<T>();
      const T* rv = running_var.data<T>();
      const int64_t sm = running_mean.stride(0), sv = running_var.stride(0);
      for (int64_t c = 0; c < C; ++c) {
        m[c] = rm[c * sm];
        is[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(rv[c * sv]) + eps));
      }
    }
    kernels::batch_norm_apply(x.data<T>(), N, C, S, m, is, ptr_or_null<T>(w), ptr_or_null<T>(b), out.data<T>());
  });
  if (!autograd::any_requires_grad({&input, &weight, &bias})) return out;

  const bool need_x = input.requires_grad(), need_w = weight.defined() && weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  SavedTensor sx(need_w || (need_x && training) ? x : Tensor()), sw(need_x ? w : Tensor());
  const Shape shape = input.shape();
  ops::record("BatchNormBackward", {&input, &weight, &bias}, {&out}, [=](const Node& n, TensorList& g) {
    const Tensor gy = g[0].contiguous();
    const Tensor xs = sx.unpack(&n), ws = sw.unpack(&n);
    TensorList r(3);
    if (need_x) r[0] = empty(shape, gy.dtype());
    if (need_w) r[1] = empty({C}, gy.dtype());
    if (need_b) r[2] = empty({C}, gy.dtype());
    dispatch_floating(gy.dtype(), "batch_norm backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      // Without a saved x (eval mode, only dx wanted) the sums that need x are skipped.
      kernels::batch_norm_backward(gy.data<T>(), xs.defined() ? xs.data<T>() : gy.data<T>(), N, C, S,
                                   mean.data<T>(), invstd.data<T>(), ptr_or_null<T>(ws), training,
                                   out_or_null<T>(r[0]), out_or_null<T>(r[1]), out_or_null<T>(r[2]));
    });
    return r;
  });
  return out;
}

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const char* op = "layer_norm";
  EMBER_CHECK(input.defined(), ValueError, op, ": input must be a tensor");
  EMBER_CHECK(is_floating(input.dtype()), TypeError, op, ": expected a floating-point input, got ",
              dtype_name(input.dtype()));
  EMBER_CHECK(eps >= 0 && std::isfinite(eps), ValueError, op, ": eps must be a finite number >= 0, got ", eps);
  const int64_t nd = static_cast<int64_t>(normalized_shape.size());
  EMBER_CHECK(nd >= 1, ValueError, op, ": normalized_shape must have at least one dimension");
  bool fits = input.dim() >= nd;
  for (int64_t i = 0; fits && i < nd; ++i) fits = input.shape()[input.dim() - nd + i] == normalized_shape[i];
  if (!fits) {
    std::string dims;
    for (int64_t s : normalized_shape) dims += ", " + std::to_string(s);
    throw ValueError(str(op, ": given normalized_shape=", normalized_shape, ", expected input with shape [*", dims,
                         "], but got input of shape ", input.shape()));
  }
  check_param(weight, "weight", normalized_shape, input.dtype(), op);
  check_param(bias, "bias", normalized_shape, input.dtype(), op);
  const int64_t D = shape_numel(normalized_shape);
  int64_t rows = 1;
  for (int64_t d = 0; d < input.dim() - nd; ++d) rows *= input.size(d);

  const Tensor x = contiguous_no_grad(input);
  const Tensor w = contiguous_no_grad(weight), b = contiguous_no_grad(bias);
  Tensor out = empty(input.shape(), input.dtype());
  Tensor mean = empty({rows}, input.dtype()), rstd = empty({rows}, input.dtype());
  dispatch_floating(input.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::layer_norm_forward(x.data<T>(), rows, D, ptr_or_null<T>(w), ptr_or_null<T>(b), eps, out.data<T>(),
                                mean.data<T>(), rstd.data<T>());
  });
  if (!autograd::any_requires_grad({&input, &weight, &bias})) return out;

  const bool need_x = input.requires_grad(), need_w = weight.defined() && weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  SavedTensor sx(x), sw(need_x ? w : Tensor());
  const Shape shape = input.shape(), pshape = normalized_shape;
  ops::record("LayerNormBackward", {&input, &weight, &bias}, {&out}, [=](const Node& n, TensorList& g) {
    const Tensor gy = g[0].contiguous();
    const Tensor xs = sx.unpack(&n), ws = sw.unpack(&n);
    TensorList r(3);
    if (need_x) r[0] = empty(shape, gy.dtype());
    if (need_w) r[1] = empty(pshape, gy.dtype());
    if (need_b) r[2] = empty(pshape, gy.dtype());
    dispatch_floating(gy.dtype(), "layer_norm backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::layer_norm_backward(gy.data<T>(), xs.data<T>(), rows, D, mean.data<T>(), rstd.data<T>(),
                                   ptr_or_null<T>(ws), out_or_null<T>(r[0]), out_or_null<T>(r[1]),
                                   out_or_null<T>(r[2]));
    });
    return r;
  });
  return out;
}

}  // namespace ember::functional
