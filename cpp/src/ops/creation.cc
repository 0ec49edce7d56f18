// Tensor factories: constants, ranges, identity and random tensors.
#include <cmath>
#include <cstring>

#include "ember/ops.h"
#include "ember/random.h"

namespace ember {

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, t.numel() * t.itemsize());  // all-zero bits are 0 for every dtype
  return t;
}
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor from_data(const void* data, const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  if (t.numel() > 0) std::memcpy(t.raw_data(), data, t.numel() * t.itemsize());
  return t;
}

Tensor arange(double start, double end, double step, DType dtype) {
  EMBER_CHECK(step != 0, ValueError, "arange: step must be nonzero");
  EMBER_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step), ValueError,
              "arange: start, end and step must be finite");
  EMBER_CHECK((end - start) / step >= 0 || start == end, ValueError, "arange: upper bound and larger bound "
              "inconsistent with step sign (start=", start, ", end=", end, ", step=", step, ")");
  double count = std::ceil((end - start) / step);
  EMBER_CHECK(count < 1e12, ValueError, "arange: too many elements (", count, ")");
  int64_t n = std::max<int64_t>(0, static_cast<int64_t>(count));
  Tensor t = empty({n}, dtype);
  dispatch_numeric(dtype, "arange", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  EMBER_CHECK(steps >= 0, ValueError, "linspace: number of steps must be non-negative, got ", steps);
  Tensor t = empty({steps}, dtype);
  dispatch_floating(dtype, "linspace", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
    // Fill from both ends, like torch, so the last value is exactly `end`.
    int64_t half = steps / 2;
    for (int64_t i = 0; i < steps; ++i)
      p[i] = static_cast<T>(i < half ? start + step * static_cast<double>(i)
                                     : end - step * static_cast<double>(steps - 1 - i));
  });
  return t;
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (m < 0) m = n;
  EMBER_CHECK(n >= 0, ValueError, "eye: n must be non-negative, got ", n);
  Tensor t = zeros({n, m}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = static_cast<T*>(t.raw_data());
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = T(1);
  });
  return t;
}

Tensor rand(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  Generator& g = default_generator();
  dispatch_floating(dtype, "rand", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i)
      p[i] = std::is_same_v<T, float> ? static_cast<T>(g.next_float()) : static_cast<T>(g.next_double());
  });
  return t;
}

Tensor randn(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  Generator& g = default_generator();
  dispatch_floating(dtype, "randn", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(g.next_normal());
  });
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  EMBER_CHECK(low < high, ValueError, "randint: expected low < high, got low=", low, ", high=", high);
  Tensor t = empty(shape, dtype);
  Generator& g = default_generator();
  uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  dispatch_numeric(dtype, "randint", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i)
      p[i] = static_cast<T>(low + static_cast<int64_t>(g.next_below(range)));
  });
  return t;
}

Tensor randperm(int64_t n) {
  EMBER_CHECK(n >= 0, ValueError, "randperm: n must be non-negative, got ", n);
  Tensor t = arange(0, static_cast<double>(n), 1, DType::Int64);
  int64_t* p = t.data<int64_t>();
  Generator& g = default_generator();
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[g.next_below(static_cast<uint64_t>(i + 1))]);
  return t;
}

}  // namespace ember
