// Binary elementwise ops with broadcasting, type promotion and their backward passes.
#include <cmath>

#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember {

using ops::as_dtype;
using ops::map2;
using ops::record;
using ops::reduce_grad;
using ops::SavedTensor;
using ops::TensorList;
using autograd::Node;

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    EMBER_CHECK(x == y || x == 1 || y == 1, ValueError, "shapes ", a, " and ", b,
                " cannot be broadcast together (size ", x, " vs ", y, " at dimension ", i, ")");
    out[i] = x == 1 ? y : x;
  }
  return out;
}

namespace {

void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(a.defined() && b.defined(), ValueError, op, ": undefined tensor argument");
  EMBER_CHECK(a.device() == b.device(), ValueError, op, ": expected both tensors on the same device, got ",
              a.device().str(), " and ", b.device().str());
}

DType arithmetic_type(const Tensor& a, const Tensor& b) {
  DType t = promote(a.dtype(), b.dtype());
  return t == DType::Bool ? DType::Int64 : t;
}

// out = f(a, b) computed in the promoted dtype.
template <typename F>
Tensor arith(const char* op, const Tensor& a, const Tensor& b, F f, DType t) {
  Tensor x = as_dtype(a, t), y = as_dtype(b, t);
  return dispatch_numeric(t, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return map2<T, T>(x, y, f);
  });
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  check_operands(a, b, "add");
  DType t = arithmetic_type(a, b);
  Tensor out = alpha == 1.0 ? arith("add", a, b, [](auto x, auto y) { return x + y; }, t)
                            : dispatch_numeric(t, "add", [&](auto tag) {
                                using T = typename decltype(tag)::type;
                                T al = static_cast<T>(alpha);
                                return map2<T, T>(as_dtype(a, t), as_dtype(b, t), [al](T x, T y) { return x + al * y; });
                              });
  Shape sa = a.shape(), sb = b.shape();
  DType da = a.dtype(), db = b.dtype();
  record("AddBackward", {&a, &b}, {&out}, [=](const Node&, TensorList& g) {
    return TensorList{reduce_grad(g[0], sa, da), reduce_grad(alpha == 1.0 ? g[0] : mul(g[0], alpha), sb, db)};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  check_operands(a, b, "sub");
  EMBER_CHECK(a.dtype() != DType::Bool || b.dtype() != DType::Bool, TypeError,
              "subtraction of two bool tensors is not supported; use logical_xor");
  return add(a, b, -alpha);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "mul");
  Tensor out = arith("mul", a, b, [](auto x, auto y) { return x * y; }, arithmetic_type(a, b));
  if (!autograd::any_requires_grad({&a, &b})) return out;
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  SavedTensor sa(need_a ? b : Tensor()), sb(need_b ? a : Tensor());
  Shape shape_a = a.shape(), shape_b = b.shape();
  DType da = a.dtype(), db = b.dtype();
  record("MulBackward", {&a, &b}, {&out}, [=](const Node& n, TensorList& g) {
    TensorList r(2);
    if (need_a) r[0] = reduce_grad(mul(g[0], sa.unpack(&n)), shape_a, da);
    if (need_b) r[1] = reduce_grad(mul(g[0], sb.unpack(&n)), shape_b, db);
    return r;
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "div");
  DType t = arithmetic_type(a, b);
  if (!is_floating(t)) t = DType::Float32;  // true division, like torch
  Tensor out = arith("div", a, b, [](auto x, auto y) { return x / y; }, t);
  if (!autograd::any_requires_grad({&a, &b})) return out;
  SavedTensor sb(b), sa(b.requires_grad() ? a : Tensor());
  Shape shape_a = a.shape(), shape_b = b.shape();
  DType da = a.dtype(), db = b.dtype();
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  record("DivBackward", {&a, &b}, {&out}, [=](const Node& n, TensorList& g) {
    TensorList r(2);
    Tensor bv = sb.unpack(&n);
    if (need_a) r[0] = reduce_grad(div(g[0], bv), shape_a, da);
    if (need_b) r[1] = reduce_grad(neg(div(mul(g[0], sa.unpack(&n)), mul(bv, bv))), shape_b, db);
    return r;
  });
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "pow");
  DType t = arithmetic_type(a, b);
  Tensor out = dispatch_numeric(t, "pow", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return map2<T, T>(as_dtype(a, t), as_dtype(b, t), [](T x, T y) {
      if constexpr (std::is_integral_v<T>) {
        if (y < 0) return static_cast<T>(x == 1 ? 1 : (x == -1 ? (y % 2 ? -1 : 1) : 0));
        T r = 1;
        for (T e = y, base = x; e > 0; e >>= 1, base *= base)
          if (e & 1) r *= base;
        return r;
      } else {
        return static_cast<T>(std::pow(x, y));
      }
    }, Tensor(), 20);
  });
  if (!autograd::any_requires_grad({&a, &b})) return out;
  SavedTensor sa(a), sb(b), so(b.requires_grad() ? out : Tensor());
  Shape shape_a = a.shape(), shape_b = b.shape();
  DType da = a.dtype(), db = b.dtype();
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  record("PowBackward", {&a, &b}, {&out}, [=](const Node& n, TensorList& g) {
    TensorList r(2);
    Tensor av = sa.unpack(&n), bv = sb.unpack(&n);
    if (need_a) r[0] = reduce_grad(mul(g[0], mul(bv, pow(av, sub(bv, scalar_tensor(1.0, bv.dtype()))))), shape_a, da);
    if (need_b) {
      // d/db a^b = a^b log(a); defined as 0 where a == 0 and b >= 0, as torch does.
      Tensor lg = where(logical_and(compare(av, zeros_like(av), CompareOp::Eq),
                                    compare(bv, zeros_like(bv), CompareOp::Ge)),
                        zeros_like(av), log(av));
      r[1] = reduce_grad(mul(g[0], mul(so.unpack(&n), lg)), shape_b, db);
    }
    return r;
  });
  return out;
}

