// Direct convolution for stride-1 float32 convolutions with few channels (LeNet-like), where a
// GEMM would have a tiny M or K. Written once over a vector type S and instantiated by
// conv_direct_avx2.cc (8-lane ymm, 16 registers) and conv_direct_avx512.cc (16-lane zmm, 32
// registers); the tile shapes follow from the register count.
//
// Forward, as an "implicit GEMM": copy the image once into a zero-padded buffer xp[C][Hp][Wp] and
// compute the output on the *wide* grid j = oh*Wp + ow, 0 <= ow < Wp (columns ow >= Wo are junk
// and dropped). On that grid the "column matrix" row for tap k = (c, kh, kw) is just xp shifted
// by off[k] = c*Hp*Wp + kh*dh*Wp + kw*dw, so a register-blocked GEMM micro-kernel can load it
// straight from xp: MR output channels x NV vectors of wide positions of accumulators, one
// broadcast weight and NV vector loads per tap. No im2col, no packing of B, one copy of the input.
//
// Backward input (stride 1) is the same forward pass run on grad_output padded by
// (k-1)*d - pad, with the weights transposed over channels and flipped in space; planes no wider
// than a vector use row tiles instead of the wide grid, skipping taps that only see padding.
//
// Backward weight: gW[co][k] = sum over images and pixels of gy[co][pixel] * xp[off[k] + pixel].
// MR output channels x T taps of vector accumulators run over every pixel row of every image of
// a chunk (masked loads for the row tail), then one horizontal sum per (co, k); the AVX-512 unit
// has a variant with output channels in the lanes instead (conv_direct_avx512.cc). Image chunks are
// fixed by the shape and summed in chunk order, like the GEMM path, so the bits do not depend
// on the thread count.
//
// At a batch of a vector or more, conv_batch_lanes_impl.h puts images in the lanes instead and
// leaves only the images beyond the last whole group to these kernels.
//
// S provides: V, M (tail mask), W (lanes), kRegs, zero, load, store, set1, fma, mask_for(n),
// maskz_load(mask, p), hsum. Included only by the conv_direct_*.cc units; the anonymous
// namespace gives each its own copy compiled for its ISA.
#pragma once

#include <algorithm>
#include <cstring>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/parallel.h"

// Every loop over register-block indices must be fully unrolled, or GCC keeps the accumulator
// arrays in memory and the kernels become store-bound.
#define EMBER_UNROLL _Pragma("GCC unroll 16")

