// linear: y = x Wᵀ + b as one GEMM per pass, the hot path of every MLP.
//
//   forward   Y[M, N]  = X[M, K] · Wᵀ        (Wᵀ read through swapped strides: no transpose copy;
//                                            the bias is copied into Y first and the GEMM adds
//                                            onto it with beta = 1, so there is no second pass)
//   backward  dX[M, K] = dY[M, N] · W
//             dW[N, K] = dYᵀ · X             (dYᵀ again through swapped strides)
//             db[N]    = column sums of dY
// with M = the product of x's leading dims. Leading dims are folded into M without a copy when
// their strides allow (any contiguous or row-sliced input); each gradient is computed only when
// its input requires it.
#include "ember/normalization.h"
#include "kernels/cpu/gemm/gemm.h"
#include "kernels/cpu/rows.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

// t ([..., cols]) seen as a rows x cols matrix with row stride rs and column stride cs.
struct Mat {
  int64_t rows = 1, cols = 1, rs = 0, cs = 1;
};

// False when t's leading dims cannot be folded into one strided dim.
bool as_matrix(const Tensor& t, Mat& m) {
  const int64_t nd = t.dim();
  m.cols = t.size(-1);
  m.cs = t.stride(-1);
  m.rows = 1;
  m.rs = m.cols * m.cs;
  bool first = true;
  int64_t expect = 0;
  for (int64_t d = nd - 2; d >= 0; --d) {
    const int64_t size = t.shape()[d], stride = t.strides()[d];
    m.rows *= size;
    if (size == 1) continue;  // a size-1 dim's stride is meaningless
    if (first) {
      m.rs = stride;
      first = false;
    } else if (stride != expect) {
      return false;
    }
    expect = stride * size;
  }
  return true;
}

// As a matrix, copying to contiguous only when the leading dims do not fold.
Tensor matrix_of(const Tensor& t, Mat& m) {
  if (as_matrix(t, m)) return t;
  autograd::NoGradGuard no_grad;
  Tensor c = t.contiguous();
  as_matrix(c, m);
  return c;
}

void check_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  EMBER_CHECK(x.defined() && w.defined(), ValueError, "linear: input and weight must be tensors");
  EMBER_CHECK(is_floating(x.dtype()), TypeError, "linear: expected a floating-point input, got ",
              dtype_name(x.dtype()));
  EMBER_CHECK(x.dtype() == w.dtype(), TypeError, "linear: input (", dtype_name(x.dtype()), ") and weight (",
              dtype_name(w.dtype()), ") must have the same dtype");
  EMBER_CHECK(w.dim() == 2, ValueError, "linear: expected a 2-D weight [out_features, in_features], got shape ",
              w.shape());
  EMBER_CHECK(x.dim() >= 1, ValueError, "linear: input must have at least 1 dimension, got a 0-d tensor");
  EMBER_CHECK(x.size(-1) == w.size(1), ValueError, "linear: input shape ", x.shape(), " and weight shape ", w.shape(),
              " cannot be multiplied (input's last dim must equal in_features = ", w.size(1), ")");
  if (b.defined()) {
    EMBER_CHECK(b.dtype() == x.dtype(), TypeError, "linear: bias dtype ", dtype_name(b.dtype()),
                " differs from input dtype ", dtype_name(x.dtype()));
    EMBER_CHECK(b.dim() == 1 && b.size(0) == w.size(0), ValueError, "linear: expected bias of shape [", w.size(0),
                "], got ", b.shape());
  }
}

}  // namespace

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  check_linear(input, weight, bias);
  Mat mx;
  const Tensor x = matrix_of(input, mx);
  const int64_t M = mx.rows, K = mx.cols, N = weight.size(0);
  Shape out_shape(input.shape().begin(), input.shape().end() - 1);
  out_shape.push_back(N);
  Tensor out = empty(out_shape, input.dtype());
  Tensor b;
  if (bias.defined()) {
    autograd::NoGradGuard no_grad;
    b = bias.contiguous();
  }
  dispatch_floating(input.dtype(), "linear", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* y = out.data<T>();
    if (b.defined()) kernels::fill_rows(y, M, N, N, b.data<T>());
    kernels::gemm(M, N, K, T(1), x.data<T>(), mx.rs, mx.cs, weight.data<T>(), weight.stride(1), weight.stride(0),
                  b.defined() ? T(1) : T(0), y, N, 1);
  });
  if (!autograd::any_requires_grad({&input, &weight, &bias})) return out;

  const bool need_x = input.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  SavedTensor sx(need_w ? x : Tensor()), sw(need_x ? weight : Tensor());
  const Shape in_shape = input.shape();
  ops::record("LinearBackward", {&input, &weight, &bias}, {&out}, [=](const Node& n, TensorList& g) {
    Mat mg;
    const Tensor gy = matrix_of(g[0], mg);
    TensorList r(3);
    dispatch_floating(gy.dtype(), "linear backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* dy = gy.data<T>();
      if (need_x) {
        const Tensor w = sw.unpack(&n);
        r[0] = empty(in_shape, gy.dtype());
        kernels::gemm(M, K, N, T(1), dy, mg.rs, mg.cs, w.data<T>(), w.stride(0), w.stride(1), T(0),
                      r[0].data<T>(), K, 1);
      }
      if (need_w) {
        const Tensor xs = sx.unpack(&n);
        Mat m;
        as_matrix(xs, m);
        r[1] = empty({N, K}, gy.dtype());
        kernels::gemm(N, K, M, T(1), dy, mg.cs, mg.rs, xs.data<T>(), m.rs, m.cs, T(0), r[1].data<T>(), K, 1);
      }
      if (need_b) {
        r[2] = empty({N}, gy.dtype());
        kernels::column_sums(dy, M, N, mg.rs, mg.cs, r[2].data<T>());
      }
    });
    return r;
  });
  return out;
}

}  // namespace ember::functional
