// Placeholder dispatch: a correct but slow loop until the packed kernels land.
#include "kernels/cpu/gemm/gemm.h"

namespace ember::kernels {
namespace {
template <typename T>
void gemm_simple(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsa, int64_t csa,
                 const T* B, int64_t rsb, int64_t csb, T beta, T* C, int64_t rsc, int64_t csc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += A[i * rsa + k * csa] * B[k * rsb + j * csb];
      T& c = C[i * rsc + j * csc];
      c = alpha * acc + (beta == T(0) ? T(0) : beta * c);
    }
}
}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rsa, int64_t csa,
          const float* B, int64_t rsb, int64_t csb, float beta, float* C, int64_t rsc, int64_t csc) {
  gemm_simple(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc);
}
void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsa, int64_t csa,
          const double* B, int64_t rsb, int64_t csb, double beta, double* C, int64_t rsc, int64_t csc) {
  gemm_simple(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc);
}
}  // namespace ember::kernels