namespace ember::kernels {

template <typename T>
void sum_chunk_partials(T* grad_weight, const T* partials, int64_t nchunks, int64_t wsize);  // conv.cc

namespace direct_impl {
namespace {

// ---- forward micro-kernel -------------------------------------------------------------------

// dst[r*ldd + j] = sum_k wp[k*MR + r] * src[off[k] + j] for r < MR, j < NV*W.
template <class S, int MR, int NV>
inline void fwd_tile(const float* src, const int64_t* off, int64_t K, const float* wp, float* dst, int64_t ldd) {
  using V = typename S::V;
  constexpr int W = S::W;
  V acc[MR][NV];
  EMBER_UNROLL for (int r = 0; r < MR; ++r)
    EMBER_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = S::zero();
  for (int64_t k = 0; k < K; ++k) {
    const float* s = src + off[k];
    V b[NV];
    EMBER_UNROLL for (int v = 0; v < NV; ++v) b[v] = S::load(s + W * v);
    const float* w = wp + k * MR;
    EMBER_UNROLL for (int r = 0; r < MR; ++r) {
      const V a = S::set1(w[r]);
      EMBER_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = S::fma(a, b[v], acc[r][v]);
    }
  }
  EMBER_UNROLL for (int r = 0; r < MR; ++r)
    EMBER_UNROLL for (int v = 0; v < NV; ++v) S::store(dst + r * ldd + W * v, acc[r][v]);
}

// Output channels per row block, and vectors of positions per tile for a block of MR rows:
// about 3/4 of the registers as accumulators, wider tiles for few rows so that each loaded
// vector still feeds a few FMAs.
template <class S>
constexpr int max_rows() {
  return S::kRegs >= 32 ? 8 : 6;
}

template <class S>
constexpr int nv_for(int mr) {
  if constexpr (S::kRegs >= 32) {
    return mr >= 7 ? 3 : (mr >= 5 ? 4 : (mr >= 3 ? 6 : 8));
  } else {
    return mr >= 5 ? 2 : (mr >= 3 ? 3 : (mr == 2 ? 4 : 6));
  }
}

// Only the (MR, NV) pairs whose accumulators + loads fit in the registers are instantiated;
// run_wide never asks for another (NV comes from the largest block, smaller blocks fit too).
template <class S, int MR, int NV>
inline void fwd_tile_fit(const float* src, const int64_t* off, int64_t K, const float* wp, float* dst, int64_t ldd) {
  if constexpr (MR * NV + NV + 1 <= S::kRegs && MR <= max_rows<S>()) fwd_tile<S, MR, NV>(src, off, K, wp, dst, ldd);
}

template <class S, int NV>
void fwd_tile_mr(int mr, const float* src, const int64_t* off, int64_t K, const float* wp, float* dst, int64_t ldd) {
  switch (mr) {
    case 1: fwd_tile_fit<S, 1, NV>(src, off, K, wp, dst, ldd); break;
    case 2: fwd_tile_fit<S, 2, NV>(src, off, K, wp, dst, ldd); break;
    case 3: fwd_tile_fit<S, 3, NV>(src, off, K, wp, dst, ldd); break;
    case 4: fwd_tile_fit<S, 4, NV>(src, off, K, wp, dst, ldd); break;
    case 5: fwd_tile_fit<S, 5, NV>(src, off, K, wp, dst, ldd); break;
    case 6: fwd_tile_fit<S, 6, NV>(src, off, K, wp, dst, ldd); break;
    case 7: fwd_tile_fit<S, 7, NV>(src, off, K, wp, dst, ldd); break;
    default: fwd_tile_fit<S, 8, NV>(src, off, K, wp, dst, ldd); break;
  }
}

// Row tiles (the input gradient of narrow planes): dst[r*ldd + v*ldr + j] = sum over the listed
// taps k of wp[k*MR + r] * src[off[k] + v*Wp + j]: NV output rows of one vector each (row v of
// the tile reads the source Wp further on), over only the taps in `taps`.
template <class S, int MR, int NV>
inline void row_tile(const float* src, int64_t Wp, const int64_t* off, const int32_t* taps, int64_t ntaps,
                     const float* wp, float* dst, int64_t ldd, int64_t ldr) {
  using V = typename S::V;
  V acc[MR][NV];
  EMBER_UNROLL for (int r = 0; r < MR; ++r)
    EMBER_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = S::zero();
  for (int64_t i = 0; i < ntaps; ++i) {
    const int64_t k = taps[i];
    const float* s = src + off[k];
    V b[NV];
    EMBER_UNROLL for (int v = 0; v < NV; ++v) b[v] = S::load(s + v * Wp);
    const float* w = wp + k * MR;
    EMBER_UNROLL for (int r = 0; r < MR; ++r) {
      const V a = S::set1(w[r]);
      EMBER_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = S::fma(a, b[v], acc[r][v]);
    }
  }
  EMBER_UNROLL for (int r = 0; r < MR; ++r)
    EMBER_UNROLL for (int v = 0; v < NV; ++v) S::store(dst + r * ldd + v * ldr, acc[r][v]);
}

template <class S, int MR, int NV>
inline void row_tile_fit(const float* src, int64_t Wp, const int64_t* off, const int32_t* taps, int64_t ntaps,
                         const float* wp, float* dst, int64_t ldd, int64_t ldr) {
  if constexpr (MR * NV + NV + 1 <= S::kRegs && MR <= max_rows<S>())
    row_tile<S, MR, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr);
}

template <class S, int NV>
void row_tile_mr(int mr, const float* src, int64_t Wp, const int64_t* off, const int32_t* taps, int64_t ntaps,
                 const float* wp, float* dst, int64_t ldd, int64_t ldr) {
  switch (mr) {
    case 1: row_tile_fit<S, 1, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr); break;
    case 2: row_tile_fit<S, 2, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr); break;
    case 3: row_tile_fit<S, 3, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr); break;
    case 4: row_tile_fit<S, 4, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr); break;
    case 5: row_tile_fit<S, 5, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr); break;
    case 6: row_tile_fit<S, 6, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr); break;
    case 7: row_tile_fit<S, 7, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr); break;
    default: row_tile_fit<S, 8, NV>(src, Wp, off, taps, ntaps, wp, dst, ldd, ldr); break;
  }
}

