// Unary elementwise ops and their backward passes. Each backward is one fused loop over the
// saved input or output, never a chain of temporaries.
#include <cmath>

#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember {

using autograd::Node;
using ops::map1;
using ops::map2;
using ops::record;
using ops::SavedTensor;
using ops::TensorList;

namespace {

void check_defined(const Tensor& a, const char* op) { EMBER_CHECK(a.defined(), ValueError, op, ": undefined tensor"); }

// y = f(x) over a floating tensor (integers are promoted to float32, like torch's exp(int)).
template <typename F>
Tensor float_unary(const Tensor& a, const char* op, F f, int64_t cost) {
  check_defined(a, op);
  Tensor x = is_floating(a.dtype()) ? a : a.to(DType::Float32);
  return dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return map1<T, T>(x, [f](T v) { return static_cast<T>(f(v)); }, Tensor(), cost);
  });
}

// Records backward grad_in = df(g, saved) with saved = the input (or output) of the op.
template <typename DF>
void record_unary(const char* name, const Tensor& input, Tensor& out, const Tensor& saved, DF df) {
  if (!autograd::any_requires_grad({&input})) return;
  SavedTensor s(saved);
  DType in_dtype = input.dtype();
  record(name, {&input}, {&out}, [s, df, in_dtype](const Node& n, TensorList& g) {
    Tensor v = s.unpack(&n);
    Tensor r = dispatch_floating(g[0].dtype(), "backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      return map2<T, T>(g[0], ops::as_dtype(v, g[0].dtype()), [df](T gv, T sv) { return static_cast<T>(df(gv, sv)); });
    });
    return TensorList{ops::as_dtype(r, in_dtype)};
  });
}

}  // namespace

Tensor neg(const Tensor& a) {
  check_defined(a, "neg");
  EMBER_CHECK(a.dtype() != DType::Bool, TypeError, "negation of a bool tensor is not supported; use logical_not");
  Tensor out = dispatch_numeric(a.dtype(), "neg", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return map1<T, T>(a, [](T v) { return -v; });
  });
  record("NegBackward", {&a}, {&out}, [](const Node&, TensorList& g) { return TensorList{neg(g[0])}; });
  return out;
}

Tensor exp(const Tensor& a) {
  Tensor out = float_unary(a, "exp", [](auto v) { return std::exp(v); }, 10);
  record_unary("ExpBackward", a, out, out, [](auto g, auto y) { return g * y; });
  return out;
}

Tensor log(const Tensor& a) {
  Tensor out = float_unary(a, "log", [](auto v) { return std::log(v); }, 10);
  record_unary("LogBackward", a, out, a, [](auto g, auto x) { return g / x; });
  return out;
}

Tensor sqrt(const Tensor& a) {
  Tensor out = float_unary(a, "sqrt", [](auto v) { return std::sqrt(v); }, 4);
  record_unary("SqrtBackward", a, out, out, [](auto g, auto y) { return g / (2 * y); });
  return out;
}

Tensor abs(const Tensor& a) {
  check_defined(a, "abs");
  if (a.dtype() == DType::Bool) return a.clone();
  Tensor out = dispatch_numeric(a.dtype(), "abs", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return map1<T, T>(a, [](T v) { return v < 0 ? -v : v; });
  });
  if (is_floating(a.dtype()))
    record_unary("AbsBackward", a, out, a, [](auto g, auto x) { return x > 0 ? g : (x < 0 ? -g : decltype(g)(0)); });
  return out;
}

Tensor sign(const Tensor& a) {
  check_defined(a, "sign");
  if (a.dtype() == DType::Bool) return a.clone();
  Tensor out = dispatch_numeric(a.dtype(), "sign", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return map1<T, T>(a, [](T v) { return static_cast<T>((v > 0) - (v < 0)); });
  });
  record("SignBackward", {&a}, {&out}, [](const Node&, TensorList& g) { return TensorList{zeros_like(g[0])}; });
  return out;
}

Tensor clamp(const Tensor& a, std::optional<double> lo, std::optional<double> hi) {
  check_defined(a, "clamp");
  EMBER_CHECK(lo || hi, ValueError, "clamp: at least one of 'min' or 'max' must not be None");
  Tensor out = dispatch_numeric(a.dtype(), "clamp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T l = lo ? static_cast<T>(*lo) : std::numeric_limits<T>::lowest();
    T h = hi ? static_cast<T>(*hi) : std::numeric_limits<T>::max();
    // min(max(v, l), h): when min > max every element becomes max, as in torch; NaN passes through
    return map1<T, T>(a, [l, h](T v) {
      if (v != v) return v;
      T r = v < l ? l : v;
      return r > h ? h : r;
    });
  });
  if (is_floating(a.dtype())) {
    double l = lo ? *lo : -INFINITY, h = hi ? *hi : INFINITY;
    record_unary("ClampBackward", a, out, a, [l, h](auto g, auto x) { return (x >= l && x <= h) ? g : decltype(g)(0); });
  }
  return out;
}

Tensor sigmoid(const Tensor& a) {
  // exp of a non-positive argument only: no overflow at |x| = 1e4
  Tensor out = float_unary(a, "sigmoid", [](auto v) {
    using T = decltype(v);
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    T e = std::exp(v);
    return e / (T(1) + e);
  }, 12);
  record_unary("SigmoidBackward", a, out, out, [](auto g, auto y) { return g * y * (1 - y); });
  return out;
}

Tensor tanh(const Tensor& a) {
  Tensor out = float_unary(a, "tanh", [](auto v) { return std::tanh(v); }, 12);
  record_unary("TanhBackward", a, out, out, [](auto g, auto y) { return g * (1 - y * y); });
  return out;
}

Tensor relu(const Tensor& a) {
  check_defined(a, "relu");
  Tensor out = dispatch_numeric(a.dtype(), "relu", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return map1<T, T>(a, [](T v) { return v <= T(0) ? T(0) : v; });  // NaN stays NaN
  });
  if (is_floating(a.dtype()))
    record_unary("ReluBackward", a, out, out, [](auto g, auto y) { return y > 0 ? g : decltype(g)(0); });
  return out;
}

}  // namespace ember
