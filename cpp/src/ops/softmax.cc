// softmax / log_softmax along any dim: the input viewed as [outer, R, inner], one kernel call
// (kernels/cpu/softmax.h) forward and one backward, saving only the output.
#include "ember/activation.h"
#include "kernels/cpu/softmax.h"
#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

struct Axis {
  int64_t outer = 1, R = 1, inner = 1;
};

Axis split_axis(const Shape& shape, int64_t d) {
  Axis a;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < d) a.outer *= shape[i];
    else if (i == d) a.R = shape[i];
    else a.inner *= shape[i];
  }
  return a;
}

Tensor softmax_impl(const Tensor& input, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  EMBER_CHECK(input.defined(), ValueError, op, ": input must be a tensor");
  EMBER_CHECK(is_floating(input.dtype()), TypeError, op, ": expected a floating-point input (float32 or float64), got ",
              dtype_name(input.dtype()), "; convert it first (e.g. dtype=float32)");
  // a 0-d tensor is one row of one element; dim must then be 0 or -1, as in torch
  const int64_t d = wrap_dim(dim, input.dim() == 0 ? 1 : input.dim());
  const Axis ax = input.dim() == 0 ? Axis{} : split_axis(input.shape(), d);
  Tensor x = input.detach().contiguous();
  Tensor y = empty(input.shape(), input.dtype());
  const bool need_grad = autograd::any_requires_grad({&input});
  // log_softmax keeps exp(x - max) and 1 / sum for its backward (no exp there); softmax keeps y
  Tensor e, inv_s;
  if (need_grad && log) {
    e = empty(input.shape(), input.dtype());
    inv_s = empty({ax.outer * ax.inner}, input.dtype());
  }
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::softmax_forward<T>(x.data<T>(), y.data<T>(), ax.outer, ax.R, ax.inner, log,
                                e.defined() ? e.data<T>() : nullptr, inv_s.defined() ? inv_s.data<T>() : nullptr);
  });
  if (!need_grad) return y;
  const SavedTensor saved = log ? SavedTensor() : SavedTensor(y);
  ops::record(log ? "LogSoftmaxBackward" : "SoftmaxBackward", {&input}, {&y},
              [saved, e, inv_s, ax, log](const Node& n, TensorList& g) {
                const DType dt = log ? e.dtype() : saved.unpack(&n).dtype();
                Tensor go = ops::as_dtype(g[0], dt).contiguous();
                Tensor gx = empty(go.shape(), dt);
                dispatch_floating(dt, "softmax backward", [&](auto tag) {
                  using T = typename decltype(tag)::type;
                  if (log) {
                    kernels::log_softmax_backward<T>(e.data<T>(), inv_s.data<T>(), go.data<T>(), gx.data<T>(),
                                                     ax.outer, ax.R, ax.inner);
                  } else {
                    Tensor out = saved.unpack(&n);
                    kernels::softmax_backward<T>(out.data<T>(), go.data<T>(), gx.data<T>(), ax.outer, ax.R, ax.inner);
                  }
                });
                return TensorList{gx};
              });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& input, int64_t dim) { return softmax_impl(input, dim, false); }
Tensor log_softmax(const Tensor& input, int64_t dim) { return softmax_impl(input, dim, true); }

}  // namespace ember::functional
