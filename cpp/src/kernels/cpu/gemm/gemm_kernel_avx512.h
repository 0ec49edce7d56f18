// AVX-512 micro-kernel of the GEMM: an MR x 32 float (MR x 16 double) tile of C in 2*MR zmm
// accumulators. Per k: two loads of the B micro-panel row and MR broadcasts of A, feeding 2*MR
// FMAs. gemm_avx512.cc uses MR = 8: 16 independent chains cover the FMA latency of two 512-bit
// pipes, and 10 loads per 16 FMAs stay within two loads a cycle (MR = 12 measured the same on
// squares and slower for M = 64).
//
// The same contract as the AVX2 kernel (gemm_kernel_avx2.h): only the first R >= m rows are
// computed, every element is one chain of FMAs over k whatever the tile shape, and C is updated
// by one formula (alpha * acc, or alpha * acc + beta * c) in full, ragged and strided tiles alike.
// A ragged right edge with unit-stride rows uses masked loads and stores instead of a copy.
//
// Included only by gemm_avx512.cc (compiled with AVX-512); the anonymous namespace keeps these
// bodies out of every other translation unit.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace ember::kernels::gemm_impl {
namespace {

#define EMBER_UNROLL_ALL _Pragma("GCC unroll 32")

struct Z32 {
  using T = float;
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static __mmask16 mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static V maskz_load(__mmask16 k, const T* p) { return _mm512_maskz_loadu_ps(k, p); }
  static void mask_store(T* p, __mmask16 k, V v) { _mm512_mask_storeu_ps(p, k, v); }
};

struct Z64 {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static __mmask8 mask(int64_t n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static V maskz_load(__mmask8 k, const T* p) { return _mm512_maskz_loadu_pd(k, p); }
  static void mask_store(T* p, __mmask8 k, V v) { _mm512_mask_storeu_pd(p, k, v); }
};

// One W-wide piece of a C row: alpha * x (beta == 0: C is not read) or alpha * x + beta * c.
template <class S>
inline typename S::V update(typename S::V x, typename S::V c, typename S::V va, typename S::V vb, bool beta_zero) {
  return beta_zero ? S::mul(va, x) : S::fma(va, x, S::mul(vb, c));
}

// Where row k of the B micro-panel comes from: a packed (or in-place) panel, row k at b + k*ldb;
// or, for the convolutions' implicit im2col, two vectors read straight from the image at
// base0 + off[k] and base1 + off[k] (each vector's pixels one contiguous run).
template <class S>
struct PanelRows {
  const typename S::T* b;
  int64_t ldb;
  void load(int64_t k, typename S::V* b0, typename S::V* b1) const {
    *b0 = S::load(b + k * ldb);
    *b1 = S::load(b + k * ldb + S::W);
  }
};

template <class S>
struct ImageRows {
  const typename S::T *base0, *base1;
  const int64_t* off;
  void load(int64_t k, typename S::V* b0, typename S::V* b1) const {
    const int64_t o = off[k];
    *b0 = S::load(base0 + o);
    *b1 = S::load(base1 + o);
  }
};

// C[0:m, 0:n] = alpha * A_panel * B_panel + beta * C for one tile of up to MR rows and 2W
// columns, computing R >= m rows. a: packed A micro-panel (MR values per k); rows: the B rows.
template <class S, int MR, int R, class Rows>
void kernel_rows_z(int64_t kc, typename S::T alpha, const typename S::T* a, const Rows& rows, typename S::T beta,
                   typename S::T* c, int64_t rsc, int64_t csc, int64_t m, int64_t n) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W, NR = 2 * W;

  V acc0[R], acc1[R];
  EMBER_UNROLL_ALL for (int r = 0; r < R; ++r) acc0[r] = S::zero(), acc1[r] = S::zero();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    V b0, b1;
    rows.load(k, &b0, &b1);
    EMBER_UNROLL_ALL for (int r = 0; r < R; ++r) {
      const V ar = S::set1(a[r]);
      acc0[r] = S::fma(ar, b0, acc0[r]);
      acc1[r] = S::fma(ar, b1, acc1[r]);
    }
    a += MR;
  }

