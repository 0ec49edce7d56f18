// Copies, dtype conversion and fills.
#include <cmath>
#include <cstring>

#include "ember/autograd.h"
#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember {
namespace ops {

void copy_into(const Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.shape() == src.shape() && dst.is_contiguous() && src.is_contiguous()) {
    if (dst.raw_data() != src.raw_data()) std::memmove(dst.raw_data(), src.raw_data(), src.numel() * src.itemsize());
    return;
  }
  dispatch_all(dst.dtype(), [&](auto dtag) {
    using R = typename decltype(dtag)::type;
    dispatch_all(src.dtype(), [&](auto stag) {
      using T = typename decltype(stag)::type;
      map1<R, T>(src, [](T v) { return static_cast<R>(v); }, dst);
    });
  });
}

}  // namespace ops

using ops::record;
using ops::SavedTensor;
using ops::TensorList;

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  ops::copy_into(out, *this);
  record("CloneBackward", {this}, {&out}, [](const autograd::Node&, TensorList& g) { return TensorList{g[0]}; });
  return out;
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  EMBER_CHECK(!requires_grad() || is_floating(t), TypeError, "cannot convert a tensor that requires grad to ",
              dtype_name(t), "; detach() it first");
  Tensor out = empty(shape(), t);
  ops::copy_into(out, *this);
  DType src = dtype();
  record("ToCopyBackward", {this}, {&out},
         [src](const autograd::Node&, TensorList& g) { return TensorList{g[0].to(src)}; });
  return out;
}

Tensor& Tensor::copy_(const Tensor& src) {
  EMBER_CHECK(src.defined(), ValueError, "copy_: source is undefined");
  autograd::check_inplace(*this, "copy_");
  ops::check_no_internal_overlap(*this, "copy_");
  // make_loop checks that src broadcasts to our shape
  Tensor s = src;
  if (src.get()->storage == get()->storage) s = src.clone();  // overlapping memory
  ops::copy_into(*this, s);
  bump_version();
  Shape src_shape = src.shape();
  DType src_dtype = src.dtype();
  ops::record_inplace("CopyBackward", *this, {&src},
                      [src_shape, src_dtype](const autograd::Node&, TensorList& g) {
                        return TensorList{Tensor(), ops::reduce_grad(g[0], src_shape, src_dtype)};
                      });
  return *this;
}

Tensor& Tensor::fill_(double value) {
  autograd::check_inplace(*this, "fill_");
  // Converting NaN, inf or an out-of-range double to int64 is undefined behaviour in C++.
  EMBER_CHECK(dtype() != DType::Int64 || (std::isfinite(value) && value >= -9223372036854775808.0 &&
                                          value < 9223372036854775808.0),
              ValueError, "value ", value, " cannot be converted to type int64 without overflow");
  dispatch_all(dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v = static_cast<T>(value);
    if (is_contiguous()) {
      T* p = static_cast<T*>(raw_data());
      int64_t n = numel();
      for (int64_t i = 0; i < n; ++i) p[i] = v;
    } else {
      ops::map1<T, T>(*this, [v](T) { return v; }, *this);
    }
  });
  bump_version();
  ops::record_inplace("FillBackward", *this, {},
                      [](const autograd::Node&, TensorList&) { return TensorList{Tensor()}; });
  return *this;
}

}  // namespace ember
