// AVX2/FMA micro-kernel of the GEMM: a 6 x 16 float (6 x 8 double) tile of C in 12 ymm
// accumulators; two more registers hold a row of the B micro-panel and one the broadcast A value,
// so per k 2 loads + 6 broadcasts feed 12 FMAs. This is the BLIS haswell/zen register shape; on
// this machine the loop runs at the register-only FMA peak when its panels sit in L1 (4 x 24 and
// 3 x 32 measured the same, 12 x 8 and 8 x 8 slower).
//
// Included only by gemm_avx2.cc (compiled with -mavx2 -mfma); the anonymous namespace keeps these
// AVX2 bodies out of every other translation unit.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace ember::kernels::gemm_impl {
namespace {

// The few vector operations the kernel needs, for each precision.
struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
};

struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
};

// c_row[0 : 2W] = alpha * (x0, x1) + beta * c_row. The one formula every tile uses, full or
// ragged, so an element's bits never depend on where the tile boundaries fell.
template <class S>
inline void update_row(typename S::T* c, typename S::V x0, typename S::V x1, typename S::V va,
                       typename S::V vb, bool beta_zero) {
  if (beta_zero) {
    S::store(c, S::mul(va, x0));
    S::store(c + S::W, S::mul(va, x1));
  } else {
    S::store(c, S::fma(va, x0, S::mul(vb, S::load(c))));
    S::store(c + S::W, S::fma(va, x1, S::mul(vb, S::load(c + S::W))));
  }
}

// C[0:m, 0:n] = alpha * A_panel * B_panel + beta * C for one tile of up to MR = 6 rows and
// NR = 2W columns, computing only the first R >= m rows: a ragged bottom panel (M = 64 leaves 4
// rows, M = 16 leaves 4) costs what it holds instead of a full 6-row tile. Every element is the
// same chain of FMAs over k whatever R is, so R never changes a result.
// a: packed A micro-panel (6 values per k); b: B micro-panel rows, row k at b + k*ldb (packed:
// ldb = NR; read in place: ldb = B's row stride).
template <class S, int R>
void kernel_rows(int64_t kc, typename S::T alpha, const typename S::T* a, const typename S::T* b, int64_t ldb,
                 typename S::T beta, typename S::T* c, int64_t rsc, int64_t csc, int64_t m, int64_t n) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W, NR = 2 * W;

  // Rows of C are contiguous and the tile is not cut on the right: update C in place (rows
  // past a ragged bottom edge are skipped). Otherwise go through a contiguous copy, below.
  const bool direct = n == NR && csc == 1;
  if (direct) {
    // Ask for the C tile now; it is needed only after the k loop.
    for (int i = 0; i < m; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc + NR - 1), _MM_HINT_T0);
    }
  }

  // Named accumulators (not an array): GCC keeps all 12 in registers this way (checked in the
  // asm; an array or a lambda made it spill inside the loop).
  V c00 = S::zero(), c01 = S::zero(), c10 = S::zero(), c11 = S::zero(), c20 = S::zero(), c21 = S::zero();
  V c30 = S::zero(), c31 = S::zero(), c40 = S::zero(), c41 = S::zero(), c50 = S::zero(), c51 = S::zero();
  // kc rank-1 updates: row k of the B micro-panel times column k of the A micro-panel.
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const V b0 = S::load(b), b1 = S::load(b + W);
    V ai = S::bcast(a + 0);
    c00 = S::fma(ai, b0, c00);
    c01 = S::fma(ai, b1, c01);
    if constexpr (R > 1) {
      ai = S::bcast(a + 1);
      c10 = S::fma(ai, b0, c10);
      c11 = S::fma(ai, b1, c11);
    }
    if constexpr (R > 2) {
      ai = S::bcast(a + 2);
      c20 = S::fma(ai, b0, c20);
      c21 = S::fma(ai, b1, c21);
    }
    if constexpr (R > 3) {
      ai = S::bcast(a + 3);
      c30 = S::fma(ai, b0, c30);
      c31 = S::fma(ai, b1, c31);
    }
    if constexpr (R > 4) {
      ai = S::bcast(a + 4);
      c40 = S::fma(ai, b0, c40);
      c41 = S::fma(ai, b1, c41);
    }
    if constexpr (R > 5) {
      ai = S::bcast(a + 5);
      c50 = S::fma(ai, b0, c50);
      c51 = S::fma(ai, b1, c51);
    }
    a += 6;
    b += ldb;
  }

  const V va = S::set1(alpha), vb = S::set1(beta);
  const bool beta_zero = beta == T(0);
  if (direct) {
    update_row<S>(c + 0 * rsc, c00, c01, va, vb, beta_zero);
    if (m > 1) update_row<S>(c + 1 * rsc, c10, c11, va, vb, beta_zero);
    if (m > 2) update_row<S>(c + 2 * rsc, c20, c21, va, vb, beta_zero);
    if (m > 3) update_row<S>(c + 3 * rsc, c30, c31, va, vb, beta_zero);
    if (m > 4) update_row<S>(c + 4 * rsc, c40, c41, va, vb, beta_zero);
    if (m > 5) update_row<S>(c + 5 * rsc, c50, c51, va, vb, beta_zero);
    return;
  }
  // Ragged on the right or strided C: run the same row update on a contiguous copy, then
  // scatter back only the m x n elements that exist.
  alignas(32) T tile[6 * NR];
  if (!beta_zero) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < NR; ++j) tile[i * NR + j] = j < n ? c[i * rsc + j * csc] : T(0);
  }
  update_row<S>(tile + 0 * NR, c00, c01, va, vb, beta_zero);
  if (m > 1) update_row<S>(tile + 1 * NR, c10, c11, va, vb, beta_zero);
  if (m > 2) update_row<S>(tile + 2 * NR, c20, c21, va, vb, beta_zero);
  if (m > 3) update_row<S>(tile + 3 * NR, c30, c31, va, vb, beta_zero);
  if (m > 4) update_row<S>(tile + 4 * NR, c40, c41, va, vb, beta_zero);
  if (m > 5) update_row<S>(tile + 5 * NR, c50, c51, va, vb, beta_zero);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * rsc + j * csc] = tile[i * NR + j];
}

// The 6 x 2W micro-kernel, and its shorter variants for the ragged bottom panel.
template <class S>
void kernel_6x2w(int64_t kc, typename S::T alpha, const typename S::T* a, const typename S::T* b, int64_t ldb,
                 typename S::T beta, typename S::T* c, int64_t rsc, int64_t csc, int64_t m, int64_t n) {
  switch (m) {
    case 6: return kernel_rows<S, 6>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
    case 5: return kernel_rows<S, 5>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
    case 4: return kernel_rows<S, 4>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
    case 3: return kernel_rows<S, 3>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
    case 2: return kernel_rows<S, 2>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
    default: return kernel_rows<S, 1>(kc, alpha, a, b, ldb, beta, c, rsc, csc, m, n);
  }
}

}  // namespace
}  // namespace ember::kernels::gemm_impl