Tensor pow(const Tensor& a, double e) {
  EMBER_CHECK(a.defined(), ValueError, "pow: undefined tensor argument");
  DType t = a.dtype() == DType::Bool ? DType::Int64 : a.dtype();
  if (!is_floating(t) && (e != std::floor(e) || e < 0)) t = DType::Float32;
  Tensor x = as_dtype(a, t);
  Tensor out = dispatch_numeric(t, "pow", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (e == 2.0) return map2<T, T>(x, x, [](T u, T) { return u * u; });
    T ev = static_cast<T>(e);
    return ops::map1<T, T>(x, [ev](T u) { return static_cast<T>(std::pow(u, ev)); }, Tensor(), 20);
  });
  if (!autograd::any_requires_grad({&a})) return out;
  SavedTensor sa(a);
  record("PowBackward", {&a}, {&out}, [=](const Node& n, TensorList& g) {
    Tensor av = sa.unpack(&n);
    if (e == 0.0) return TensorList{zeros_like(g[0])};
    Tensor d = e == 2.0 ? mul(av, 2.0) : mul(pow(av, e - 1.0), e);
    return TensorList{mul(g[0], d)};
  });
  return out;
}

namespace {
// maximum/minimum: the gradient goes to the larger (smaller) input, split in half on ties.
Tensor extremum(const Tensor& a, const Tensor& b, bool is_max) {
  const char* op = is_max ? "maximum" : "minimum";
  check_operands(a, b, op);
  DType t = arithmetic_type(a, b);
  Tensor out = is_max ? arith(op, a, b, [](auto x, auto y) { return (x > y || x != x) ? x : y; }, t)
                      : arith(op, a, b, [](auto x, auto y) { return (x < y || x != x) ? x : y; }, t);
  if (!autograd::any_requires_grad({&a, &b})) return out;
  SavedTensor sa(a), sb(b);
  Shape shape_a = a.shape(), shape_b = b.shape();
  DType da = a.dtype(), db = b.dtype();
  record(is_max ? "MaximumBackward" : "MinimumBackward", {&a, &b}, {&out}, [=](const Node& n, TensorList& g) {
    Tensor av = as_dtype(sa.unpack(&n), g[0].dtype()), bv = as_dtype(sb.unpack(&n), g[0].dtype());
    Tensor ga = dispatch_floating(g[0].dtype(), op, [&](auto tag) {
      using T = typename decltype(tag)::type;
      return ops::map3<T, T, T, T>(g[0], av, bv, [is_max](T gv, T x, T y) {
        return x == y ? gv / 2 : ((is_max ? x > y : x < y) ? gv : T(0));
      });
    });
    Tensor gb = sub(g[0], ga);
    return TensorList{reduce_grad(ga, shape_a, da), reduce_grad(gb, shape_b, db)};
  });
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(a, b, false); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_operands(a, b, "where");
  EMBER_CHECK(cond.defined() && cond.dtype() == DType::Bool, TypeError, "where: condition must be a bool tensor, got ",
              cond.defined() ? dtype_name(cond.dtype()) : "undefined");
  DType t = promote(a.dtype(), b.dtype());
  Tensor x = as_dtype(a, t), y = as_dtype(b, t);
  Tensor out = dispatch_all(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return ops::map3<T, bool, T, T>(cond, x, y, [](bool c, T u, T v) { return c ? u : v; });
  });
  if (!autograd::any_requires_grad({&a, &b})) return out;
  Tensor c = cond.detach();
  Shape shape_a = a.shape(), shape_b = b.shape();
  DType da = a.dtype(), db = b.dtype();
  record("WhereBackward", {&a, &b}, {&out}, [=](const Node&, TensorList& g) {
    Tensor z = zeros({}, g[0].dtype());
    return TensorList{reduce_grad(where(c, g[0], z), shape_a, da), reduce_grad(where(c, z, g[0]), shape_b, db)};
  });
  return out;
}

