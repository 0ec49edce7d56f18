// Small dense linear algebra: LU with partial pivoting behind solve, inv and det (batched over
// leading dims). Enough for the normal equation of linear regression and for teaching.
#include <cmath>
#include <vector>

#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember::linalg {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

namespace {

// In-place LU of the n x n row-major matrix a (unit lower L below the diagonal, U on and above).
// Returns false when a pivot is exactly zero (singular). sign = permutation parity.
template <typename T>
bool lu_factor(T* a, int64_t n, int64_t* piv, int& sign) {
  sign = 1;
  for (int64_t k = 0; k < n; ++k) {
    int64_t p = k;
    for (int64_t i = k + 1; i < n; ++i)
      if (std::abs(a[i * n + k]) > std::abs(a[p * n + k])) p = i;
    piv[k] = p;
    if (p != k) {
      for (int64_t j = 0; j < n; ++j) std::swap(a[k * n + j], a[p * n + j]);
      sign = -sign;
    }
    T d = a[k * n + k];
    if (d == T(0)) return false;
    for (int64_t i = k + 1; i < n; ++i) {
      T f = a[i * n + k] /= d;
      for (int64_t j = k + 1; j < n; ++j) a[i * n + j] -= f * a[k * n + j];
    }
  }
  return true;
}

// Solves LU x = P b for m right-hand sides stored row-major in b (n x m), in place.
template <typename T>
void lu_solve(const T* lu, const int64_t* piv, T* b, int64_t n, int64_t m) {
  for (int64_t k = 0; k < n; ++k)
    if (piv[k] != k)
      for (int64_t j = 0; j < m; ++j) std::swap(b[k * m + j], b[piv[k] * m + j]);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < i; ++k)
      for (int64_t j = 0; j < m; ++j) b[i * m + j] -= lu[i * n + k] * b[k * m + j];
  for (int64_t i = n - 1; i >= 0; --i) {
    for (int64_t k = i + 1; k < n; ++k)
      for (int64_t j = 0; j < m; ++j) b[i * m + j] -= lu[i * n + k] * b[k * m + j];
    for (int64_t j = 0; j < m; ++j) b[i * m + j] /= lu[i * n + i];
  }
}

void check_square(const Tensor& A, const char* op) {
  EMBER_CHECK(A.defined(), ValueError, op, ": undefined tensor");
  EMBER_CHECK(is_floating(A.dtype()), TypeError, op, ": expected a float32 or float64 matrix, got ",
              dtype_name(A.dtype()));
  EMBER_CHECK(A.dim() >= 2 && A.size(-1) == A.size(-2), ValueError, op,
              ": A must be batches of square matrices, but they are ", A.dim() >= 2 ? A.size(-2) : 0, " by ",
              A.dim() >= 1 ? A.size(-1) : 0, " matrices (shape ", A.shape(), ")");
}

// X = A^-1 B for a batch (no autograd). B: [..., n, m] with the same batch dims as A.
Tensor solve_raw(const Tensor& A, const Tensor& B, const char* op) {
  const int64_t n = A.size(-1), m = B.size(-1);
  const int64_t batch = n == 0 ? 0 : A.numel() / (n * n);
  Tensor lu = A.contiguous().clone(), X = B.to(A.dtype()).contiguous().clone();
  std::vector<int64_t> piv(n);
  dispatch_floating(A.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t b = 0; b < batch; ++b) {
      int sign;
      T* a = lu.data<T>() + b * n * n;
      EMBER_CHECK(lu_factor(a, n, piv.data(), sign), ValueError, op, ": the matrix", batch > 1 ? " (batch element " : "",
                  batch > 1 ? std::to_string(b) + ")" : std::string(), " is singular");
      lu_solve(a, piv.data(), X.data<T>() + b * n * m, n, m);
    }
  });
  return X;
}

Tensor mT(const Tensor& v) { return v.transpose(-1, -2); }

}  // namespace

