// Pointwise losses (mse, l1, smooth_l1, huber, bce, bce_with_logits, hinge_embedding, kl_div):
// one shared driver. The forward is one fused map over (input, target, weight, pos_weight) plus a
// fixed-order sum; the backward is one fused map per input that needs a gradient. Formulas
// follow torch's CPU kernels; stability comes from the shapes chosen below (softplus written
// with exp(-|x|), BCE logs clamped at -100, as torch does).
#include <array>
#include <cmath>
#include <utility>

#include "ember/loss.h"
#include "ops/elementwise_iter.h"
#include "ops/loss_common.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

// out[i] = f(in_0[i], ..., in_{N-1}[i]) over `shape` (inputs broadcast), all of type T.
template <typename T, size_t N, typename F, size_t... I>
inline T apply_at(const F& f, char* const* p, const int64_t* s, int64_t i, std::index_sequence<I...>) {
  return f(*reinterpret_cast<const T*>(p[I + 1] + i * s[I + 1])...);
}

template <typename T, size_t N, typename F>
Tensor map_n(const Shape& shape, const std::array<const Tensor*, N>& ins, F f, int64_t cost) {
  Tensor out = empty(shape, dtype_of<T>::value);
  auto body = [f](char** p, const int64_t* s, int64_t n) {
    T* o = reinterpret_cast<T*>(p[0]);
    const int64_t so = s[0] / static_cast<int64_t>(sizeof(T));
    for (int64_t i = 0; i < n; ++i) o[i * so] = apply_at<T, N>(f, p, s, i, std::make_index_sequence<N>{});
  };
  cpu::run_loop(ops::make_loop<N + 1>(out, ins.data(), "loss"), body, cost);
  return out;
}

// Per-loss formulas: l(x, t, pw) and its partial derivatives; the weight multiplies outside.
struct MseF {
  template <typename T> T loss(T x, T t, T) const { return (x - t) * (x - t); }
  template <typename T> T dx(T x, T t, T) const { return T(2) * (x - t); }
  template <typename T> T dt(T x, T t, T) const { return T(-2) * (x - t); }
  template <typename T> T dpw(T, T, T) const { return T(0); }
};

struct L1F {
  template <typename T> static T sgn(T d) { return static_cast<T>((d > 0) - (d < 0)); }
  template <typename T> T loss(T x, T t, T) const { return std::abs(x - t); }
  template <typename T> T dx(T x, T t, T) const { return sgn(x - t); }
  template <typename T> T dt(T x, T t, T) const { return -sgn(x - t); }
  template <typename T> T dpw(T, T, T) const { return T(0); }
};

struct SmoothL1F {
  double beta;
  template <typename T> T loss(T x, T t, T) const {
    const T d = std::abs(x - t), b = static_cast<T>(beta);
    return d < b ? T(0.5) * d * d / b : d - T(0.5) * b;
  }
  template <typename T> T dx(T x, T t, T) const {
    const T d = x - t, b = static_cast<T>(beta);
    return d < -b ? T(-1) : (d > b ? T(1) : d / b);
  }
  template <typename T> T dt(T x, T t, T pw) const { return -dx(x, t, pw); }
  template <typename T> T dpw(T, T, T) const { return T(0); }
};

struct HuberF {
  double delta;
  template <typename T> T loss(T x, T t, T) const {
    const T d = std::abs(x - t), k = static_cast<T>(delta);
    return d < k ? T(0.5) * d * d : k * (d - T(0.5) * k);
  }
  template <typename T> T dx(T x, T t, T) const {
    const T d = x - t, k = static_cast<T>(delta);
    return d < -k ? -k : (d > k ? k : d);
  }
  template <typename T> T dt(T x, T t, T pw) const { return -dx(x, t, pw); }
  template <typename T> T dpw(T, T, T) const { return T(0); }
};

// torch: logs clamped at -100 so x = 0 or 1 gives a finite loss; the gradient divides by
// max(x (1 - x), 1e-12) for the same reason.
struct BceF {
  template <typename T> static T clog(T v) { return std::max(std::log(v), T(-100)); }
  template <typename T> T loss(T x, T t, T) const { return (t - T(1)) * clog(T(1) - x) - t * clog(x); }
  template <typename T> T dx(T x, T t, T) const { return (x - t) / std::max((T(1) - x) * x, T(1e-12)); }
  template <typename T> T dt(T x, T t, T) const { return clog(T(1) - x) - clog(x); }
  template <typename T> T dpw(T, T, T) const { return T(0); }
};