// Rows [0, M) split into blocks of at most max_rows, balanced (16 -> 6,5,5 on AVX2) so no block
// is a thin leftover; block b covers rows [start(b), start(b+1)).
struct RowBlocks {
  int64_t count, M;
  int64_t start(int64_t b) const { return b * M / count; }
};
inline RowBlocks row_blocks(int64_t M, int64_t max_rows) { return {(M + max_rows - 1) / max_rows, M}; }

// One "wide" direct convolution of a padded source (per group: C channels of Hp x Wp) with
// packed weights, writing wide[M][ldw] (ldw >= Jround). The caller allocates src with slack()
// zeros after it, so the last tile may read past the last real position.
struct WideConv {
  int64_t C, Hp, Wp;      // padded source, per group
  int64_t kH, kW, dh, dw;
  int64_t Ho;             // output rows; wide positions are [0, Ho*Wp)
  int64_t M;              // output channels per group
  int64_t lanes;          // S::W
  int NV;                 // vectors per tile (from the largest row block)
  int64_t K() const { return C * kH * kW; }
  int64_t J() const { return Ho * Wp; }
  int64_t step() const { return lanes * NV; }
  int64_t Jround() const { return (J() + step() - 1) / step() * step(); }
  int64_t slack() const { return (kW - 1) * dw + (Jround() - J()) + lanes; }
};

template <class S>
WideConv make_wide(int64_t C, int64_t Hp, int64_t Wp, int64_t kH, int64_t kW, int64_t dh, int64_t dw, int64_t Ho,
                   int64_t M) {
  WideConv w{C, Hp, Wp, kH, kW, dh, dw, Ho, M, S::W, 2};
  const RowBlocks rb = row_blocks(M, max_rows<S>());
  const int64_t max_mr = (M + rb.count - 1) / rb.count;
  w.NV = nv_for<S>(static_cast<int>(max_mr));
  return w;
}

void fill_offsets(const WideConv& w, int64_t* off) {
  for (int64_t c = 0; c < w.C; ++c)
    for (int64_t kh = 0; kh < w.kH; ++kh)
      for (int64_t kw = 0; kw < w.kW; ++kw)
        off[(c * w.kH + kh) * w.kW + kw] = c * w.Hp * w.Wp + kh * w.dh * w.Wp + kw * w.dw;
}

// Packs rows [r0, r0+mr) of a [M][K] weight matrix (row m, column k at wget(m, k)) into
// wp[k*mr + r]: the broadcast order of fwd_tile.
template <typename Get>
void pack_rows(int64_t r0, int64_t mr, int64_t K, Get wget, float* wp) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t r = 0; r < mr; ++r) wp[k * mr + r] = wget(r0 + r, k);
}

template <class S>
void run_wide(const WideConv& w, const float* src, const int64_t* off, const float* packed, float* wide, int64_t ldw) {
  const RowBlocks rb = row_blocks(w.M, max_rows<S>());
  const int64_t K = w.K(), step = w.step(), Jr = w.Jround();
  // Positions outer, row blocks inner: one tile of the source (K rows x step) is reused by
  // every block of output channels while it is in L1.
  for (int64_t j = 0; j < Jr; j += step)
    for (int64_t b = 0; b < rb.count; ++b) {
      const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
      const float* wp = packed + r0 * K;
      float* dst = wide + r0 * ldw + j;
      const int m = static_cast<int>(mr);
      if constexpr (S::kRegs >= 32) {
        switch (w.NV) {
          case 3: fwd_tile_mr<S, 3>(m, src + j, off, K, wp, dst, ldw); break;
          case 4: fwd_tile_mr<S, 4>(m, src + j, off, K, wp, dst, ldw); break;
          case 6: fwd_tile_mr<S, 6>(m, src + j, off, K, wp, dst, ldw); break;
          default: fwd_tile_mr<S, 8>(m, src + j, off, K, wp, dst, ldw); break;
        }
      } else {
        switch (w.NV) {
          case 2: fwd_tile_mr<S, 2>(m, src + j, off, K, wp, dst, ldw); break;
          case 3: fwd_tile_mr<S, 3>(m, src + j, off, K, wp, dst, ldw); break;
          case 4: fwd_tile_mr<S, 4>(m, src + j, off, K, wp, dst, ldw); break;
          default: fwd_tile_mr<S, 6>(m, src + j, off, K, wp, dst, ldw); break;
        }
      }
    }
}

