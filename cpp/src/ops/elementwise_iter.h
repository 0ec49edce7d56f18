// Glue between tensors and the strided loops in kernels/cpu/loops.h: broadcasting, output
// allocation and the typed map helpers every elementwise op (and its backward) is written with.
// These record no autograd; the public ops in ops/*.cc do.
#pragma once

#include <initializer_list>

#include "ember/ops.h"
#include "kernels/cpu/loops.h"

namespace ember::ops {

// Describes `out` and `inputs` (each broadcast to out's shape) as a loop. Throws ValueError
// when an input does not broadcast to out's shape.
template <int N>
cpu::Loop<N> make_loop(const Tensor& out, const Tensor* const* inputs, const char* op) {
  cpu::Loop<N> L;
  const Shape& shape = out.shape();
  const int nd = static_cast<int>(shape.size());
  EMBER_CHECK(nd <= cpu::kMaxDims, ValueError, op, ": tensors with more than ", cpu::kMaxDims,
              " dimensions are not supported (got ", nd, ")");
  L.ndim = nd;
  L.numel = out.numel();
  for (int d = 0; d < nd; ++d) L.shape[d] = shape[d];
  const Tensor* all[N];
  all[0] = &out;
  for (int k = 1; k < N; ++k) all[k] = inputs[k - 1];
  for (int k = 0; k < N; ++k) {
    const Tensor& t = *all[k];
    const int tnd = static_cast<int>(t.dim());
    EMBER_CHECK(tnd <= nd, ValueError, op, ": operand of shape ", t.shape(), " cannot be broadcast to ", shape);
    const int64_t isz = static_cast<int64_t>(t.itemsize());
    for (int d = 0; d < nd; ++d) {
      int td = d - (nd - tnd);
      int64_t st = 0;
      if (td >= 0) {
        int64_t sz = t.shape()[td];
        EMBER_CHECK(sz == shape[d] || sz == 1, ValueError, op, ": operand of shape ", t.shape(),
                    " cannot be broadcast to ", shape);
        st = sz == 1 ? 0 : t.strides()[td] * isz;
      }
      L.stride[d][k] = st;
    }
    L.base[k] = static_cast<char*>(t.raw_data());
  }
  L.coalesce();
  return L;
}

// out[i] = f(a[i]) with a of type T, out of type R (out allocated when undefined).
template <typename R, typename T, typename F>
Tensor map1(const Tensor& a, F f, Tensor out = Tensor(), int64_t cost = 1) {
  if (!out.defined()) out = empty(a.shape(), dtype_of<R>::value);
  const Tensor* ins[] = {&a};
  cpu::run_loop(make_loop<2>(out, ins, "elementwise"), cpu::unary_body<R, T>(f), cost);
  return out;
}

template <typename R, typename T, typename F>
Tensor map2(const Tensor& a, const Tensor& b, F f, Tensor out = Tensor(), int64_t cost = 1) {
  if (!out.defined()) out = empty(broadcast_shapes(a.shape(), b.shape()), dtype_of<R>::value);
  const Tensor* ins[] = {&a, &b};
  cpu::run_loop(make_loop<3>(out, ins, "elementwise"), cpu::binary_body<R, T>(f), cost);
  return out;
}

template <typename R, typename T0, typename T1, typename T2, typename F>
Tensor map3(const Tensor& a, const Tensor& b, const Tensor& c, F f, Tensor out = Tensor(), int64_t cost = 1) {
  if (!out.defined())
    out = empty(broadcast_shapes(broadcast_shapes(a.shape(), b.shape()), c.shape()), dtype_of<R>::value);
  const Tensor* ins[] = {&a, &b, &c};
  cpu::run_loop(make_loop<4>(out, ins, "elementwise"), cpu::ternary_body<R, T0, T1, T2>(f), cost);
  return out;
}

// Refuses to write into a tensor whose elements alias each other (an expanded view: stride 0
// along a dim of size > 1): each write would land on, and later reread, a shared element, so
// the result would silently depend on the loop order. Same rule and message as torch.
inline void check_no_internal_overlap(const Tensor& t, const char* op) {
  for (int64_t d = 0; d < t.dim(); ++d)
    EMBER_CHECK(t.strides()[d] != 0 || t.shape()[d] <= 1, Error, op, ": unsupported operation: more than one "
                "element of the written-to tensor refers to a single memory location (shape ", t.shape(),
                ", strides ", t.strides(), "). Please clone() the tensor before performing the operation.");
}

// Converts (or copies) src into dst, broadcasting src to dst's shape; any dtypes.
void copy_into(const Tensor& dst, const Tensor& src);

// The tensor as dtype `t` (itself when it already is).
inline Tensor as_dtype(const Tensor& a, DType t) { return a.dtype() == t ? a : a.to(t); }

}  // namespace ember::ops
