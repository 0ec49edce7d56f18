// Reductions over dims with keepdim, and their backward passes.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/reduce.h"
#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember {

using autograd::Node;
using ops::record;
using ops::SavedTensor;
using ops::TensorList;

namespace {

// Sorted, unique, wrapped dims; empty = all dims.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim));
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i)
    EMBER_CHECK(out[i] != out[i - 1], ValueError, "dim ", out[i], " appears multiple times in the list of dims");
  if (ndim == 0) out.clear();
  return out;
}

Shape kept_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape s = shape;
  for (int64_t d : dims) s[d] = 1;
  return s;
}

Shape removed_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) s.push_back(shape[d]);
  return s;
}

int64_t prod(const Shape& s, int64_t b, int64_t e) {
  int64_t p = 1;
  for (int64_t i = b; i < e; ++i) p *= s[i];
  return p;
}

// Raw sum over `dims` (sorted), result in keepdim shape, no autograd.
Tensor sum_raw(const Tensor& a, const std::vector<int64_t>& dims) {
  DType t = is_floating(a.dtype()) ? a.dtype() : DType::Int64;
  if (dims.empty()) {  // nothing to reduce: still a new tensor, never an alias of the input
    autograd::NoGradGuard no_grad;
    return ops::as_dtype(a.detach(), t).clone();
  }
  Tensor x = ops::as_dtype(a, t).contiguous();
  Shape shape = x.shape();
  // reduce groups of adjacent dims, last group first
  size_t i = dims.size();
  while (i > 0) {
    size_t j = i - 1;
    while (j > 0 && dims[j - 1] == dims[j] - 1) --j;
    int64_t d0 = dims[j], d1 = dims[i - 1];
    int64_t outer = prod(shape, 0, d0), R = prod(shape, d0, d1 + 1), inner = prod(shape, d1 + 1, shape.size());
    for (int64_t d = d0; d <= d1; ++d) shape[d] = 1;
    Tensor y = empty(shape, t);
    if (R == 0) {
      y.fill_(0);
    } else {
      dispatch_numeric(t, "sum", [&](auto tag) {
        using T = typename decltype(tag)::type;
        cpu::sum_axis<T>(x.data<T>(), y.data<T>(), outer, R, inner);
      });
    }
    x = y;
    i = j;
  }
  return x;
}

}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim) {
  EMBER_CHECK(a.defined(), ValueError, "sum: undefined tensor");
  std::vector<int64_t> dims = normalize_dims(dims_in, a.dim());
  Tensor k = sum_raw(a, dims);
  Tensor out = keepdim ? k : k.reshape(removed_shape(a.shape(), dims));
  Shape in_shape = a.shape(), keep = kept_shape(a.shape(), dims);
  record("SumBackward", {&a}, {&out}, [in_shape, keep](const Node&, TensorList& g) {
    return TensorList{g[0].reshape(keep).expand(in_shape)};
  });
  return out;
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim) {
  EMBER_CHECK(a.defined(), ValueError, "mean: undefined tensor");
  EMBER_CHECK(is_floating(a.dtype()), TypeError, "mean(): could not infer output dtype. Input dtype must be either "
              "a floating point or complex dtype. Got: ", dtype_name(a.dtype()));
  std::vector<int64_t> dims = normalize_dims(dims_in, a.dim());
  int64_t count = 1;
  for (int64_t d : dims) count *= a.shape()[d];
  return mul(sum(a, dims, keepdim), count == 0 ? NAN : 1.0 / static_cast<double>(count));
}

Tensor var(const Tensor& a, const std::vector<int64_t>& dims_in, double correction, bool keepdim) {
  EMBER_CHECK(a.defined() && is_floating(a.dtype()), TypeError, "var: expected a floating-point tensor");
  std::vector<int64_t> dims = normalize_dims(dims_in, a.dim());
  int64_t count = 1;
  for (int64_t d : dims) count *= a.shape()[d];
  Tensor centered = sub(a, mean(a, dims, true));
  double denom = std::max(0.0, static_cast<double>(count) - correction);
  return div(sum(mul(centered, centered), dims, keepdim), scalar_tensor(denom, a.dtype()));
}

Tensor std(const Tensor& a, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  return sqrt(var(a, dims, correction, keepdim));
}

std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim);

