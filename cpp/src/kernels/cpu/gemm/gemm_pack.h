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

#include "kernels/cpu/gemm/gemm_impl.h"

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

// ---- implicit im2col (Im2colSource, gemm_impl.h) -------------------------------------------
//
// Kern supplies VW (elements per vector), copy_vw(dst, src) (one vector), copy_run(dst, src,
// len) (dst[t] = src[t], t < len) and gather_t(dst, ld, src, n, len) (dst[t*ld + j] = src[j][t]
// for t < len, j < n): the inner loops, written with the ISA's vectors by each back end.

// Output pixels [q, q + len) of one output row: their positions are pos(q) + t * col_step.
struct PixelRun {
  int64_t first, len, pos;
};

// Splits pixels [q0, q0 + n) at output-row boundaries; returns the number of runs written.
template <typename T>
int64_t pixel_runs(const Im2colSource<T>& v, int64_t q0, int64_t n, PixelRun* runs) {
  int64_t count = 0;
  for (int64_t t = 0; t < n;) {
    const int64_t q = q0 + t, row = q / v.width, col = q % v.width;
    const int64_t len = v.width - col < n - t ? v.width - col : n - t;
    runs[count++] = {t, len, row * v.row_step + col * v.col_step};
    t += len;
  }
  return count;
}

// For the panel of np <= NR columns from j0 of a (non-transposed) image view: whole[u] = where
// vector u (columns [u*VW, u*VW + VW)) starts past a tap's offset, or -1 when its columns are not
// one contiguous run. Returns true when every vector of a full panel is one run: the panel can
// then be read straight from the image, vector by vector.
template <int64_t NR, int64_t VW, typename T>
bool whole_vectors(const Im2colSource<T>& v, int64_t j0, int64_t np, int64_t* whole) {
  PixelRun runs[NR];
  const int64_t nruns = pixel_runs(v, j0, np, runs);
  bool all = v.col_step == 1 && np == NR;
  for (int64_t u = 0; u < NR / VW; ++u) {
    whole[u] = -1;
    for (int64_t r = 0; r < nruns; ++r)
      if (runs[r].first <= u * VW && (u + 1) * VW <= runs[r].first + runs[r].len)
        whole[u] = runs[r].pos + (u * VW - runs[r].first);
    all = all && whole[u] >= 0;
  }
  return all;
}

// Panels of NR columns j (output pixels) covering [j0, j0 + n), rows k (taps) [k0, k0 + kc):
// dst[p*NR*kc + k*NR + j] = base[off[k0 + k] + pos(j0 + p*NR + j)], zero past n.
// A panel is cut into vectors of Kern::VW columns; a vector whose columns lie in one run is one
// unaligned vector copy per k (the common case: output rows of 16, 32, ... pixels), the others
// are copied run by run.
template <class Kern, typename T>
void pack_b_im2col(const Im2colSource<T>& v, int64_t j0, int64_t n, int64_t k0, int64_t kc, T* dst) {
  constexpr int64_t NR = Kern::NR, VW = Kern::VW, NV = NR / VW;
  PixelRun runs[NR];
  for (int64_t p = 0; p * NR < n; ++p) {
    const int64_t np = n - p * NR < NR ? n - p * NR : NR;
    const int64_t nruns = pixel_runs(v, j0 + p * NR, np, runs);
    T* d = dst + p * NR * kc;
    int64_t whole[NV];  // vector u reads base + off[k] + whole[u]
    if (whole_vectors<NR, VW>(v, j0 + p * NR, np, whole)) {
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = v.base + v.off[k0 + k];
        for (int64_t u = 0; u < NV; ++u) Kern::copy_vw(d + k * NR + u * VW, src + whole[u]);
      }
      continue;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = v.base + v.off[k0 + k];
      T* dk = d + k * NR;
      for (int64_t r = 0; r < nruns; ++r) {
        if (v.col_step == 1) {
          Kern::copy_run(dk + runs[r].first, src + runs[r].pos, runs[r].len);
        } else {
          for (int64_t t = 0; t < runs[r].len; ++t) dk[runs[r].first + t] = src[runs[r].pos + t * v.col_step];
        }
      }
      for (int64_t j = np; j < NR; ++j) dk[j] = T(0);
    }
  }
}

// The transposed view: panels of NR columns j (taps) covering [j0, j0 + n), rows k (output
// pixels) [k0, k0 + kc): dst[p*NR*kc + k*NR + j] = base[off[j0 + p*NR + j] + pos(k0 + k)].
template <class Kern, typename T>
void pack_bt_im2col(const Im2colSource<T>& v, int64_t j0, int64_t n, int64_t k0, int64_t kc, T* dst) {
  constexpr int64_t NR = Kern::NR;
  for (int64_t p = 0; p * NR < n; ++p) {
    const int64_t np = n - p * NR < NR ? n - p * NR : NR;
    const T* src[NR];
    for (int64_t j = 0; j < np; ++j) src[j] = v.base + v.off[j0 + p * NR + j];
    T* d = dst + p * NR * kc;
    for (int64_t t = 0; t < kc;) {
      const int64_t q = k0 + t, row = q / v.width, col = q % v.width;
      const int64_t len = v.width - col < kc - t ? v.width - col : kc - t;
      const int64_t pos = row * v.row_step + col * v.col_step;
      T* dt = d + t * NR;
      if (v.col_step == 1) {
        const T* s[NR];
        for (int64_t j = 0; j < np; ++j) s[j] = src[j] + pos;
        Kern::gather_t(dt, NR, s, np, len);
      } else {
        for (int64_t u = 0; u < len; ++u)
          for (int64_t j = 0; j < np; ++j) dt[u * NR + j] = src[j][pos + u * v.col_step];
      }
      if (np < NR)
        for (int64_t u = 0; u < len; ++u)
          for (int64_t j = np; j < NR; ++j) dt[u * NR + j] = T(0);
      t += len;
    }
  }
}

// Plain versions of the inner loops, for the portable back end and the ragged ends.
template <typename T>
inline void copy_run_plain(T* dst, const T* src, int64_t len) {
  for (int64_t t = 0; t < len; ++t) dst[t] = src[t];
}

template <typename T>
inline void gather_t_plain(T* dst, int64_t ld, const T* const* src, int64_t n, int64_t len) {
  for (int64_t t = 0; t < len; ++t)
    for (int64_t j = 0; j < n; ++j) dst[t * ld + j] = src[j][t];
}

}  // namespace
}  // namespace ember::kernels::gemm_impl