// Copies C planes of H x W into the interior of a [C][H + top + bottom][W + left + right] buffer
// whose border (and slack after it) the caller zeroed once per call: every image of the call
// writes the same interior, so the border stays zero. Rows are short: an inline loop (vectorized
// for this unit's ISA) beats a memcpy call per row.
void pad_planes(const float* x, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hp, int64_t Wp,
                float* xp) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < H; ++h) {
      float* d = xp + (c * Hp + h + top) * Wp + left;
      const float* s = x + (c * H + h) * W;
      for (int64_t w = 0; w < W; ++w) d[w] = s[w];
    }
}

// count buffers of `size` floats, zeroed.
float* zeroed_buffers(ScratchSlot slot, int64_t size, int count) {
  const size_t n = static_cast<size_t>(size) * static_cast<size_t>(count);
  float* buf = scratch<float>(slot, n);
  std::memset(buf, 0, sizeof(float) * n);
  return buf;
}

// ---- shape gate -----------------------------------------------------------------------------

// Direct loops pay off while the im2col matrix would dwarf the input and the per-group GEMM is
// thin; with many channels the packed GEMM is the better engine.
bool direct_ok(const Conv2dParams& p) {
  if (p.stride_h != 1 || p.stride_w != 1) return false;
  const int64_t Cg = p.C_in / p.groups, Mg = p.C_out / p.groups;
  if (Cg * p.kH * p.kW > 160 || Mg > 64) return false;
  // Offsets and buffers stay small for these shapes; refuse the extreme ones.
  const int64_t plane = (p.H + 2 * p.pad_h + p.kH * p.dilation_h) * (p.W + 2 * p.pad_w + p.kW * p.dilation_w);
  return plane * std::max(p.C_in, p.C_out) < (int64_t(1) << 26);
}

// ---- forward and input gradient -------------------------------------------------------------

template <class S>
bool forward(const Conv2dParams& p, const float* input, const float* weight, const float* bias, float* output) {
  if (!direct_ok(p) || (p.kH == 1 && p.kW == 1 && p.pad_h == 0 && p.pad_w == 0)) return false;
  const int64_t Cg = p.C_in / p.groups, Mg = p.C_out / p.groups, Ho = p.out_h(), Wo = p.out_w();
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w;
  const WideConv w = make_wide<S>(Cg, Hp, Wp, p.kH, p.kW, p.dilation_h, p.dilation_w, Ho, Mg);
  const int64_t K = w.K(), Jr = w.Jround(), xp_size = Cg * Hp * Wp + w.slack();

  // Shared, read-only: tap offsets and weights packed per group and row block.
  int64_t* off = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + p.C_out * K));
  float* packed = reinterpret_cast<float*>(off + K);
  fill_offsets(w, off);
  const RowBlocks rb = row_blocks(Mg, max_rows<S>());
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t b = 0; b < rb.count; ++b) {
      const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
      const float* wg = weight + g * Mg * K;
      pack_rows(r0, mr, K, [&](int64_t m, int64_t k) { return wg[m * K + k]; }, packed + (g * Mg + r0) * K);
    }

  const int64_t per_thread = xp_size + Mg * Jr;
  const int nt = (cpu::worth_parallel(2 * p.N * p.C_out * Ho * Wo * K) && p.N > 1) ? cpu::max_threads() : 1;
  float* buf = zeroed_buffers(kScratchCols, per_thread, nt);
  cpu::parallel_for_dynamic(p.N, nt, [&](int64_t n) {
    float* xp = buf + cpu::thread_id() * per_thread;
    float* wide = xp + xp_size;
    for (int64_t g = 0; g < p.groups; ++g) {
      pad_planes(input + (n * p.C_in + g * Cg) * p.H * p.W, Cg, p.H, p.W, p.pad_h, p.pad_w, Hp, Wp, xp);
      run_wide<S>(w, xp, off, packed + g * Mg * K, wide, Jr);
      for (int64_t m = 0; m < Mg; ++m) {
        const int64_t co = g * Mg + m;
        const float bv = bias ? bias[co] : 0.f;
        float* y = output + (n * p.C_out + co) * Ho * Wo;
        const float* src = wide + m * Jr;
        for (int64_t oh = 0; oh < Ho; ++oh)
          for (int64_t ow = 0; ow < Wo; ++ow) y[oh * Wo + ow] = src[oh * Wp + ow] + bv;
      }
    }
  });
  return true;
}