namespace {

std::pair<Tensor, Tensor> extremum(const Tensor& a, int64_t dim_in, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  EMBER_CHECK(a.defined(), ValueError, op, ": undefined tensor");
  int64_t dim = wrap_dim(dim_in, a.dim());
  Shape shape = a.dim() == 0 ? Shape{1} : a.shape();
  EMBER_CHECK(shape[dim] > 0, IndexError, op, "(): Expected reduction dim ", dim, " to have non-zero size (shape ",
              a.shape(), ")");
  DType t = a.dtype() == DType::Bool ? DType::Int64 : a.dtype();
  Tensor x = ops::as_dtype(a, t).contiguous();
  int64_t outer = prod(shape, 0, dim), R = shape[dim], inner = prod(shape, dim + 1, shape.size());
  Shape keep = shape;
  keep[dim] = 1;
  Tensor values = empty(keep, t), indices = empty(keep, DType::Int64);
  dispatch_numeric(t, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::extremum_axis<T>(x.data<T>(), values.data<T>(), indices.data<int64_t>(), outer, R, inner, is_max);
  });
  if (a.dtype() == DType::Bool) values = values.to(DType::Bool);
  if (a.dim() == 0) {
    values = values.reshape({});
    indices = indices.reshape({});
  } else if (!keepdim) {
    values = values.squeeze(dim);
    indices = indices.squeeze(dim);
  }
  Tensor idx = indices;
  Shape in_shape = a.shape();
  record(is_max ? "MaxBackward" : "MinBackward", {&a}, {&values},
         [idx, in_shape, keep, outer, R, inner](const Node&, TensorList& g) {
           Tensor gin = zeros(in_shape, g[0].dtype());
           Tensor gc = g[0].contiguous(), ic = idx.contiguous();
           dispatch_floating(gc.dtype(), "max backward", [&](auto tag) {
             using T = typename decltype(tag)::type;
             cpu::scatter_axis<T>(gc.data<T>(), ic.data<int64_t>(), gin.data<T>(), outer, R, inner);
           });
           return TensorList{gin};
         });
  return {values, indices};
}

}  // namespace

std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim) { return extremum(a, dim, keepdim, true); }
std::pair<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim) { return extremum(a, dim, keepdim, false); }

Tensor max(const Tensor& a) {
  EMBER_CHECK(a.defined() && a.numel() > 0, ValueError, "max(): Expected reduction dim to be specified for input.numel() "
              "== 0. Specify the reduction dim with the 'dim' argument.");
  return extremum(a.reshape({-1}), 0, false, true).first;
}
Tensor min(const Tensor& a) {
  EMBER_CHECK(a.defined() && a.numel() > 0, ValueError, "min(): Expected reduction dim to be specified for input.numel() "
              "== 0. Specify the reduction dim with the 'dim' argument.");
  return extremum(a.reshape({-1}), 0, false, false).first;
}

Tensor argmax(const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
  autograd::NoGradGuard ng;
  if (!dim) {
    EMBER_CHECK(a.numel() > 0, ValueError, "argmax(): Expected reduction dim to be specified for input.numel() == 0.");
    return extremum(a.reshape({-1}), 0, false, true).second;
  }
  return extremum(a, *dim, keepdim, true).second;
}
Tensor argmin(const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
  autograd::NoGradGuard ng;
  if (!dim) {
    EMBER_CHECK(a.numel() > 0, ValueError, "argmin(): Expected reduction dim to be specified for input.numel() == 0.");
    return extremum(a.reshape({-1}), 0, false, false).second;
  }
  return extremum(a, *dim, keepdim, false).second;
}

Tensor logsumexp(const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim) {
  EMBER_CHECK(a.defined(), ValueError, "logsumexp: undefined tensor");
  Tensor x = is_floating(a.dtype()) ? a : a.to(DType::Float32);
  std::vector<int64_t> dims = normalize_dims(dims_in, x.dim());
  // Shift by the max so exp never overflows; an infinite max (all -inf) shifts by 0 instead.
  // The shift always has the reduced (keepdim) shape, also for an empty input.
  Tensor m;
  if (x.numel() > 0) {
    m = x.detach();
    for (int64_t d : dims) m = max(m, d, true).first;
    m = where(isfinite(m), m, zeros_like(m));
  } else {
    m = zeros(kept_shape(x.shape(), dims), x.dtype());
  }
  Tensor out = add(log(sum(exp(sub(x, m)), dims, true)), m);
  return keepdim ? out : out.reshape(removed_shape(x.shape(), dims));
}

Tensor prod_all(const Tensor& a) {
  EMBER_CHECK(a.defined(), ValueError, "prod: undefined tensor");
  Tensor x = a.contiguous();
  return dispatch_numeric(x.dtype(), "prod", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T p = 1;
    const T* d = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) p *= d[i];
    return scalar_tensor(static_cast<double>(p), x.dtype());
  });
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  const int64_t lead = a.dim() - static_cast<int64_t>(shape.size());
  EMBER_CHECK(lead >= 0, ValueError, "sum_to: cannot reduce shape ", a.shape(), " to ", shape);
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < lead; ++d) dims.push_back(d);
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t have = a.shape()[lead + i];
    EMBER_CHECK(have == shape[i] || shape[i] == 1, ValueError, "sum_to: cannot reduce shape ", a.shape(), " to ", shape);
    if (shape[i] == 1 && have != 1) dims.push_back(lead + static_cast<int64_t>(i));
  }
  return sum(a, dims, true).reshape(shape);
}

}  // namespace ember