Tensor solve(const Tensor& A, const Tensor& B) {
  check_square(A, "linalg.solve");
  EMBER_CHECK(B.defined(), ValueError, "linalg.solve: undefined tensor");
  const bool vector_rhs = B.dim() == A.dim() - 1;
  Tensor Bm = vector_rhs ? B.unsqueeze(-1) : B;
  EMBER_CHECK(Bm.dim() == A.dim() && Bm.size(-2) == A.size(-1), ValueError, "linalg.solve: incompatible shapes: A ",
              A.shape(), ", B ", B.shape());
  for (int64_t d = 0; d < A.dim() - 2; ++d)
    EMBER_CHECK(Bm.size(d) == A.size(d), ValueError, "linalg.solve: batch dims of A ", A.shape(), " and B ", B.shape(),
                " must match");
  Tensor X;
  {
    autograd::NoGradGuard ng;
    X = solve_raw(A.detach(), Bm.detach(), "linalg.solve");
  }
  if (vector_rhs) X = X.squeeze(-1);
  if (!autograd::any_requires_grad({&A, &B})) return X;
  SavedTensor sA(A), sX(X);
  DType db = B.dtype();
  ops::record("LinalgSolveBackward", {&A, &B}, {&X}, [sA, sX, vector_rhs, db](const Node& n, TensorList& g) {
    Tensor a = sA.unpack(&n), x = sX.unpack(&n);
    Tensor gm = vector_rhs ? g[0].unsqueeze(-1) : g[0];
    Tensor xm = vector_rhs ? x.unsqueeze(-1) : x;
    Tensor gB = solve_raw(mT(a), gm, "linalg.solve backward");
    Tensor gA = neg(matmul(gB, mT(xm)));
    if (vector_rhs) gB = gB.squeeze(-1);
    return TensorList{gA, ops::as_dtype(gB, db)};
  });
  return X;
}

Tensor inv(const Tensor& A) {
  check_square(A, "linalg.inv");
  Tensor out;
  {
    autograd::NoGradGuard ng;
    Tensor I = eye(A.size(-1), -1, A.dtype()).expand(A.shape()).contiguous();
    out = solve_raw(A.detach(), I, "linalg.inv");
  }
  if (!autograd::any_requires_grad({&A})) return out;
  SavedTensor so(out);
  ops::record("LinalgInvBackward", {&A}, {&out}, [so](const Node& n, TensorList& g) {
    Tensor o = mT(so.unpack(&n));
    return TensorList{neg(matmul(matmul(o, g[0]), o))};
  });
  return out;
}

Tensor det(const Tensor& A) {
  check_square(A, "linalg.det");
  const int64_t n = A.size(-1);
  Shape batch_shape(A.shape().begin(), A.shape().end() - 2);
  Tensor out = empty(batch_shape, A.dtype());
  {
    Tensor lu = A.contiguous().detach().clone();
    const int64_t batch = out.numel();
    std::vector<int64_t> piv(n);
    dispatch_floating(A.dtype(), "linalg.det", [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (int64_t b = 0; b < batch; ++b) {
        int sign;
        T* a = lu.data<T>() + b * n * n;
        T d = 0;
        if (lu_factor(a, n, piv.data(), sign)) {
          d = static_cast<T>(sign);
          for (int64_t i = 0; i < n; ++i) d *= a[i * n + i];
        }
        out.data<T>()[b] = d;
      }
    });
  }
  if (!autograd::any_requires_grad({&A})) return out;
  SavedTensor sA(A), so(out);
  ops::record("LinalgDetBackward", {&A}, {&out}, [sA, so](const Node& nd, TensorList& g) {
    // d det / dA = det * A^-T (A must be invertible for this formula)
    Tensor a = sA.unpack(&nd), d = so.unpack(&nd);
    Tensor scale = mul(g[0], d).unsqueeze(-1).unsqueeze(-1);
    return TensorList{mul(scale, mT(inv(a)))};
  });
  return out;
}

}  // namespace ember::linalg