// (1 - t) x + lw * softplus(-x) with lw = (pw - 1) t + 1; softplus(-x) = max(-x, 0) + log1p(exp(-|x|)).
struct BceLogitsF {
  template <typename T> static T softplus_neg(T x) { return std::max(-x, T(0)) + std::log1p(std::exp(-std::abs(x))); }
  template <typename T> static T sigmoid(T x) {
    if (x >= 0) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
  template <typename T> T loss(T x, T t, T pw) const {
    return (T(1) - t) * x + ((pw - T(1)) * t + T(1)) * softplus_neg(x);
  }
  template <typename T> T dx(T x, T t, T pw) const { return ((pw - T(1)) * t + T(1)) * sigmoid(x) - pw * t; }
  template <typename T> T dt(T x, T, T pw) const { return -x + (pw - T(1)) * softplus_neg(x); }
  template <typename T> T dpw(T x, T t, T) const { return t * softplus_neg(x); }
};

// torch's composite: where(t != 1, clamp_min(margin - x, 0), 0) + where(t != -1, x, 0); the
// clamp passes the gradient at margin - x == 0.
struct HingeF {
  double margin;
  template <typename T> T loss(T x, T t, T) const {
    const T m = static_cast<T>(margin);
    return (t != T(1) ? std::max(m - x, T(0)) : T(0)) + (t != T(-1) ? x : T(0));
  }
  template <typename T> T dx(T x, T t, T) const {
    const T m = static_cast<T>(margin);
    return (t != T(1) && m - x >= T(0) ? T(-1) : T(0)) + (t != T(-1) ? T(1) : T(0));
  }
  template <typename T> T dt(T, T, T) const { return T(0); }
  template <typename T> T dpw(T, T, T) const { return T(0); }
};

// log_target=false: xlogy(t, t) - t x (0 where t == 0); true: exp(t) (t - x).
struct KlDivF {
  bool log_target;
  template <typename T> T loss(T x, T t, T) const {
    if (log_target) return std::exp(t) * (t - x);
    return (t > 0 ? t * std::log(t) : (t == 0 ? T(0) : T(NAN))) - t * x;
  }
  template <typename T> T dx(T, T t, T) const { return log_target ? -std::exp(t) : -t; }
  template <typename T> T dt(T x, T t, T) const {
    if (log_target) return std::exp(t) * (t - x + T(1));
    return t > 0 ? std::log(t) + T(1) - x : -x;  // the t log t term's derivative taken as 0 at t = 0
  }
  template <typename T> T dpw(T, T, T) const { return T(0); }
};

enum class MeanBy { Count, WeightSum };

struct PointwiseArgs {
  const char* op;
  const char* node;
  Tensor x, t, w, pw;  // w, pw may be undefined
  Reduction reduction;
  MeanBy mean_by = MeanBy::Count;
  bool target_grad = true;  // whether the formula is differentiable in the target
  int64_t cost = 4;
};

Tensor one_like(DType dt) { return scalar_tensor(1.0, dt); }

template <typename Spec>
Tensor pointwise_loss(const PointwiseArgs& a, Spec spec) {
  check_reduction(a.reduction, a.op, a.reduction == Reduction::BatchMean && std::string(a.op) == "kl_div");
  DType dt = a.x.dtype();
  if (is_floating(a.t.dtype())) dt = promote(dt, a.t.dtype());
  const Shape shape = broadcast_checked(a.x, a.t, a.op);
  if (a.w.defined()) broadcast_to_checked(a.w, shape, a.op, "weight");
  if (a.pw.defined()) broadcast_to_checked(a.pw, shape, a.op, "pos_weight");
  // data only (our node carries the gradients); detach shares the storage and its version counter
  const Tensor x = ops::as_dtype(a.x.detach(), dt), t = ops::as_dtype(a.t.detach(), dt);
  const Tensor w = a.w.defined() ? ops::as_dtype(a.w.detach(), dt) : one_like(dt);
  const Tensor pw = a.pw.defined() ? ops::as_dtype(a.pw.detach(), dt) : one_like(dt);
  const int64_t count = shape_numel(shape);

  Tensor elem = dispatch_floating(dt, a.op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return map_n<T, 4>(shape, {&x, &t, &w, &pw},
                       [spec](T xv, T tv, T wv, T pv) { return wv * spec.template loss<T>(xv, tv, pv); }, a.cost);
  });
  // The divisor of the reduction (1 for none / sum).
  double denom = 1.0;
  if (a.reduction == Reduction::Mean)
    denom = a.mean_by == MeanBy::WeightSum ? sum_all(a.w) : static_cast<double>(count);
  else if (a.reduction == Reduction::BatchMean && a.x.dim() > 0)
    denom = static_cast<double>(a.x.size(0));
  Tensor out = a.reduction == Reduction::None ? elem : reduce_sum(elem, denom);

