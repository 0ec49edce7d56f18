// General matrix multiply over raw pointers with arbitrary row/column strides (BLIS style):
//
//   C[i*rsc + j*csc] = alpha * sum_k A[i*rsa + k*csa] * B[k*rsb + j*csb] + beta * C[i*rsc + j*csc]
//
// for 0 <= i < M, 0 <= j < N. Transposes are expressed through the strides (A^T: swap rsa/csa).
// When beta == 0, C is not read (it may hold NaN). K == 0 scales C by beta.
// Threads with OpenMP above a work threshold; results are bitwise identical for any thread count
// (each C element is computed by one thread with the same K blocking).
#pragma once

#include <cstdint>

#include "kernels/cpu/gemm/gemm_impl.h"

namespace ember::kernels {

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rsa, int64_t csa,
          const float* B, int64_t rsb, int64_t csb, float beta, float* C, int64_t rsc, int64_t csc);

void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsa, int64_t csa,
          const double* B, int64_t rsb, int64_t csb, double beta, double* C, int64_t rsc, int64_t csc);

// `batch` independent products with the same shape and strides; matrix b of each operand starts
// at (operand) + b * (its batch stride). Small products run one per thread (each one entirely on
// one thread, so the result is still independent of the thread count); large ones run one after
// the other, each using the whole team. A batch stride of 0 reuses one operand (e.g. shared
// weights); C's matrices must not overlap each other.
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t stride_a,
                  int64_t rsa, int64_t csa, const float* B, int64_t stride_b, int64_t rsb, int64_t csb, float beta,
                  float* C, int64_t stride_c, int64_t rsc, int64_t csc);

void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  int64_t stride_a, int64_t rsa, int64_t csa, const double* B, int64_t stride_b, int64_t rsb,
                  int64_t csb, double beta, double* C, int64_t stride_c, int64_t rsc, int64_t csc);

// ---- for the convolutions: a shared operand packed once, and B read from an image ----------
//
// A batch of products with the same left operand (a convolution's weights) packs it once with
// gemm_pack_a and passes it as Args::A_packed; Args::B_im2col reads B straight from a padded
// image (gemm_impl.h). The packed layout belongs to one back end: take gemm_isa() once and pass
// the same value to the packing and to every product that uses it.
enum class GemmIsa { generic, avx2, avx512 };
GemmIsa gemm_isa();
int64_t gemm_packed_a_size(GemmIsa isa, int64_t M, int64_t K);
void gemm_pack_a(GemmIsa isa, int64_t M, int64_t K, const float* A, int64_t rsa, int64_t csa, float* dst);
void gemm_pack_a(GemmIsa isa, int64_t M, int64_t K, const double* A, int64_t rsa, int64_t csa, double* dst);
// The product of kernels::gemm with the extra operand forms of gemm_impl::Args; threads with
// OpenMP like gemm when allow_threads (and not inside a parallel region), else runs on the
// calling thread.
void gemm_ex(GemmIsa isa, const gemm_impl::Args<float>& args, bool allow_threads);
void gemm_ex(GemmIsa isa, const gemm_impl::Args<double>& args, bool allow_threads);

// Naive triple loop with the same contract, the reference the tests compare against.
void gemm_reference(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsa,
                    int64_t csa, const double* B, int64_t rsb, int64_t csb, double beta, double* C,
                    int64_t rsc, int64_t csc);

}  // namespace ember::kernels