template <class S>
bool backward_input(const Conv2dParams& p, const float* grad_output, const float* weight, float* grad_input) {
  if (!direct_ok(p) || (p.kH == 1 && p.kW == 1 && p.pad_h == 0 && p.pad_w == 0)) return false;
  // Full correlation needs padding (k-1)*d - pad >= 0 on each side.
  const int64_t top = (p.kH - 1) * p.dilation_h - p.pad_h, left = (p.kW - 1) * p.dilation_w - p.pad_w;
  if (top < 0 || left < 0) return false;
  const int64_t Cg = p.C_in / p.groups, Mg = p.C_out / p.groups, Ho = p.out_h(), Wo = p.out_w();
  const int64_t Hp = Ho + 2 * top, Wp = Wo + 2 * left;  // Hp - (kH-1)*dh == H
  // Roles swap: the source has Mg channels (grad_output), the result Cg (grad_input).
  const WideConv w = make_wide<S>(Mg, Hp, Wp, p.kH, p.kW, p.dilation_h, p.dilation_w, p.H, Cg);
  const bool rows = p.W <= S::W;  // row tiles, below
  const int64_t R = w.NV, tiles = (p.H + R - 1) / R;
  // Row tiles read up to R - 1 rows past the last real one (their results are dropped).
  const int64_t K = w.K(), Jr = w.Jround(), src_size = Mg * Hp * Wp + w.slack() + (rows ? (R - 1) * Wp : 0);
  const int64_t taps = p.kH * p.kW;

  int64_t* off = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + p.groups * Cg * K));
  float* packed = reinterpret_cast<float*>(off + K);
  fill_offsets(w, off);
  const RowBlocks rb = row_blocks(Cg, max_rows<S>());
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t b = 0; b < rb.count; ++b) {
      const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
      const float* wg = weight + g * Mg * Cg * taps;
      // Row ci, column (co, kh, kw) = w[co][ci][kH-1-kh][kW-1-kw]: transposed and flipped.
      pack_rows(r0, mr, K,
                [&](int64_t ci, int64_t k) {
                  const int64_t co = k / taps, t = k % taps;
                  return wg[(co * Cg + ci) * taps + (taps - 1 - t)];
                },
                packed + (g * Cg + r0) * K);
    }

  // Planes no wider than a vector run on row tiles: one vector per output row (no positions of
  // the wide grid spill into the next row) and, per tile of rows, only the taps whose kernel row
  // lands on a real grad_output row for one of them. The padding of the full correlation is
  // (k-1)*d - pad rows deep; for LeNet's 'valid' 5x5 layer that skips 2 of every 7 taps.
  int32_t* tap_list = nullptr;
  int64_t* tap_start = nullptr;
  if (rows) {
    tap_start = scratch<int64_t>(kScratchOffsets, static_cast<size_t>(tiles + 1 + (tiles * K + 1) / 2));
    tap_list = reinterpret_cast<int32_t*>(tap_start + tiles + 1);
    int64_t n = 0;
    for (int64_t t = 0; t < tiles; ++t) {
      tap_start[t] = n;
      const int64_t h0 = t * R, h1 = std::min(p.H, h0 + R) - 1;
      // Rows h of the tile read source rows h + kh*dh; real ones are [top, top + Ho).
      const int64_t lo = std::max<int64_t>(0, (top - h1 + p.dilation_h - 1) / p.dilation_h);
      const int64_t hi = std::min<int64_t>(p.kH - 1, (top + Ho - 1 - h0) / p.dilation_h);
      for (int64_t co = 0; co < Mg; ++co)
        for (int64_t kh = lo; kh <= hi; ++kh)
          for (int64_t kw = 0; kw < p.kW; ++kw) tap_list[n++] = static_cast<int32_t>((co * p.kH + kh) * p.kW + kw);
    }
    tap_start[tiles] = n;
  }
  const int64_t plane = rows ? tiles * R * S::W : Jr;  // per output channel in `wide`

  const int64_t per_thread = src_size + Cg * plane;
  const int nt = (cpu::worth_parallel(2 * p.N * p.C_in * p.H * p.W * K) && p.N > 1) ? cpu::max_threads() : 1;
  float* buf = zeroed_buffers(kScratchCols, per_thread, nt);
  cpu::parallel_for_dynamic(p.N, nt, [&](int64_t n) {
    float* src = buf + cpu::thread_id() * per_thread;
    float* wide = src + src_size;
    for (int64_t g = 0; g < p.groups; ++g) {
      pad_planes(grad_output + (n * p.C_out + g * Mg) * Ho * Wo, Mg, Ho, Wo, top, left, Hp, Wp, src);
      const float* pk = packed + g * Cg * K;
      if (rows) {
        for (int64_t t = 0; t < tiles; ++t)
          for (int64_t b = 0; b < rb.count; ++b) {
            const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
            const int32_t* tl = tap_list + tap_start[t];
            const int64_t ntl = tap_start[t + 1] - tap_start[t];
            const float* s0 = src + t * R * Wp;
            float* d = wide + r0 * plane + t * R * S::W;
            const int m = static_cast<int>(mr);
            if constexpr (S::kRegs >= 32) {
              switch (R) {
                case 3: row_tile_mr<S, 3>(m, s0, Wp, off, tl, ntl, pk + r0 * K, d, plane, S::W); break;
                case 4: row_tile_mr<S, 4>(m, s0, Wp, off, tl, ntl, pk + r0 * K, d, plane, S::W); break;
                case 6: row_tile_mr<S, 6>(m, s0, Wp, off, tl, ntl, pk + r0 * K, d, plane, S::W); break;
                default: row_tile_mr<S, 8>(m, s0, Wp, off, tl, ntl, pk + r0 * K, d, plane, S::W); break;
              }
            } else {
              switch (R) {
                case 2: row_tile_mr<S, 2>(m, s0, Wp, off, tl, ntl, pk + r0 * K, d, plane, S::W); break;
                case 3: row_tile_mr<S, 3>(m, s0, Wp, off, tl, ntl, pk + r0 * K, d, plane, S::W); break;
                case 4: row_tile_mr<S, 4>(m, s0, Wp, off, tl, ntl, pk + r0 * K, d, plane, S::W); break;
                default: row_tile_mr<S, 6>(m, s0, Wp, off, tl, ntl, pk + r0 * K, d, plane, S::W); break;
              }
            }
          }
      } else {
        run_wide<S>(w, src, off, pk, wide, Jr);
      }
      const int64_t ld = rows ? S::W : Wp;  // row stride of `wide`
      for (int64_t c = 0; c < Cg; ++c) {
        float* gx = grad_input + (n * p.C_in + g * Cg + c) * p.H * p.W;
        const float* s = wide + c * plane;
        for (int64_t h = 0; h < p.H; ++h)
          for (int64_t x = 0; x < p.W; ++x) gx[h * p.W + x] = s[h * ld + x];
      }
    }
  });
  return true;
}