  const Tensor* inputs[] = {&a.x, &a.t, &a.w, &a.pw};
  if (!autograd::any_requires_grad({inputs[0], inputs[1], inputs[2], inputs[3]})) return out;
  // The mean of a weight-sum mean, for the weight's gradient (l_i - L) / sum(w).
  const double L = a.reduction == Reduction::Mean && a.mean_by == MeanBy::WeightSum ? out.item() : 0.0;
  const double coef = 1.0 / denom;
  SavedTensor sx(x), st(t), sw(w), spw(pw);
  const bool has_w = a.w.defined(), target_grad = a.target_grad;
  const bool has_pw = a.pw.defined();
  const Shape xs = a.x.shape(), ts = a.t.shape(), ws = has_w ? a.w.shape() : Shape{};
  const Shape pws = has_pw ? a.pw.shape() : Shape{};
  const DType xd = a.x.dtype(), td = a.t.dtype(), wd = has_w ? a.w.dtype() : dt, pwd = has_pw ? a.pw.dtype() : dt;
  ops::record(a.node, {inputs[0], inputs[1], inputs[2], inputs[3]}, {&out},
              [=](const Node& n, TensorList& g) {
                const Tensor x = sx.unpack(&n), t = st.unpack(&n), w = sw.unpack(&n), pw = spw.unpack(&n);
                const Tensor go = ops::as_dtype(g[0], x.dtype());
                TensorList grads(4);
                dispatch_floating(x.dtype(), "loss backward", [&](auto tag) {
                  using T = typename decltype(tag)::type;
                  const T c = static_cast<T>(coef), Lv = static_cast<T>(L);
                  const std::array<const Tensor*, 5> ins{&go, &x, &t, &w, &pw};
                  if (n.next_edges[0].valid())
                    grads[0] = ops::reduce_grad(
                        map_n<T, 5>(shape, ins, [spec, c](T gv, T xv, T tv, T wv, T pv) {
                          return c * gv * wv * spec.template dx<T>(xv, tv, pv);
                        }, 4), xs, xd);
                  if (n.next_edges[1].valid() && target_grad)
                    grads[1] = ops::reduce_grad(
                        map_n<T, 5>(shape, ins, [spec, c](T gv, T xv, T tv, T wv, T pv) {
                          return c * gv * wv * spec.template dt<T>(xv, tv, pv);
                        }, 4), ts, td);
                  if (n.next_edges[2].valid())
                    grads[2] = ops::reduce_grad(
                        map_n<T, 5>(shape, ins, [spec, c, Lv](T gv, T xv, T tv, T, T pv) {
                          return c * gv * (spec.template loss<T>(xv, tv, pv) - Lv);
                        }, 4), ws, wd);
                  if (n.next_edges[3].valid())
                    grads[3] = ops::reduce_grad(
                        map_n<T, 5>(shape, ins, [spec, c](T gv, T xv, T tv, T wv, T pv) {
                          return c * gv * wv * spec.template dpw<T>(xv, tv, pv);
                        }, 4), pws, pwd);
                });
                return grads;
              });
  return out;
}

PointwiseArgs args(const char* op, const char* node, const Tensor& x, const Tensor& t, Reduction r) {
  check_float_tensor(x, op, "input");
  EMBER_CHECK(t.defined(), ValueError, op, ": target must be a tensor");
  PointwiseArgs a{op, node, x, t, Tensor(), Tensor(), r};
  return a;
}

void check_weight_same_size(const Tensor& w, const Tensor& x, const char* op) {
  if (!w.defined()) return;
  EMBER_CHECK(w.shape() == x.shape(), ValueError, op, ": Weights and input must have the same size (weight ",
              w.shape(), ", input ", x.shape(), ")");
  check_float_tensor(w, op, "weight");
}