// --- scalar forms: the scalar is a 0-d tensor of the tensor's dtype ("weak" type) --------------
namespace {
Tensor weak_scalar(double v, const Tensor& like) {
  DType t = like.dtype();
  if (!is_floating(t) && v != std::floor(v)) t = DType::Float32;
  if (t == DType::Bool) t = DType::Int64;
  return scalar_tensor(v, t);
}
}  // namespace

Tensor add(const Tensor& a, double b) { return add(a, weak_scalar(b, a)); }
Tensor mul(const Tensor& a, double b) { return mul(a, weak_scalar(b, a)); }
Tensor rsub(const Tensor& a, double b) { return sub(weak_scalar(b, a), a); }
Tensor rdiv(const Tensor& a, double b) { return div(weak_scalar(b, a), a); }

// --- comparisons and logic (no gradient) -------------------------------------------------------
Tensor compare(const Tensor& a, const Tensor& b, CompareOp op) {
  check_operands(a, b, "compare");
  DType t = promote(a.dtype(), b.dtype());
  Tensor x = as_dtype(a, t), y = as_dtype(b, t);
  return dispatch_all(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {
      case CompareOp::Eq: return map2<bool, T>(x, y, [](T u, T v) { return u == v; });
      case CompareOp::Ne: return map2<bool, T>(x, y, [](T u, T v) { return u != v; });
      case CompareOp::Lt: return map2<bool, T>(x, y, [](T u, T v) { return u < v; });
      case CompareOp::Le: return map2<bool, T>(x, y, [](T u, T v) { return u <= v; });
      case CompareOp::Gt: return map2<bool, T>(x, y, [](T u, T v) { return u > v; });
      case CompareOp::Ge: return map2<bool, T>(x, y, [](T u, T v) { return u >= v; });
    }
    throw Error("unknown comparison");
  });
}

Tensor logical_not(const Tensor& a) {
  return ops::map1<bool, bool>(as_dtype(a, DType::Bool), [](bool v) { return !v; });
}
Tensor logical_and(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "logical_and");
  return map2<bool, bool>(as_dtype(a, DType::Bool), as_dtype(b, DType::Bool), [](bool u, bool v) { return u && v; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "logical_or");
  return map2<bool, bool>(as_dtype(a, DType::Bool), as_dtype(b, DType::Bool), [](bool u, bool v) { return u || v; });
}
Tensor isnan(const Tensor& a) {
  if (!is_floating(a.dtype())) return zeros(a.shape(), DType::Bool);
  return dispatch_floating(a.dtype(), "isnan", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return ops::map1<bool, T>(a, [](T v) { return v != v; });
  });
}
Tensor isfinite(const Tensor& a) {
  if (!is_floating(a.dtype())) return ones(a.shape(), DType::Bool);
  return dispatch_floating(a.dtype(), "isfinite", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return ops::map1<bool, T>(a, [](T v) { return std::isfinite(v); });
  });
}

