// Pointwise activation functions and maxout. Each forward is one map over the input and each
// backward one fused map over (grad, saved input); formulas follow torch's CPU kernels, written
// so that no intermediate overflows at |x| = 1e4 (exp only of non-positive arguments, terms
// that vanish far from the origin tested before they are multiplied).
#include <cmath>

#include "ember/activation.h"
#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

void check_float(const Tensor& a, const char* op) {
  EMBER_CHECK(a.defined(), ValueError, op, ": input must be a tensor");
  EMBER_CHECK(is_floating(a.dtype()), TypeError, op, ": expected a floating-point input (float32 or float64), got ",
              dtype_name(a.dtype()));
}

// y = fwd(x); dx = bwd(g, x). fwd and bwd are generic lambdas called with float or double.
template <typename Fwd, typename Bwd>
Tensor pointwise(const char* op, const char* node, const Tensor& a, int64_t cost, Fwd fwd, Bwd bwd) {
  check_float(a, op);
  Tensor out = dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return ops::map1<T, T>(a, [fwd](T v) { return static_cast<T>(fwd(v)); }, Tensor(), cost);
  });
  if (autograd::any_requires_grad({&a})) {
    SavedTensor saved(a);
    ops::record(node, {&a}, {&out}, [saved, bwd, cost](const Node& n, TensorList& g) {
      Tensor x = saved.unpack(&n);
      Tensor gx = dispatch_floating(x.dtype(), "activation backward", [&](auto tag) {
        using T = typename decltype(tag)::type;
        return ops::map2<T, T>(ops::as_dtype(g[0], x.dtype()), x,
                               [bwd](T gv, T xv) { return static_cast<T>(bwd(gv, xv)); }, Tensor(), cost);
      });
      return TensorList{gx};
    });
  }
  return out;
}

// 1 / (1 + exp(-x)) with exp of a non-positive argument only.
template <typename T>
inline T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

}  // namespace

Tensor leaky_relu(const Tensor& input, double negative_slope) {
  return pointwise(
      "leaky_relu", "LeakyReluBackward", input, 1,
      [negative_slope](auto x) { return x > 0 ? x : x * static_cast<decltype(x)>(negative_slope); },
      [negative_slope](auto g, auto x) { return x > 0 ? g : g * static_cast<decltype(x)>(negative_slope); });
}

Tensor elu(const Tensor& input, double alpha) {
  return pointwise(
      "elu", "EluBackward", input, 10,
      [alpha](auto x) {
        using T = decltype(x);
        return x > 0 ? x : static_cast<T>(alpha) * std::expm1(x);
      },
      [alpha](auto g, auto x) {
        using T = decltype(x);
        return x > 0 ? g : g * static_cast<T>(alpha) * std::exp(x);
      });
}

Tensor selu(const Tensor& input) {
  return pointwise(
      "selu", "SeluBackward", input, 10,
      [](auto x) {
        using T = decltype(x);
        return static_cast<T>(kSeluScale) * (x > 0 ? x : static_cast<T>(kSeluAlpha) * std::expm1(x));
      },
      [](auto g, auto x) {
        using T = decltype(x);
        return g * static_cast<T>(kSeluScale) * (x > 0 ? T(1) : static_cast<T>(kSeluAlpha) * std::exp(x));
      });
}

