// matmul with numpy semantics (1-D, 2-D, batched with broadcast batch dims), on top of the
// strided GEMM: transposed and strided operands go straight to the packing, no copies.
#include "kernels/cpu/gemm/gemm.h"
#include "kernels/cpu/parallel.h"
#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember {

using autograd::Node;
using ops::record;
using ops::SavedTensor;
using ops::TensorList;

namespace {

template <typename T>
void gemm_any(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
              int64_t csb, T* C, int64_t rsc, int64_t csc) {
  if constexpr (std::is_floating_point_v<T>) {
    kernels::gemm(M, N, K, T(1), A, rsa, csa, B, rsb, csb, T(0), C, rsc, csc);
  } else {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        T acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += A[i * rsa + k * csa] * B[k * rsb + j * csb];
        C[i * rsc + j * csc] = acc;
      }
  }
}

// a: [..., M, K], b: [..., K, N] (dims >= 2) -> [batch..., M, N]; no autograd.
Tensor batched_mm(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  EMBER_CHECK(b.size(-2) == K, ValueError, "matmul: shapes ", a.shape(), " and ", b.shape(),
              " cannot be multiplied (", M, "x", K, " and ", b.size(-2), "x", N, ")");
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b);
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  DType t = promote(a.dtype(), b.dtype());
  EMBER_CHECK(t != DType::Bool, TypeError, "matmul: not supported for bool tensors");
  Tensor x = ops::as_dtype(a, t), y = ops::as_dtype(b, t);
  Tensor out = empty(out_shape, t);
  if (out.numel() == 0) return out;
  if (K == 0) {
    out.fill_(0);
    return out;
  }

  // Per-operand batch strides after broadcasting (0 along broadcast dims).
  const int64_t nb = static_cast<int64_t>(batch.size());
  auto batch_strides = [&](const Tensor& v, const Shape& vb) {
    Shape st(nb, 0);
    for (int64_t i = 0; i < static_cast<int64_t>(vb.size()); ++i) {
      int64_t d = nb - static_cast<int64_t>(vb.size()) + i;
      st[d] = vb[i] == 1 ? 0 : v.strides()[i];
    }
    return st;
  };
  Shape sa = batch_strides(x, batch_a), sb = batch_strides(y, batch_b);
  int64_t count = 1;
  for (int64_t s : batch) count *= s;

  dispatch_numeric(t, "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* A = static_cast<const T*>(x.raw_data());
    const T* B = static_cast<const T*>(y.raw_data());
    T* C = static_cast<T*>(out.raw_data());
    const int64_t rsa = x.stride(-2), csa = x.stride(-1), rsb = y.stride(-2), csb = y.stride(-1);
    // Many small products: one thread per product; few large ones: the GEMM threads itself.
    const bool par_batch = count > 1 && cpu::worth_parallel(count * M * N * K) && M * N * K < (1 << 18);
    cpu::parallel_for_static(count, par_batch, [&](int64_t bi) {
      int64_t oa = 0, ob = 0, rem = bi;
      for (int64_t d = nb - 1; d >= 0; --d) {
        int64_t i = rem % batch[d];
        rem /= batch[d];
        oa += i * sa[d];
        ob += i * sb[d];
      }
      gemm_any<T>(M, N, K, A + oa, rsa, csa, B + ob, rsb, csb, C + bi * M * N, N, 1);
    });
  });
  return out;
}

Tensor mT(const Tensor& v) { return v.transpose(-1, -2); }

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.defined() && b.defined(), ValueError, "matmul: undefined tensor argument");
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, ValueError, "matmul: both arguments need at least 1 dimension, got ",
              a.dim(), "D and ", b.dim(), "D");
  // 1-D operands are promoted to matrices and the added dim removed afterwards, as numpy does.
  if (a.dim() == 1 && b.dim() == 1) {
    EMBER_CHECK(a.size(0) == b.size(0), ValueError, "matmul: inconsistent tensor size, expected tensor [",
                a.size(0), "] and src [", b.size(0), "] to have the same number of elements");
    return matmul(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);

  Tensor out = batched_mm(a, b);
  if (!autograd::any_requires_grad({&a, &b})) return out;
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  SavedTensor sa(need_b ? a : Tensor()), sb(need_a ? b : Tensor());
  Shape shape_a = a.shape(), shape_b = b.shape();
  DType da = a.dtype(), db = b.dtype();
  record("MmBackward", {&a, &b}, {&out}, [=](const Node& n, TensorList& g) {
    TensorList r(2);
    if (need_a) r[0] = ops::reduce_grad(batched_mm(g[0], mT(sb.unpack(&n))), shape_a, da);
    if (need_b) r[1] = ops::reduce_grad(batched_mm(mT(sa.unpack(&n)), g[0]), shape_b, db);
    return r;
  });
  return out;
}

}  // namespace ember
