// conv1d / conv2d ops: validation, then the im2col+GEMM kernels in kernels/cpu/conv.h for the
// forward pass and for all three gradients.
#include "ember/convolution.h"
#include "kernels/cpu/conv.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

kernels::Conv2dParams make_params(const Tensor& x, const Tensor& w, Int2 stride, Int2 padding, Int2 dilation,
                                  int64_t groups) {
  kernels::Conv2dParams p;
  p.N = x.size(0), p.C_in = x.size(1), p.H = x.size(2), p.W = x.size(3);
  p.C_out = w.size(0), p.kH = w.size(2), p.kW = w.size(3);
  p.stride_h = stride[0], p.stride_w = stride[1];
  p.pad_h = padding[0], p.pad_w = padding[1];
  p.dilation_h = dilation[0], p.dilation_w = dilation[1];
  p.groups = groups;
  return p;
}

void check_conv(const Tensor& x, const Tensor& w, const Tensor& b, Int2 stride, Int2 padding, Int2 dilation,
                int64_t groups, const char* op) {
  EMBER_CHECK(x.defined() && w.defined(), ValueError, op, ": input and weight must be tensors");
  EMBER_CHECK(is_floating(x.dtype()), TypeError, op, ": expected a floating-point input, got ", dtype_name(x.dtype()));
  EMBER_CHECK(x.dtype() == w.dtype(), TypeError, op, ": input (", dtype_name(x.dtype()), ") and weight (",
              dtype_name(w.dtype()), ") must have the same dtype");
  EMBER_CHECK(x.dim() == 4, ValueError, op, ": expected a 4-D input [N, C, H, W], got shape ", x.shape());
  EMBER_CHECK(w.dim() == 4, ValueError, op, ": expected a 4-D weight [C_out, C_in/groups, kH, kW], got shape ",
              w.shape());
  EMBER_CHECK(groups >= 1, ValueError, op, ": groups must be positive, got ", groups);
  EMBER_CHECK(stride[0] >= 1 && stride[1] >= 1, ValueError, op, ": stride must be positive, got [", stride[0], ", ",
              stride[1], "]");
  EMBER_CHECK(dilation[0] >= 1 && dilation[1] >= 1, ValueError, op, ": dilation must be positive");
  EMBER_CHECK(padding[0] >= 0 && padding[1] >= 0, ValueError, op, ": padding must be non-negative");
  EMBER_CHECK(w.size(0) % groups == 0, ValueError, op, ": out_channels (", w.size(0), ") must be divisible by groups (",
              groups, ")");
  EMBER_CHECK(x.size(1) == w.size(1) * groups, ValueError, op, ": expected input with ", w.size(1) * groups,
              " channels (weight ", w.shape(), ", groups ", groups, "), but got input of shape ", x.shape());
  if (b.defined()) {
    EMBER_CHECK(b.dtype() == x.dtype(), TypeError, op, ": bias dtype ", dtype_name(b.dtype()), " differs from input ",
                dtype_name(x.dtype()));
    EMBER_CHECK(b.dim() == 1 && b.size(0) == w.size(0), ValueError, op, ": expected bias of shape [", w.size(0),
                "], got ", b.shape());
  }
  kernels::Conv2dParams p = make_params(x, w, stride, padding, dilation, groups);
  const char* err = kernels::conv2d_params_error(p);
  EMBER_CHECK(err == nullptr, ValueError, op, ": ", err ? err : "", " (input ", x.shape(), ", weight ", w.shape(),
              ", padding [", padding[0], ", ", padding[1], "], dilation [", dilation[0], ", ", dilation[1], "])");
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Int2 stride, Int2 padding, Int2 dilation,
              int64_t groups) {
  EMBER_CHECK(input.defined(), ValueError, "conv2d: input must be a tensor");
  if (input.dim() == 3) return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  check_conv(input, weight, bias, stride, padding, dilation, groups, "conv2d");
  Tensor x = input.contiguous(), w = weight.contiguous();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  const kernels::Conv2dParams p = make_params(x, w, stride, padding, dilation, groups);
  Tensor out = empty({p.N, p.C_out, p.out_h(), p.out_w()}, x.dtype());
  dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::conv2d_forward(p, x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr, out.data<T>());
  });
  if (!autograd::any_requires_grad({&input, &weight, &bias})) return out;
  const bool need_x = input.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  SavedTensor sx(need_w ? x : Tensor()), sw(need_x ? w : Tensor());
  ops::record("Conv2dBackward", {&input, &weight, &bias}, {&out}, [=](const Node& n, TensorList& g) {
    Tensor go = g[0].contiguous();
    TensorList r(3);
    dispatch_floating(go.dtype(), "conv2d backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (need_x) {
        r[0] = empty({p.N, p.C_in, p.H, p.W}, go.dtype());
        kernels::conv2d_backward_input(p, go.data<T>(), sw.unpack(&n).template data<T>(), r[0].data<T>());
      }
      if (need_w) {
        r[1] = empty({p.C_out, p.C_in / p.groups, p.kH, p.kW}, go.dtype());
        kernels::conv2d_backward_weight(p, sx.unpack(&n).template data<T>(), go.data<T>(), r[1].data<T>());
      }
      if (need_b) {
        r[2] = empty({p.C_out}, go.dtype());
        kernels::conv2d_backward_bias(p, go.data<T>(), r[2].data<T>());
      }
    });
    return r;
  });
  return out;
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation, int64_t groups) {
  EMBER_CHECK(input.defined() && weight.defined(), ValueError, "conv1d: input and weight must be tensors");
  if (input.dim() == 2) return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  EMBER_CHECK(input.dim() == 3, ValueError, "conv1d: expected a 3-D input [N, C, L], got shape ", input.shape());
  EMBER_CHECK(weight.dim() == 3, ValueError, "conv1d: expected a 3-D weight [C_out, C_in/groups, k], got shape ",
              weight.shape());
  // 1-D is 2-D with H = 1: views, so the gradients flow back through the unsqueezes.
  Tensor out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, {0, padding}, {1, dilation}, groups);
  return out.squeeze(2);
}

}  // namespace ember::functional
