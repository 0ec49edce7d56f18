// Class-target losses: cross_entropy (fused log-softmax + NLL), nll_loss and multi_margin_loss.
// Each validates shapes, dtypes and every class index up front (IndexError naming the bad
// target), runs one kernel from kernels/cpu/loss.h, sums per-row losses in a fixed order and
// records a single backward node.
#include "ember/loss.h"
#include "kernels/cpu/loss.h"
#include "ops/loss_common.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

// The class weight as a contiguous tensor of the input's dtype (undefined when not given).
Tensor class_weight(const Tensor& weight, int64_t C, DType dt, const char* op) {
  if (!weight.defined()) return Tensor();
  check_float_tensor(weight, op, "weight");
  EMBER_CHECK(weight.dim() == 1 && weight.numel() == C, ValueError, op,
              ": weight tensor should be defined either for all ", C, " classes or no classes but got weight tensor of shape: ", weight.shape());
  check_no_grad(weight, op, "weight");
  return ops::as_dtype(weight, dt).contiguous();
}

// Index targets: int64 with the input's shape minus the class dim.
void check_index_target(const Tensor& input, const Tensor& target, int64_t cdim, const char* op) {
  Shape expect = input.shape();
  expect.erase(expect.begin() + cdim);
  if (target.shape() != expect) {
    EMBER_CHECK(!(input.dim() >= 2 && target.dim() >= 1 && target.size(0) != input.size(0)), ValueError, op,
                ": Expected input batch_size (", input.size(0), ") to match target batch_size (", target.size(0),
                ") (input shape ", input.shape(), ", target shape ", target.shape(), ")");
    throw ValueError(str(op, ": expected a target of shape ", expect, " (class indices) for an input of shape ",
                         input.shape(), ", got ", target.shape()));
  }
  EMBER_CHECK(target.dtype() == DType::Int64, TypeError, op, ": class-index targets must be int64, got ",
              dtype_name(target.dtype()));
}

// Every index in [0, C) or equal to ignore_index; IndexError naming the first bad one.
void check_target_range(const Tensor& tg, int64_t C, bool has_ignore, int64_t ignore_index, const char* op) {
  const int64_t* p = tg.data<int64_t>();
  for (int64_t i = 0, n = tg.numel(); i < n; ++i) {
    const int64_t v = p[i];
    if ((has_ignore && v == ignore_index) || (v >= 0 && v < C)) continue;
    throw IndexError(str(op, ": Target ", v, " is out of bounds: expected class indices in [0, ", C, ")",
                         has_ignore ? str(" or ignore_index=", ignore_index) : std::string(), " (at flat position ",
                         i, " of the target)"));
  }
}

// Class dim moved last and flattened: [rows, C] contiguous (the input itself when 1-D or 2-D).
Tensor to_rows(const Tensor& t, int64_t cdim) {
  const int64_t C = t.size(cdim);
  if (t.dim() <= 2) return t.contiguous().reshape({-1, C});
  Shape perm;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (d != cdim) perm.push_back(d);
  perm.push_back(cdim);
  return t.permute(perm).contiguous().reshape({-1, C});
}

// Inverse of to_rows for a gradient.
Tensor from_rows(const Tensor& rows, const Shape& shape, int64_t cdim) {
  if (shape.size() <= 2) return rows.reshape(shape);
  Shape moved;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    if (d != cdim) moved.push_back(shape[d]);
  moved.push_back(shape[cdim]);
  Shape perm;  // position of each original dim within `moved`
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    perm.push_back(d < cdim ? d : (d == cdim ? static_cast<int64_t>(shape.size()) - 1 : d - 1));
  return rows.reshape(moved).permute(perm).contiguous();
}

// The per-row (or single) multiplier of a loss gradient: g / denom.
template <typename T>
struct Coef {
  Tensor rows;  // reduction none: the incoming gradient, contiguous
  T scalar = 0;
  const T* ptr() const { return rows.defined() ? rows.data<T>() : &scalar; }
  int64_t stride() const { return rows.defined() ? 1 : 0; }
};

template <typename T>
Coef<T> make_coef(const Tensor& g, Reduction r, double denom) {
  Coef<T> c;
  Tensor go = ops::as_dtype(g, dtype_of<T>::value);
  if (r == Reduction::None)
    c.rows = go.contiguous();
  else
    c.scalar = static_cast<T>(go.item() / denom);
  return c;
}

