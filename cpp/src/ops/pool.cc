// Pooling ops (max with indices, average, adaptive average): validation, then the plane-parallel
// kernels in kernels/cpu/pool.h for forward and backward.
#include "ember/convolution.h"
#include "kernels/cpu/pool.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::TensorList;

namespace {

// Accepts [N, C, H, W] or unbatched [C, H, W]; returns the 4-D contiguous input.
Tensor as_batched(const Tensor& input, const char* op, bool& unbatched) {
  EMBER_CHECK(input.defined(), ValueError, op, ": input must be a tensor");
  EMBER_CHECK(is_floating(input.dtype()), TypeError, op, ": expected a floating-point input, got ",
              dtype_name(input.dtype()));
  EMBER_CHECK(input.dim() == 3 || input.dim() == 4, ValueError, op, ": expected a 3-D or 4-D input, got shape ",
              input.shape());
  unbatched = input.dim() == 3;
  return (unbatched ? input.unsqueeze(0) : input).contiguous();
}

kernels::Pool2dParams pool_params(const Tensor& x, Int2 kernel, Int2 stride, Int2 padding, Int2 dilation,
                                  bool ceil_mode, bool count_include_pad, const char* op) {
  kernels::Pool2dParams p;
  p.N = x.size(0), p.C = x.size(1), p.H = x.size(2), p.W = x.size(3);
  p.kH = kernel[0], p.kW = kernel[1];
  p.stride_h = stride[0], p.stride_w = stride[1];
  p.pad_h = padding[0], p.pad_w = padding[1];
  p.dilation_h = dilation[0], p.dilation_w = dilation[1];
  p.ceil_mode = ceil_mode;
  p.count_include_pad = count_include_pad;
  const char* err = kernels::pool2d_params_error(p);
  EMBER_CHECK(err == nullptr, ValueError, op, ": ", err ? err : "", " (input ", x.shape(), ", kernel [", kernel[0],
              ", ", kernel[1], "], stride [", stride[0], ", ", stride[1], "], padding [", padding[0], ", ", padding[1],
              "])");
  return p;
}

Tensor unbatch(const Tensor& t, bool unbatched) { return unbatched ? t.squeeze(0) : t; }

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, Int2 kernel, Int2 stride, Int2 padding,
                                                  Int2 dilation, bool ceil_mode) {
  bool unbatched;
  Tensor x = as_batched(input, "max_pool2d", unbatched);
  const kernels::Pool2dParams p = pool_params(x, kernel, stride, padding, dilation, ceil_mode, true, "max_pool2d");
  Tensor out = empty({p.N, p.C, p.out_h(), p.out_w()}, x.dtype());
  Tensor idx = empty(out.shape(), DType::Int64);
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::max_pool2d_forward(p, x.data<T>(), out.data<T>(), idx.data<int64_t>());
  });
  Tensor indices = idx;
  ops::record("MaxPool2DBackward", {&x}, {&out}, [p, indices](const Node&, TensorList& g) {
    Tensor go = g[0].contiguous();
    Tensor gi = empty({p.N, p.C, p.H, p.W}, go.dtype());
    dispatch_floating(go.dtype(), "max_pool2d backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::max_pool2d_backward(p, go.data<T>(), indices.data<int64_t>(), gi.data<T>());
    });
    return TensorList{gi};
  });
  return {unbatch(out, unbatched), unbatch(idx, unbatched)};
}

Tensor max_pool2d(const Tensor& input, Int2 kernel, Int2 stride, Int2 padding, Int2 dilation, bool ceil_mode) {
  return max_pool2d_with_indices(input, kernel, stride, padding, dilation, ceil_mode).first;
}

Tensor max_pool1d(const Tensor& input, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                  bool ceil_mode) {
  EMBER_CHECK(input.defined() && (input.dim() == 2 || input.dim() == 3), ValueError,
              "max_pool1d: expected a 2-D or 3-D input, got shape ", input.defined() ? input.shape() : Shape{});
  return max_pool2d(input.unsqueeze(-2), {1, kernel}, {1, stride}, {0, padding}, {1, dilation}, ceil_mode).squeeze(-2);
}

Tensor avg_pool2d(const Tensor& input, Int2 kernel, Int2 stride, Int2 padding, bool ceil_mode, bool count_include_pad) {
  bool unbatched;
  Tensor x = as_batched(input, "avg_pool2d", unbatched);
  const kernels::Pool2dParams p =
      pool_params(x, kernel, stride, padding, {1, 1}, ceil_mode, count_include_pad, "avg_pool2d");
  Tensor out = empty({p.N, p.C, p.out_h(), p.out_w()}, x.dtype());
  dispatch_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::avg_pool2d_forward(p, x.data<T>(), out.data<T>());
  });
  ops::record("AvgPool2DBackward", {&x}, {&out}, [p](const Node&, TensorList& g) {
    Tensor go = g[0].contiguous();
    Tensor gi = empty({p.N, p.C, p.H, p.W}, go.dtype());
    dispatch_floating(go.dtype(), "avg_pool2d backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::avg_pool2d_backward(p, go.data<T>(), gi.data<T>());
    });
    return TensorList{gi};
  });
  return unbatch(out, unbatched);
}

Tensor adaptive_avg_pool2d(const Tensor& input, Int2 output_size) {
  bool unbatched;
  Tensor x = as_batched(input, "adaptive_avg_pool2d", unbatched);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), oh = output_size[0], ow = output_size[1];
  EMBER_CHECK(oh >= 1 && ow >= 1, ValueError, "adaptive_avg_pool2d: output size must be positive, got [", oh, ", ", ow,
              "]");
  EMBER_CHECK(H >= 1 && W >= 1, ValueError, "adaptive_avg_pool2d: input spatial size must be positive, got shape ",
              input.shape());
  Tensor out = empty({N, C, oh, ow}, x.dtype());
  dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::adaptive_avg_pool2d_forward(N, C, H, W, oh, ow, x.data<T>(), out.data<T>());
  });
  ops::record("AdaptiveAvgPool2DBackward", {&x}, {&out}, [=](const Node&, TensorList& g) {
    Tensor go = g[0].contiguous();
    Tensor gi = empty({N, C, H, W}, go.dtype());
    dispatch_floating(go.dtype(), "adaptive_avg_pool2d backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::adaptive_avg_pool2d_backward(N, C, H, W, oh, ow, go.data<T>(), gi.data<T>());
    });
    return TensorList{gi};
  });
  return unbatch(out, unbatched);
}

}  // namespace ember::functional
