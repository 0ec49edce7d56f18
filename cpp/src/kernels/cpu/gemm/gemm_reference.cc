#include "kernels/cpu/gemm/gemm.h"

namespace ember::kernels {

void gemm_reference(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsa,
                    int64_t csa, const double* B, int64_t rsb, int64_t csb, double beta, double* C,
                    int64_t rsc, int64_t csc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) acc += A[i * rsa + k * csa] * B[k * rsb + j * csb];
      double& c = C[i * rsc + j * csc];
      c = alpha * acc + (beta == 0.0 ? 0.0 : beta * c);
    }
}

}  // namespace ember::kernels
