// Argument checks and reductions shared by the loss ops (loss.cc, classification_loss.cc).
#pragma once

#include <atomic>

#include "ember/autograd.h"
#include "ember/loss.h"
#include "kernels/cpu/loss.h"
#include "ops/elementwise_iter.h"

namespace ember::functional {

inline void check_reduction(Reduction r, const char* op, bool batchmean_ok) {
  EMBER_CHECK(r != Reduction::BatchMean || batchmean_ok, ValueError, op,
              ": batchmean is not a valid value for reduction (only kl_div accepts it)");
}

inline void check_float_tensor(const Tensor& t, const char* op, const char* what) {
  EMBER_CHECK(t.defined(), ValueError, op, ": ", what, " must be a tensor");
  EMBER_CHECK(is_floating(t.dtype()), TypeError, op, ": expected a floating-point ", what,
              " (float32 or float64), got ", dtype_name(t.dtype()));
}

// The broadcast shape of input and target, with the op named when they do not broadcast.
inline Shape broadcast_checked(const Tensor& x, const Tensor& t, const char* op) {
  try {
    return broadcast_shapes(x.shape(), t.shape());
  } catch (const ValueError&) {
    throw ValueError(str(op, ": the input of shape ", x.shape(), " and the target of shape ", t.shape(),
                         " do not broadcast to a common shape"));
  }
}

inline void broadcast_to_checked(const Tensor& w, const Shape& shape, const char* op, const char* what) {
  bool ok = w.dim() <= static_cast<int64_t>(shape.size());
  for (int64_t i = 1; ok && i <= w.dim(); ++i) {
    const int64_t ws = w.shape()[w.dim() - i], s = shape[shape.size() - i];
    ok = ws == s || ws == 1;
  }
  EMBER_CHECK(ok, ValueError, op, ": ", what, " of shape ", w.shape(), " does not broadcast to the loss shape ", shape);
}

// Sum of all elements as a double, outside autograd.
inline double sum_all(const Tensor& t) {
  autograd::NoGradGuard ng;
  return sum(t).item();
}

// sum(elem) / denom as a 0-d tensor without history (the loss records its own node); elem is a
// fresh contiguous buffer, summed in a fixed order.
inline Tensor reduce_sum(const Tensor& elem, double denom) {
  return dispatch_floating(elem.dtype(), "loss", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T s = kernels::ordered_sum(elem.data<T>(), elem.numel());
    if (denom != 1.0) s = static_cast<T>(s / static_cast<T>(denom));
    return scalar_tensor(static_cast<double>(s), elem.dtype());
  });
}

// torch refuses gradients for class weights of nll_loss / cross_entropy; so do we, up front.
inline void check_no_grad(const Tensor& t, const char* op, const char* what) {
  EMBER_CHECK(!(t.defined() && autograd::grad_enabled() && t.requires_grad()), NotImplementedError, op,
              " is not differentiable with respect to argument '", what, "'; pass ", what, ".detach()");
}

// BCE's inputs must be probabilities (NaN fails too, as in torch).
inline void check_in_unit_interval(const Tensor& x, const char* op) {
  std::atomic<bool> bad{false};
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::run_loop(ops::make_loop<1>(x, nullptr, op), [&bad](char** p, const int64_t* s, int64_t n) {
      bool b = false;
      for (int64_t i = 0; i < n; ++i) {
        const T v = *reinterpret_cast<const T*>(p[0] + i * s[0]);
        b |= !(v >= T(0) && v <= T(1));
      }
      if (b) bad.store(true, std::memory_order_relaxed);
    });
  });
  EMBER_CHECK(!bad.load(), ValueError, op, ": all elements of input should be between 0 and 1 (it holds ",
              "probabilities; apply sigmoid first, or use binary_cross_entropy_with_logits on raw scores)");
}

}  // namespace ember::functional