  const V va = S::set1(alpha), vb = S::set1(beta);
  const bool beta_zero = beta == T(0);
  if (csc == 1) {
    // Unit-stride rows: update in place; a ragged right edge through masks.
    if (n == NR) {
      EMBER_UNROLL_ALL for (int r = 0; r < R; ++r) {
        if (r >= m) break;
        T* cr = c + r * rsc;
        S::store(cr, update<S>(acc0[r], beta_zero ? V() : S::load(cr), va, vb, beta_zero));
        S::store(cr + W, update<S>(acc1[r], beta_zero ? V() : S::load(cr + W), va, vb, beta_zero));
      }
    } else {
      const auto k0 = S::mask(n < W ? n : W), k1 = S::mask(n > W ? n - W : 0);
      EMBER_UNROLL_ALL for (int r = 0; r < R; ++r) {
        if (r >= m) break;
        T* cr = c + r * rsc;
        S::mask_store(cr, k0, update<S>(acc0[r], beta_zero ? V() : S::maskz_load(k0, cr), va, vb, beta_zero));
        S::mask_store(cr + W, k1,
                      update<S>(acc1[r], beta_zero ? V() : S::maskz_load(k1, cr + W), va, vb, beta_zero));
      }
    }
    return;
  }
  // Strided C (a transposed product writes C^T): the same update on a contiguous copy, then
  // scatter back only the m x n elements that exist.
  alignas(64) T tile[NR];
  for (int64_t r = 0; r < m; ++r) {
    T* cr = c + r * rsc;
    if (!beta_zero)
      for (int64_t j = 0; j < NR; ++j) tile[j] = j < n ? cr[j * csc] : T(0);
    // r < m <= R: the accumulators exist; index them through a switch-free copy.
    V x0 = acc0[0], x1 = acc1[0];
    EMBER_UNROLL_ALL for (int q = 1; q < R; ++q) if (q == r) x0 = acc0[q], x1 = acc1[q];
    S::store(tile, update<S>(x0, beta_zero ? V() : S::load(tile), va, vb, beta_zero));
    S::store(tile + W, update<S>(x1, beta_zero ? V() : S::load(tile + W), va, vb, beta_zero));
    for (int64_t j = 0; j < n; ++j) cr[j * csc] = tile[j];
  }
}

template <class S, int MR, int R, class Rows>
inline void kernel_dispatch_z(int64_t kc, typename S::T alpha, const typename S::T* a, const Rows& rows,
                              typename S::T beta, typename S::T* c, int64_t rsc, int64_t csc, int64_t m, int64_t n) {
  if constexpr (R > 1) {
    if (m < R) return kernel_dispatch_z<S, MR, R - 1>(kc, alpha, a, rows, beta, c, rsc, csc, m, n);
  }
  kernel_rows_z<S, MR, R>(kc, alpha, a, rows, beta, c, rsc, csc, m, n);
}

// The MR x 2W micro-kernel and its shorter variants for a ragged bottom panel.
template <class S, int MR>
void kernel_z(int64_t kc, typename S::T alpha, const typename S::T* a, const typename S::T* b, int64_t ldb,
              typename S::T beta, typename S::T* c, int64_t rsc, int64_t csc, int64_t m, int64_t n) {
  kernel_dispatch_z<S, MR, MR>(kc, alpha, a, PanelRows<S>{b, ldb}, beta, c, rsc, csc, m, n);
}

// The same with B rows read from an image (ImageRows).
template <class S, int MR>
void kernel_image_z(int64_t kc, typename S::T alpha, const typename S::T* a, const typename S::T* base0,
                    const typename S::T* base1, const int64_t* off, typename S::T beta, typename S::T* c, int64_t rsc,
                    int64_t csc, int64_t m, int64_t n) {
  kernel_dispatch_z<S, MR, MR>(kc, alpha, a, ImageRows<S>{base0, base1, off}, beta, c, rsc, csc, m, n);
}

#undef EMBER_UNROLL_ALL

}  // namespace
}  // namespace ember::kernels::gemm_impl