// ---- backward weight ------------------------------------------------------------------------

// Everything one backward-weight tile needs to walk a chunk of images.
template <class S>
struct BwChunk {
  const float* xp;   // padded images of the chunk, img_stride apart (one group)
  int64_t img_stride;
  const float* gy;   // grad_output of the chunk's first image, this group's channel 0
  int64_t gy_img_stride, gy_plane;
  int64_t images, Ho, Wo, Wp;
  typename S::M tail_mask;  // lanes < Wo % W
};

// One vector of pixels: acc[r][t] += gy[r][ow..ow+W) * x[t][ow..ow+W). The smaller side is held
// in registers and the larger one streamed, so MR*T accumulators + min(MR,T) + 1 fit in the
// registers for every tile shape used. With a mask (the row tail), loads read zeros past the
// row end on both sides, so junk never enters (not even 0 * inf).
template <class S, int MR, int T, bool kMasked>
inline void step(typename S::V (&acc)[MR][T], const float* gr, int64_t gy_plane, const float* const (&xr)[T],
                 int64_t ow, typename S::M mask) {
  using V = typename S::V;
  auto load = [&](const float* ptr) {
    if constexpr (kMasked) {
      return S::maskz_load(mask, ptr);
    } else {
      return S::load(ptr);
    }
  };
  if constexpr (MR <= T) {
    V a[MR];
    EMBER_UNROLL for (int r = 0; r < MR; ++r) a[r] = load(gr + r * gy_plane + ow);
    EMBER_UNROLL for (int t = 0; t < T; ++t) {
      const V b = load(xr[t] + ow);
      EMBER_UNROLL for (int r = 0; r < MR; ++r) acc[r][t] = S::fma(a[r], b, acc[r][t]);
    }
  } else {
    V b[T];
    EMBER_UNROLL for (int t = 0; t < T; ++t) b[t] = load(xr[t] + ow);
    EMBER_UNROLL for (int r = 0; r < MR; ++r) {
      const V a = load(gr + r * gy_plane + ow);
      EMBER_UNROLL for (int t = 0; t < T; ++t) acc[r][t] = S::fma(a, b[t], acc[r][t]);
    }
  }
}