Tensor gelu(const Tensor& input, const std::string& approximate) {
  if (approximate == "none") {
    return pointwise(
        "gelu", "GeluBackward", input, 20,
        [](auto x) {
          using T = decltype(x);
          return x * T(0.5) * (T(1) + std::erf(x * static_cast<T>(M_SQRT1_2)));
        },
        [](auto g, auto x) {
          using T = decltype(x);
          const T cdf = T(0.5) * (T(1) + std::erf(x * static_cast<T>(M_SQRT1_2)));
          // exp(-x^2/2) is 0 (not NaN) for huge |x|, so x * pdf stays finite
          const T pdf = std::exp(T(-0.5) * x * x) * static_cast<T>(0.5 * M_2_SQRTPI * M_SQRT1_2);
          return g * (cdf + x * pdf);
        });
  }
  EMBER_CHECK(approximate == "tanh", ValueError, "gelu: approximate must be 'none' or 'tanh', got '", approximate,
              "'");
  return pointwise(
      "gelu", "GeluBackward", input, 20,
      [](auto x) {
        using T = decltype(x);
        const T inner = static_cast<T>(M_SQRT2 * M_2_SQRTPI * 0.5) * (x + T(0.044715) * x * x * x);
        return T(0.5) * x * (T(1) + std::tanh(inner));
      },
      [](auto g, auto x) {
        using T = decltype(x);
        const T kBeta = static_cast<T>(M_SQRT2 * M_2_SQRTPI * 0.5), kKappa = T(0.044715);
        const T x2 = x * x;
        const T t = std::tanh(kBeta * (x + kKappa * x2 * x));
        const T sech2 = T(1) - t * t;
        // sech2 underflows to 0 long before x^2 overflows; skip the product then (0 * inf = NaN)
        const T right = sech2 == 0 ? T(0) : T(0.5) * x * sech2 * kBeta * (T(1) + T(3) * kKappa * x2);
        return g * (T(0.5) * (T(1) + t) + right);
      });
}

Tensor softplus(const Tensor& input, double beta, double threshold) {
  // log1p(exp(bx)) written as max(bx, 0) + log1p(exp(-|bx|)): equal, and finite for any x.
  return pointwise(
      "softplus", "SoftplusBackward", input, 20,
      [beta, threshold](auto x) {
        using T = decltype(x);
        const T bx = x * static_cast<T>(beta);
        if (bx > static_cast<T>(threshold)) return x;
        return (std::max(bx, T(0)) + std::log1p(std::exp(-std::abs(bx)))) / static_cast<T>(beta);
      },
      [beta, threshold](auto g, auto x) {
        using T = decltype(x);
        const T bx = x * static_cast<T>(beta);
        return bx > static_cast<T>(threshold) ? g : g * stable_sigmoid(bx);
      });
}

Tensor silu(const Tensor& input) {
  return pointwise(
      "silu", "SiluBackward", input, 12, [](auto x) { return x * stable_sigmoid(x); },
      [](auto g, auto x) {
        using T = decltype(x);
        const T s = stable_sigmoid(x);
        return g * s * (T(1) + x * (T(1) - s));
      });
}

Tensor hardtanh(const Tensor& input, double min_val, double max_val) {
  EMBER_CHECK(min_val <= max_val, ValueError, "hardtanh: min_val cannot be greater than max_val (got min_val=", min_val,
              ", max_val=", max_val, ")");
  return pointwise(
      "hardtanh", "HardtanhBackward", input, 1,
      [min_val, max_val](auto x) {
        using T = decltype(x);
        const T lo = static_cast<T>(min_val), hi = static_cast<T>(max_val);
        return x < lo ? lo : (x > hi ? hi : x);  // NaN passes through
      },
      [min_val, max_val](auto g, auto x) {
        using T = decltype(x);
        return (x <= static_cast<T>(min_val) || x >= static_cast<T>(max_val)) ? T(0) : g;
      });
}

Tensor relu6(const Tensor& input) { return hardtanh(input, 0.0, 6.0); }

Tensor maxout(const Tensor& input, int64_t pieces, int64_t dim) {
  check_float(input, "maxout");
  EMBER_CHECK(input.dim() >= 1, IndexError, "maxout: expected an input with at least one dimension, got a 0-d tensor");
  const int64_t d = wrap_dim(dim, input.dim());
  const int64_t C = input.size(d);
  EMBER_CHECK(pieces >= 1, ValueError, "maxout: pieces must be positive, got ", pieces);
  EMBER_CHECK(C % pieces == 0, ValueError, "maxout: the size of dim ", d, " (", C, ") is not divisible by pieces=",
              pieces, " (input shape ", input.shape(), ")");
  // [.., C, ..] -> [.., C / pieces, pieces, ..] and the max over the pieces axis; max's backward
  // routes each gradient to its group's argmax (first one on ties, like torch's max).
  Shape grouped = input.shape();
  grouped[d] = C / pieces;
  grouped.insert(grouped.begin() + d + 1, pieces);
  return max(input.reshape(grouped), d + 1, false).first;
}

}  // namespace ember::functional