// Reduces per-row losses: none -> reshaped, sum, or sum / denom.
Tensor reduce_rows(const Tensor& loss, const Shape& none_shape, Reduction r, double denom) {
  if (r == Reduction::None) return loss.reshape(none_shape);
  return reduce_sum(loss, r == Reduction::Mean ? denom : 1.0);
}

}  // namespace

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing) {
  const char* op = "cross_entropy";
  check_float_tensor(input, op, "input");
  EMBER_CHECK(target.defined(), ValueError, op, ": target must be a tensor");
  check_reduction(reduction, op, false);
  EMBER_CHECK(input.dim() >= 1, ValueError, op, ": expected an input of shape [C], [N, C] or [N, C, d1, ...], got a "
              "0-d tensor");
  EMBER_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError, op,
              ": label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing);
  const int64_t cdim = input.dim() == 1 ? 0 : 1, C = input.size(cdim);
  EMBER_CHECK(C > 0, ValueError, op, ": the input has no classes (shape ", input.shape(), ")");
  const DType dt = input.dtype();
  const Tensor w = class_weight(weight, C, dt, op);
  const bool probs = target.shape() == input.shape();
  Shape none_shape = input.shape();
  none_shape.erase(none_shape.begin() + cdim);
  Tensor tg;
  if (probs) {
    EMBER_CHECK(is_floating(target.dtype()), TypeError, op, ": Expected floating point type for target with class "
                "probabilities, got ", dtype_name(target.dtype()));
    EMBER_CHECK(ignore_index < 0, ValueError, op, ": ignore_index is not supported for floating point target");
    tg = to_rows(ops::as_dtype(target.detach(), dt), cdim);
  } else {
    check_index_target(input, target, cdim, op);
    tg = target.contiguous();
    check_target_range(tg, C, true, ignore_index, op);
  }
  const Tensor x = to_rows(input.detach(), cdim);  // data only: no view nodes
  const int64_t N = x.size(0);
  const bool need_grad = autograd::any_requires_grad({&input, &target});
  Tensor loss = empty({N}, dt), rw = empty({N}, dt), e, inv_s;
  if (need_grad) {
    e = empty({N, C}, dt);
    inv_s = empty({N}, dt);
  }
  double denom = 1.0;
  Tensor out = dispatch_floating(dt, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::CrossEntropyRows<T> a;
    a.N = N, a.C = C, a.x = x.data<T>();
    a.prob = probs ? tg.data<T>() : nullptr;
    a.index = probs ? nullptr : tg.data<int64_t>();
    a.weight = w.defined() ? w.data<T>() : nullptr;
    a.ignore_index = ignore_index;
    a.smoothing = static_cast<T>(label_smoothing);
    kernels::cross_entropy_forward(a, loss.data<T>(), rw.data<T>(), need_grad ? e.data<T>() : nullptr,
                                   need_grad ? inv_s.data<T>() : nullptr);
    if (reduction == Reduction::Mean)
      denom = probs ? static_cast<double>(N) : static_cast<double>(kernels::ordered_sum(rw.data<T>(), N));
    return reduce_rows(loss, none_shape, reduction, denom);
  });
  if (!need_grad) return out;
  const SavedTensor sx(x), stg(tg);
  const Shape in_shape = input.shape();
  const DType target_dtype = target.dtype();
  ops::record("CrossEntropyLossBackward", {&input, &target}, {&out}, [=](const Node& n, TensorList& g) {
    const Tensor xs = sx.unpack(&n), t = stg.unpack(&n);
    TensorList grads(2);
    dispatch_floating(dt, "cross_entropy backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::CrossEntropyRows<T> a;
      a.N = N, a.C = C, a.x = xs.data<T>();
      a.prob = probs ? t.data<T>() : nullptr;
      a.index = probs ? nullptr : t.data<int64_t>();
      a.weight = w.defined() ? w.data<T>() : nullptr;
      a.ignore_index = ignore_index;
      a.smoothing = static_cast<T>(label_smoothing);
      const Coef<T> c = make_coef<T>(g[0], reduction, denom);
      if (n.next_edges[0].valid()) {
        Tensor gx = empty({N, C}, dt);
        kernels::cross_entropy_backward(a, e.data<T>(), inv_s.data<T>(), c.ptr(), c.stride(), gx.data<T>());
        grads[0] = from_rows(gx, in_shape, cdim);
      }
      if (probs && n.next_edges[1].valid()) {
        Tensor gt = empty({N, C}, dt);
        kernels::cross_entropy_target_backward(a, inv_s.data<T>(), c.ptr(), c.stride(), gt.data<T>());
        grads[1] = ops::as_dtype(from_rows(gt, in_shape, cdim), target_dtype);
      }
    });
    return grads;
  });
  return out;
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                Reduction reduction) {
  const char* op = "nll_loss";
  check_float_tensor(input, op, "input");
  EMBER_CHECK(target.defined(), ValueError, op, ": target must be a tensor");
  check_reduction(reduction, op, false);
  EMBER_CHECK(input.dim() >= 1, ValueError, op, ": expected an input of shape [C], [N, C] or [N, C, d1, ...], got a "
              "0-d tensor");
  const int64_t cdim = input.dim() == 1 ? 0 : 1, C = input.size(cdim);
  const DType dt = input.dtype();
  const Tensor w = class_weight(weight, C, dt, op);
  check_index_target(input, target, cdim, op);
  const Tensor tg = target.contiguous();
  check_target_range(tg, C, true, ignore_index, op);
  const Tensor x = input.detach().contiguous();
  const int64_t N = input.dim() == 1 ? 1 : input.size(0), inner = C == 0 ? 0 : x.numel() / (N * C);
  const int64_t rows = tg.numel();
  Tensor loss = empty({rows}, dt), rw = empty({rows}, dt);
  double denom = 1.0;
  Tensor out = dispatch_floating(dt, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::nll_forward(x.data<T>(), tg.data<int64_t>(), w.defined() ? w.data<T>() : nullptr, N, C, inner,
                         ignore_index, loss.data<T>(), rw.data<T>());
    if (reduction == Reduction::Mean) denom = static_cast<double>(kernels::ordered_sum(rw.data<T>(), rows));
    return reduce_rows(loss, target.shape(), reduction, denom);
  });
  if (!autograd::any_requires_grad({&input})) return out;
  const SavedTensor stg(tg);
  const Shape in_shape = input.shape();
  ops::record("NllLossBackward", {&input}, {&out}, [=](const Node& n, TensorList& g) {
    const Tensor t = stg.unpack(&n);
    Tensor gx = zeros(in_shape, dt);
    dispatch_floating(dt, "nll_loss backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Coef<T> c = make_coef<T>(g[0], reduction, denom);
      kernels::nll_backward(t.data<int64_t>(), w.defined() ? w.data<T>() : nullptr, N, C, inner, ignore_index,
                            c.ptr(), c.stride(), gx.data<T>());
    });
    return TensorList{gx};
  });
  return out;
}

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, int64_t p, double margin, const Tensor& weight,
                         Reduction reduction) {
  const char* op = "multi_margin_loss";
  check_float_tensor(input, op, "input");
  EMBER_CHECK(target.defined(), ValueError, op, ": target must be a tensor");
  check_reduction(reduction, op, false);
  EMBER_CHECK(p == 1 || p == 2, ValueError, op, ": only p == 1 and p == 2 supported (got p=", p, ")");
  EMBER_CHECK((input.dim() == 1 || input.dim() == 2) && input.size(-1) > 0, ValueError, op,
              ": expected a non-empty vector or matrix input ([C] or [N, C]), got shape ", input.shape());
  const int64_t C = input.size(-1), N = input.dim() == 2 ? input.size(0) : 1;
  EMBER_CHECK(target.dim() <= 1 && target.numel() == N, ValueError, op, ": expected a target of ", N,
              " class indices for an input of shape ", input.shape(), ", got shape ", target.shape());
  EMBER_CHECK(target.dtype() == DType::Int64, TypeError, op, ": class-index targets must be int64, got ",
              dtype_name(target.dtype()));
  const DType dt = input.dtype();
  const Tensor w = class_weight(weight, C, dt, op);
  const Tensor tg = target.contiguous();
  check_target_range(tg, C, false, 0, op);
  const Tensor x = input.detach().contiguous();
  Tensor loss = empty({N}, dt);
  const Shape none_shape = input.dim() == 2 ? Shape{N} : Shape{};
  const double denom = reduction == Reduction::Mean ? static_cast<double>(N) : 1.0;
  Tensor out = dispatch_floating(dt, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::multi_margin_forward(x.data<T>(), tg.data<int64_t>(), w.defined() ? w.data<T>() : nullptr, N, C,
                                  static_cast<int>(p), static_cast<T>(margin), loss.data<T>());
    return reduce_rows(loss, none_shape, reduction, denom);
  });
  if (!autograd::any_requires_grad({&input})) return out;
  const SavedTensor sx(x), stg(tg);
  const Shape in_shape = input.shape();
  ops::record("MultiMarginLossBackward", {&input}, {&out}, [=](const Node& n, TensorList& g) {
    const Tensor xs = sx.unpack(&n), t = stg.unpack(&n);
    Tensor gx = empty(in_shape, dt);
    dispatch_floating(dt, "multi_margin_loss backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Coef<T> c = make_coef<T>(g[0], reduction, denom);
      kernels::multi_margin_backward(xs.data<T>(), t.data<int64_t>(), w.defined() ? w.data<T>() : nullptr, N, C,
                                     static_cast<int>(p), static_cast<T>(margin), c.ptr(), c.stride(), gx.data<T>());
    });
    return TensorList{gx};
  });
  return out;
}

}  // namespace ember::functional