// --- in place ------------------------------------------------------------------------------------
namespace {
// self = f(self, other) in self's dtype. Refuses to write a float result into an integer tensor.
template <typename F>
void inplace_binary(Tensor& self, const Tensor& other, const char* op, F f) {
  check_operands(self, other, op);
  autograd::check_inplace(self, op);
  ops::check_no_internal_overlap(self, op);
  DType t = self.dtype();
  EMBER_CHECK(promote(t, other.dtype()) == t || (is_floating(t) && is_floating(other.dtype())), TypeError, op,
              ": result type ", dtype_name(promote(t, other.dtype())), " can't be cast to the desired output type ",
              dtype_name(t));
  Tensor o = as_dtype(other, t);
  if (o.get()->storage == self.get()->storage) o = o.clone();  // aliasing: read before we write
  dispatch_numeric(t, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    map2<T, T>(self, o, f, self);
  });
  self.bump_version();
}
}  // namespace

Tensor& add_(Tensor& self, const Tensor& other, double alpha) {
  if (alpha == 1.0)
    inplace_binary(self, other, "add_", [](auto x, auto y) { return x + y; });
  else
    dispatch_numeric(self.dtype(), "add_", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T al = static_cast<T>(alpha);
      inplace_binary(self, other, "add_", [al](T x, T y) { return x + al * y; });
    });
  Shape so = other.shape();
  DType dt = other.dtype();
  ops::record_inplace("AddBackward", self, {&other}, [=](const Node&, TensorList& g) {
    return TensorList{g[0], reduce_grad(alpha == 1.0 ? g[0] : mul(g[0], alpha), so, dt)};
  });
  return self;
}

Tensor& sub_(Tensor& self, const Tensor& other, double alpha) { return add_(self, other, -alpha); }

Tensor& mul_(Tensor& self, const Tensor& other) {
  bool need_other = autograd::grad_enabled() && other.requires_grad();
  SavedTensor old(need_other ? self.clone() : Tensor()), so(other);
  inplace_binary(self, other, "mul_", [](auto x, auto y) { return x * y; });
  Shape shape_o = other.shape();
  DType dt = other.dtype(), self_dt = self.dtype();
  ops::record_inplace("MulBackward", self, {&other}, [=](const Node& n, TensorList& g) {
    // g * other is promoted to other's dtype; self's old history expects self's dtype
    TensorList r{as_dtype(mul(g[0], so.unpack(&n)), self_dt), Tensor()};
    if (need_other) r[1] = reduce_grad(mul(g[0], old.unpack(&n)), shape_o, dt);
    return r;
  });
  return self;
}

Tensor& div_(Tensor& self, const Tensor& other) {
  EMBER_CHECK(is_floating(self.dtype()), TypeError, "div_: result type float can't be cast to the desired output "
              "type ", dtype_name(self.dtype()));
  bool need_other = autograd::grad_enabled() && other.requires_grad();
  SavedTensor so(other);
  inplace_binary(self, other, "div_", [](auto x, auto y) { return x / y; });
  SavedTensor out(need_other ? self.clone() : Tensor());
  Shape shape_o = other.shape();
  DType dt = other.dtype(), self_dt = self.dtype();
  ops::record_inplace("DivBackward", self, {&other}, [=](const Node& n, TensorList& g) {
    Tensor ov = so.unpack(&n);
    TensorList r{as_dtype(div(g[0], ov), self_dt), Tensor()};
    if (need_other) r[1] = reduce_grad(neg(div(mul(g[0], out.unpack(&n)), ov)), shape_o, dt);
    return r;
  });
  return self;
}

}  // namespace ember