// out[r*ldo + t] = sum over the chunk of gy[co0+r] * xp[off[k0+t] + pixel], as vector lanes
// summed once at the end.
template <class S, int MR, int T>
void bw_tile(const BwChunk<S>& c, int64_t co0, const int64_t* off, float* out, int64_t ldo) {
  using V = typename S::V;
  constexpr int W = S::W;
  V acc[MR][T];
  EMBER_UNROLL for (int r = 0; r < MR; ++r)
    EMBER_UNROLL for (int t = 0; t < T; ++t) acc[r][t] = S::zero();
  const int64_t full = c.Wo / W * W;
  const bool tail = full < c.Wo;
  for (int64_t n = 0; n < c.images; ++n) {
    const float* xn = c.xp + n * c.img_stride;
    const float* gn = c.gy + n * c.gy_img_stride + co0 * c.gy_plane;
    for (int64_t oh = 0; oh < c.Ho; ++oh) {
      const float* xr[T];
      EMBER_UNROLL for (int t = 0; t < T; ++t) xr[t] = xn + off[t] + oh * c.Wp;
      const float* gr = gn + oh * c.Wo;
      for (int64_t ow = 0; ow < full; ow += W) step<S, MR, T, false>(acc, gr, c.gy_plane, xr, ow, c.tail_mask);
      if (tail) step<S, MR, T, true>(acc, gr, c.gy_plane, xr, full, c.tail_mask);
    }
  }
  EMBER_UNROLL for (int r = 0; r < MR; ++r)
    EMBER_UNROLL for (int t = 0; t < T; ++t) out[r * ldo + t] = S::hsum(acc[r][t]);
}

// Channel rows per block and taps per tile for MR rows (about 3/4 of the registers as
// accumulators).
template <class S>
constexpr int bw_max_rows() {
  return S::kRegs >= 32 ? 6 : 4;
}

template <class S>
constexpr int taps_for(int mr) {
  if constexpr (S::kRegs >= 32) {
    return mr >= 5 ? 4 : (mr == 4 ? 6 : (mr == 3 ? 8 : 12));
  } else {
    return mr >= 4 ? 3 : (mr == 3 ? 4 : 6);
  }
}

template <class S, int MR, int T>
inline void bw_tile_fit(const BwChunk<S>& c, int64_t co0, const int64_t* off, float* out, int64_t ldo) {
  if constexpr (MR <= bw_max_rows<S>() && T <= taps_for<S>(MR)) bw_tile<S, MR, T>(c, co0, off, out, ldo);
}

template <class S, int MR>
void bw_tile_t(int t, const BwChunk<S>& c, int64_t co0, const int64_t* off, float* out, int64_t ldo) {
  switch (t) {
    case 1: bw_tile_fit<S, MR, 1>(c, co0, off, out, ldo); break;
    case 2: bw_tile_fit<S, MR, 2>(c, co0, off, out, ldo); break;
    case 3: bw_tile_fit<S, MR, 3>(c, co0, off, out, ldo); break;
    case 4: bw_tile_fit<S, MR, 4>(c, co0, off, out, ldo); break;
    case 5: bw_tile_fit<S, MR, 5>(c, co0, off, out, ldo); break;
    case 6: bw_tile_fit<S, MR, 6>(c, co0, off, out, ldo); break;
    case 7: bw_tile_fit<S, MR, 7>(c, co0, off, out, ldo); break;
    case 8: bw_tile_fit<S, MR, 8>(c, co0, off, out, ldo); break;
    case 9: bw_tile_fit<S, MR, 9>(c, co0, off, out, ldo); break;
    case 10: bw_tile_fit<S, MR, 10>(c, co0, off, out, ldo); break;
    case 11: bw_tile_fit<S, MR, 11>(c, co0, off, out, ldo); break;
    default: bw_tile_fit<S, MR, 12>(c, co0, off, out, ldo); break;
  }
}

