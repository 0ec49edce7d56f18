// Packing: copy a block of A or B into the layout the micro-kernel streams through.
//
//   A micro-panel (MR rows x kc): dst[k*MR + i] = A(i, k)  -- one column of the panel per k
//   B micro-panel (kc x NR cols): dst[k*NR + j] = B(k, j)  -- one row of the panel per k
//
// Rows/columns past the matrix edge are zero-filled, so the micro-kernel always runs a full
// MR x NR tile and only its write-back knows about edges. Every stride combination works; the
// unit-stride cases (the ones transposes and row-major storage produce) get loops that read
// memory in order and that the compiler vectorizes.
//
// Included by the ISA translation units only (gemm_avx2.cc, gemm_generic.cc). Everything sits in
// an anonymous namespace so each unit gets its own copy compiled for its ISA; the linker can
// never swap an AVX2-compiled body into the baseline path.
#pragma once

#include <cstdint>
#include <cstring>

namespace ember::kernels::gemm_impl {
namespace {

// A panel: m <= MR valid rows starting at `a` (already offset to row i0, column k0).
template <int MR, typename T>
void pack_a_panel_plain(int64_t m, int64_t kc, const T* a, int64_t rsa, int64_t csa, T* dst) {
  if (m == MR && rsa == 1) {
    // Column-major A (e.g. X^T in a weight gradient): each k is MR contiguous values.
    for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * MR, a + k * csa, sizeof(T) * MR);
  } else if (m == MR && csa == 1) {
    // Row-major A: MR rows read in parallel, each sequentially.
    const T* rows[MR];
    for (int i = 0; i < MR; ++i) rows[i] = a + i * rsa;
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < MR; ++i) dst[k * MR + i] = rows[i][k];
  } else {
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t i = 0; i < m; ++i) dst[k * MR + i] = a[i * rsa + k * csa];
      for (int64_t i = m; i < MR; ++i) dst[k * MR + i] = T(0);
    }
  }
}

// B panel: n <= NR valid columns starting at `b` (already offset to row k0, column j0).
template <int NR, typename T>
void pack_b_panel_plain(int64_t n, int64_t kc, const T* b, int64_t rsb, int64_t csb, T* dst) {
  if (n == NR && csb == 1) {
    // Row-major B: each k is NR contiguous values, a straight copy.
    for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * NR, b + k * rsb, sizeof(T) * NR);
  } else if (n == NR && rsb == 1) {
    // Column-major B (e.g. W^T in a linear layer's forward): walk each column sequentially.
    for (int j = 0; j < NR; ++j) {
      const T* src = b + j * csb;
      for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = src[k];
    }
  } else {
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t j = 0; j < n; ++j) dst[k * NR + j] = b[k * rsb + j * csb];
      for (int64_t j = n; j < NR; ++j) dst[k * NR + j] = T(0);
    }
  }
}


// Consecutive B micro-panels covering n columns (the last one may be ragged), panel p at
// dst + p*NR*kc. Row-major B is copied row by row across all the panels: each row is then one
// contiguous read that the hardware prefetchers follow, where panel-by-panel packing would
// touch kc scattered cache lines (and as many pages) per panel. Other layouts go panel by panel
// through pack_panel (the ISA's pack_b).
template <int NR, typename T, class PackPanel>
void pack_b_panels(int64_t n, int64_t kc, const T* b, int64_t rsb, int64_t csb, T* dst, PackPanel pack_panel) {
  const int64_t full = n / NR, rest = n % NR;
  if (csb == 1 && full > 1) {
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = b + k * rsb;
      T* d = dst + k * NR;
      // memcpy of a constant NR elements: a couple of vector moves, no aliasing doubts.
      for (int64_t p = 0; p < full; ++p) std::memcpy(d + p * NR * kc, src + p * NR, sizeof(T) * NR);
    }
    if (rest != 0) pack_b_panel_plain<NR>(rest, kc, b + full * NR, rsb, csb, dst + full * NR * kc);
    return;
  }
  for (int64_t p = 0; p * NR < n; ++p) {
    const int64_t nr = n - p * NR < NR ? n - p * NR : NR;
    pack_panel(nr, kc, b + p * NR * csb, rsb, csb, dst + p * NR * kc);
  }
}

}  // namespace
}  // namespace ember::kernels::gemm_impl