void check_float_target(const Tensor& t, const char* op) {
  EMBER_CHECK(is_floating(t.dtype()), TypeError, op, ": expected a floating-point target, got ", dtype_name(t.dtype()));
}

}  // namespace

Reduction reduction_from_string(const std::string& s) {
  if (s == "mean") return Reduction::Mean;
  if (s == "sum") return Reduction::Sum;
  if (s == "none") return Reduction::None;
  if (s == "batchmean") return Reduction::BatchMean;
  throw ValueError(str(s, " is not a valid value for reduction (expected 'none', 'mean' or 'sum')"));
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction, const Tensor& weight) {
  PointwiseArgs a = args("mse_loss", "MseLossBackward", input, target, reduction);
  check_float_target(target, a.op);
  check_weight_same_size(weight, input, a.op);
  a.w = weight;
  a.mean_by = weight.defined() ? MeanBy::WeightSum : MeanBy::Count;
  return pointwise_loss(a, MseF{});
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, const Tensor& weight) {
  PointwiseArgs a = args("l1_loss", "L1LossBackward", input, target, reduction);
  check_float_target(target, a.op);
  check_weight_same_size(weight, input, a.op);
  a.w = weight;
  a.mean_by = weight.defined() ? MeanBy::WeightSum : MeanBy::Count;
  return pointwise_loss(a, L1F{});
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  EMBER_CHECK(beta >= 0, ValueError, "smooth_l1_loss does not support negative values for beta (got ", beta, ")");
  if (beta == 0.0) return l1_loss(input, target, reduction);
  PointwiseArgs a = args("smooth_l1_loss", "SmoothL1LossBackward", input, target, reduction);
  check_float_target(target, a.op);
  return pointwise_loss(a, SmoothL1F{beta});
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta, const Tensor& weight) {
  EMBER_CHECK(delta > 0, ValueError, "huber_loss does not support non-positive values for delta (got ", delta, ")");
  PointwiseArgs a = args("huber_loss", "HuberLossBackward", input, target, reduction);
  check_float_target(target, a.op);
  check_weight_same_size(weight, input, a.op);
  a.w = weight;
  return pointwise_loss(a, HuberF{delta});
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction) {
  PointwiseArgs a = args("binary_cross_entropy", "BinaryCrossEntropyBackward", input, target, reduction);
  check_float_target(target, a.op);
  EMBER_CHECK(target.shape() == input.shape(), ValueError, "binary_cross_entropy: Using a target size (",
              target.shape(), ") that is different to the input size (", input.shape(),
              ") is deprecated. Please ensure they have the same size.");
  if (weight.defined()) check_float_tensor(weight, a.op, "weight");
  check_in_unit_interval(input, a.op);
  a.w = weight;
  return pointwise_loss(a, BceF{});
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        Reduction reduction, const Tensor& pos_weight) {
  PointwiseArgs a = args("binary_cross_entropy_with_logits", "BinaryCrossEntropyWithLogitsBackward", input, target,
                         reduction);
  check_float_target(target, a.op);
  EMBER_CHECK(target.shape() == input.shape(), ValueError, "binary_cross_entropy_with_logits: Target size (",
              target.shape(), ") must be the same as input size (", input.shape(), ")");
  if (weight.defined()) check_float_tensor(weight, a.op, "weight");
  if (pos_weight.defined()) check_float_tensor(pos_weight, a.op, "pos_weight");
  a.w = weight;
  a.pw = pos_weight;
  a.cost = 20;
  return pointwise_loss(a, BceLogitsF{});
}

Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, double margin, Reduction reduction) {
  PointwiseArgs a = args("hinge_embedding_loss", "HingeEmbeddingLossBackward", input, target, reduction);
  EMBER_CHECK(target.dtype() != DType::Bool, TypeError, "hinge_embedding_loss: target must hold 1 or -1 (a numeric "
              "tensor), got bool");
  a.target_grad = false;
  return pointwise_loss(a, HingeF{margin});
}

Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  PointwiseArgs a = args("kl_div", "KlDivBackward", input, target, reduction);
  check_float_target(target, a.op);
  a.cost = 10;
  return pointwise_loss(a, KlDivF{log_target});
}

}  // namespace ember::functional