template <class S>
void bw_tile_any(int mr, int t, const BwChunk<S>& c, int64_t co0, const int64_t* off, float* out, int64_t ldo) {
  switch (mr) {
    case 1: bw_tile_t<S, 1>(t, c, co0, off, out, ldo); break;
    case 2: bw_tile_t<S, 2>(t, c, co0, off, out, ldo); break;
    case 3: bw_tile_t<S, 3>(t, c, co0, off, out, ldo); break;
    case 4: bw_tile_t<S, 4>(t, c, co0, off, out, ldo); break;
    case 5: bw_tile_t<S, 5>(t, c, co0, off, out, ldo); break;
    default: bw_tile_t<S, 6>(t, c, co0, off, out, ldo); break;
  }
}

// Same chunking as the GEMM path (conv.cc): fixed by the shape, at most 16 chunks.
int64_t bw_chunks(const Conv2dParams& p) {
  const int64_t wbytes = p.C_out * (p.C_in / p.groups) * p.kH * p.kW * 4;
  const int64_t by_memory = std::max<int64_t>(1, (int64_t(16) << 20) / std::max<int64_t>(wbytes, 1));
  return std::max<int64_t>(1, std::min<int64_t>({p.N, 16, by_memory}));
}

template <class S>
bool backward_weight(const Conv2dParams& p, const float* input, const float* grad_output, float* grad_weight) {
  if (!direct_ok(p) || p.N == 0) return false;
  const int64_t Cg = p.C_in / p.groups, Mg = p.C_out / p.groups, Ho = p.out_h(), Wo = p.out_w();
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w;
  const WideConv w = make_wide<S>(Cg, Hp, Wp, p.kH, p.kW, p.dilation_h, p.dilation_w, Ho, Mg);
  const int64_t K = w.K(), wsize = p.C_out * K, img = Cg * Hp * Wp + S::W;
  const int64_t nchunks = bw_chunks(p), max_imgs = (p.N + nchunks - 1) / nchunks;

  int64_t* off = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + (nchunks - 1) * wsize));
  float* partials = reinterpret_cast<float*>(off + K);
  fill_offsets(w, off);

  int nt = cpu::max_threads();
  if (nt <= 1 || cpu::in_parallel() || !cpu::worth_parallel(2 * p.N * p.C_out * Ho * Wo * K) || nchunks < 2) nt = 1;
  const int64_t per_thread = max_imgs * img;
  float* buf = zeroed_buffers(kScratchPadded, per_thread, nt);
  const RowBlocks rb = row_blocks(Mg, bw_max_rows<S>());
  const typename S::M tail_mask = S::mask_for(Wo % S::W);

  cpu::parallel_for_dynamic(nchunks, nt, [&](int64_t ch) {
    float* xp = buf + cpu::thread_id() * per_thread;
    float* gw = ch == 0 ? grad_weight : partials + (ch - 1) * wsize;
    const int64_t n0 = ch * p.N / nchunks, n1 = (ch + 1) * p.N / nchunks;
    for (int64_t g = 0; g < p.groups; ++g) {
      for (int64_t n = n0; n < n1; ++n)
        pad_planes(input + (n * p.C_in + g * Cg) * p.H * p.W, Cg, p.H, p.W, p.pad_h, p.pad_w, Hp, Wp,
                   xp + (n - n0) * img);
      BwChunk<S> c{xp, img, grad_output + (n0 * p.C_out + g * Mg) * Ho * Wo, p.C_out * Ho * Wo, Ho * Wo,
                   n1 - n0, Ho, Wo, Wp, tail_mask};
      float* gwg = gw + g * Mg * K;
      for (int64_t b = 0; b < rb.count; ++b) {
        const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
        const int64_t T = taps_for<S>(static_cast<int>(mr));
        for (int64_t k0 = 0; k0 < K; k0 += T) {
          const int64_t t = std::min(T, K - k0);
          bw_tile_any<S>(static_cast<int>(mr), static_cast<int>(t), c, r0, off + k0, gwg + r0 * K + k0, K);
        }
      }
    }
  });
  sum_chunk_partials(grad_weight, partials, nchunks, wsize);
  return true;
}

}  // namespace
}  // namespace direct_impl
}  // namespace ember::kernels

#undef EMBER_UNROLL
