// Convolution with images in the vector lanes (16 per AVX-512 vector, 8 per AVX2 one), for
// small-channel layers at a batch of at least one vector.
//
// The direct kernels (conv_direct_impl.h) put output positions or channels in the lanes. LeNet's
// 6->16 layer has 10-pixel output rows and 16 channels, so about a third of every position vector
// is padding or wasted work, and a channel vector needs one broadcast per FMA. With images in the
// lanes every lane is a real output. Each group of W images is copied to an "NCHWn" layout
// (xT[c][h][w][image], zero-padded), and a tile is plain register blocking: per tap, NP position
// vectors times MR broadcast weights.
// - forward: the result yT[co][oh][ow][image] is transposed back, with the bias added, as it is
//   written to NCHW. Each output is the same chain of FMAs over the taps (c, kh, kw) in order as
//   in the direct kernel, so an image gets the same bits in a batch or alone.
// - input gradient: a forward convolution of grad_output, zero-padded by the kernel's reach less
//   the forward padding, with the kernel flipped and C_in/C_out swapped. Taps are ordered (kernel
//   row, channel, kernel column), so each input row runs over the one contiguous range of kernel
//   rows that land on real grad_output rows (LeNet's 6->16 skips ~30% of the taps).
// - weight gradient: per (channel, tap) one vector of W per-image sums over the output positions,
//   summed across the lanes at the end; groups' sums are added in group order.
// Every result is independent of the thread count. Images beyond the last whole group go to the
// direct kernels (the *_then_rest functions).
//
// Included only by the ISA translation units (conv_direct_avx2.cc, conv_direct_avx512.cc), after
// their vector traits S (W lanes, kRegs registers, V, zero/load/store/set1/fma/hsum).
#pragma once

#include <algorithm>
#include <vector>

#include "kernels/cpu/conv_direct_impl.h"
#include "kernels/cpu/simd_transpose.h"

#define EMBER_UNROLL _Pragma("GCC unroll 16")

namespace ember::kernels::batch_lanes {
namespace {

// The group's input and output copies should stay in L2: 16 copies of a 3->32 layer's 32x32
// outputs (2 MB) made it slower than the direct kernel, LeNet's 6->16 (100 KB) 1.7x faster.
constexpr int64_t kMaxCopyFloats = 64 * 1024;

// Register tiles: MR rows (channels) x NP positions, or MR channels x T taps for the weight
// gradient, with the accumulators, one row of loaded vectors and a broadcast in the registers.
constexpr int kMaxRows = 4;
template <class S>
constexpr int max_positions() {
  return S::kRegs >= 32 ? 6 : 3;
}
template <class S>
constexpr int weight_rows() {
  return S::kRegs >= 32 ? 4 : 3;
}
template <class S>
constexpr int weight_taps() {
  return S::kRegs >= 32 ? 6 : 4;
}

template <class S>
bool takes(const Conv2dParams& p, int64_t in_floats, int64_t out_floats, int64_t max_floats) {
  const bool pointwise = p.kH == 1 && p.kW == 1 && p.pad_h == 0 && p.pad_w == 0;
  if (!direct_impl::direct_ok(p) || pointwise || p.groups != 1 || p.N < S::W) return false;
  return S::W * std::max(in_floats, out_floats) <= max_floats;
}

// ys[r*co_stride + W*j + l] = sum_k wp[k*MR + r] * xs[off[k] + W*j + l] for r < MR, j < NP.
template <class S, int MR, int NP>
void tile(const float* xs, const int64_t* off, int64_t K, const float* wp, float* ys, int64_t co_stride) {
  if constexpr (MR * NP + NP + 1 <= S::kRegs) {
    using V = typename S::V;
    V acc[MR][NP];
    EMBER_UNROLL for (int r = 0; r < MR; ++r)
      EMBER_UNROLL for (int j = 0; j < NP; ++j) acc[r][j] = S::zero();
    for (int64_t k = 0; k < K; ++k) {
      const float* s = xs + off[k];
      V b[NP];
      EMBER_UNROLL for (int j = 0; j < NP; ++j) b[j] = S::load(s + S::W * j);
      const float* w = wp + k * MR;
      EMBER_UNROLL for (int r = 0; r < MR; ++r) {
        const V a = S::set1(w[r]);
        EMBER_UNROLL for (int j = 0; j < NP; ++j) acc[r][j] = S::fma(a, b[j], acc[r][j]);
      }
    }
    EMBER_UNROLL for (int r = 0; r < MR; ++r)
      EMBER_UNROLL for (int j = 0; j < NP; ++j) S::store(ys + r * co_stride + S::W * j, acc[r][j]);
  }
}

template <class S, int MR>
void tile_np(int np, const float* xs, const int64_t* off, int64_t K, const float* wp, float* ys, int64_t cs) {
  switch (np) {
    case 1: tile<S, MR, 1>(xs, off, K, wp, ys, cs); break;
    case 2: tile<S, MR, 2>(xs, off, K, wp, ys, cs); break;
    case 3: tile<S, MR, 3>(xs, off, K, wp, ys, cs); break;
    case 4: tile<S, MR, 4>(xs, off, K, wp, ys, cs); break;
    case 5: tile<S, MR, 5>(xs, off, K, wp, ys, cs); break;
    default: tile<S, MR, 6>(xs, off, K, wp, ys, cs); break;
  }
}

template <class S>
void tile_any(int mr, int np, const float* xs, const int64_t* off, int64_t K, const float* wp, float* ys,
              int64_t cs) {
  switch (mr) {
    case 1: tile_np<S, 1>(np, xs, off, K, wp, ys, cs); break;
    case 2: tile_np<S, 2>(np, xs, off, K, wp, ys, cs); break;
    case 3: tile_np<S, 3>(np, xs, off, K, wp, ys, cs); break;
    default: tile_np<S, 4>(np, xs, off, K, wp, ys, cs); break;
  }
}

// out[r*K + t] = sum over the group's images (lanes) and output positions q of
// gyT[r*co_stride + W*q] * xT[off[t] + W*pos(q)], r < MR, t < T; the lanes are summed last.
template <class S, int MR, int T>
void weight_tile(const float* gyT, int64_t co_stride, int64_t Ho, int64_t Wo, int64_t Wp, const float* xT,
                 const int64_t* off, float* out, int64_t K) {
  if constexpr (MR * T + MR + 1 <= S::kRegs) {
    using V = typename S::V;
    V acc[MR][T];
    EMBER_UNROLL for (int r = 0; r < MR; ++r)
      EMBER_UNROLL for (int t = 0; t < T; ++t) acc[r][t] = S::zero();
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const float* g = gyT + (oh * Wo + ow) * S::W;
        const float* x = xT + (oh * Wp + ow) * S::W;
        V gv[MR];
        EMBER_UNROLL for (int r = 0; r < MR; ++r) gv[r] = S::load(g + r * co_stride);
        EMBER_UNROLL for (int t = 0; t < T; ++t) {
          const V xv = S::load(x + off[t]);
          EMBER_UNROLL for (int r = 0; r < MR; ++r) acc[r][t] = S::fma(gv[r], xv, acc[r][t]);
        }
      }
    EMBER_UNROLL for (int r = 0; r < MR; ++r)
      EMBER_UNROLL for (int t = 0; t < T; ++t) out[r * K + t] = S::hsum(acc[r][t]);
  }
}

template <class S, int MR>
void weight_tile_t(int t, const float* gyT, int64_t cs, int64_t Ho, int64_t Wo, int64_t Wp, const float* xT,
                   const int64_t* off, float* out, int64_t K) {
  switch (t) {
    case 1: weight_tile<S, MR, 1>(gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
    case 2: weight_tile<S, MR, 2>(gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
    case 3: weight_tile<S, MR, 3>(gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
    case 4: weight_tile<S, MR, 4>(gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
    case 5: weight_tile<S, MR, 5>(gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
    default: weight_tile<S, MR, 6>(gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
  }
}

template <class S>
void weight_tile_any(int mr, int t, const float* gyT, int64_t cs, int64_t Ho, int64_t Wo, int64_t Wp,
                     const float* xT, const int64_t* off, float* out, int64_t K) {
  switch (mr) {
    case 1: weight_tile_t<S, 1>(t, gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
    case 2: weight_tile_t<S, 2>(t, gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
    case 3: weight_tile_t<S, 3>(t, gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
    default: weight_tile_t<S, 4>(t, gyT, cs, Ho, Wo, Wp, xT, off, out, K); break;
  }
}

// xT[((c*Hp + h + top)*Wp + w + left)*W + i] = x[i*img + (c*H + h)*Wd + w] for the group's images
// i, through 8 x 8 register transposes; the padding of xT stays as the caller zeroed it.
template <class S>
void to_lanes(const float* x, int64_t img, int64_t C, int64_t H, int64_t Wd, int64_t top, int64_t left, int64_t Hp,
              int64_t Wp, float* xT) {
  const int64_t W8 = Wd / 8 * 8;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < H; ++h) {
      const float* src = x + (c * H + h) * Wd;
      float* dst = xT + ((c * Hp + h + top) * Wp + left) * S::W;
      for (int64_t ib = 0; ib < S::W; ib += 8) {
        for (int64_t w = 0; w < W8; w += 8) {
          __m256 r[8];
          for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (ib + i) * img + w);
          transpose8x8(r);  // r[j]: images ib..ib+7 at column w + j
          for (int j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (w + j) * S::W + ib, r[j]);
        }
        for (int64_t w = W8; w < Wd; ++w)
          for (int64_t i = ib; i < ib + 8; ++i) dst[w * S::W + i] = src[i * img + w];
      }
    }
}

// y[i*img + c*P + q] = yT[(c*P + q)*W + i] (+ bias[c]) for the group's images i, P positions.
template <class S>
void from_lanes(const float* yT, int64_t C, int64_t P, const float* bias, float* y, int64_t img) {
  const int64_t P8 = P / 8 * 8;
  for (int64_t c = 0; c < C; ++c) {
    const float* src = yT + c * P * S::W;
    float* dst = y + c * P;
    const float bv = bias ? bias[c] : 0.f;
    const __m256 b = _mm256_set1_ps(bv);
    for (int64_t ib = 0; ib < S::W; ib += 8) {
      for (int64_t q = 0; q < P8; q += 8) {
        __m256 r[8];
        for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src + (q + j) * S::W + ib);
        transpose8x8(r);  // r[i]: image ib + i at positions q..q+7
        for (int i = 0; i < 8; ++i)
          _mm256_storeu_ps(dst + (ib + i) * img + q, bias ? _mm256_add_ps(r[i], b) : r[i]);
      }
      for (int64_t q = P8; q < P; ++q)
        for (int64_t i = ib; i < ib + 8; ++i) dst[i * img + q] = bias ? src[q * S::W + i] + bv : src[q * S::W + i];
    }
  }
}

// Tap offsets (in floats of the NCHWn copy) of a kernel over C planes of Hp x Wp, taps (c, kh, kw).
template <class S>
void fill_offsets(const Conv2dParams& p, int64_t C, int64_t Hp, int64_t Wp, int64_t* off) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < p.kH; ++kh)
      for (int64_t kw = 0; kw < p.kW; ++kw)
        off[(c * p.kH + kh) * p.kW + kw] = ((c * Hp + kh * p.dilation_h) * Wp + kw * p.dilation_w) * S::W;
}

// Threads for the groups. Whether this path runs never depends on the thread count: its gradients
// sum in another order than the direct kernels', and results must be the same bits for any thread
// count. So a batch of one group (16-31 images on AVX-512) runs on one thread, though the direct
// kernels would share its images out (tried: test_conv's 1-vs-2-thread checks fail).
template <class S>
int threads_for(const Conv2dParams& p, int64_t groups) {
  const int64_t flops = 2 * p.N * p.C_out * p.out_h() * p.out_w() * p.C_in * p.kH * p.kW;
  return cpu::worth_parallel(flops) && groups > 1 ? cpu::max_threads() : 1;
}

// The first N / W * W images; returns how many (0 when the shape is not one it takes).
template <class S>
int64_t forward(const Conv2dParams& p, const float* input, const float* weight, const float* bias, float* output) {
  using namespace direct_impl;
  const int64_t C = p.C_in, M = p.C_out, Ho = p.out_h(), Wo = p.out_w();
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w, K = C * p.kH * p.kW;
  if (!takes<S>(p, C * Hp * Wp, M * Ho * Wo, kMaxCopyFloats)) return 0;
  const int64_t groups = p.N / S::W, in_img = C * p.H * p.W, out_img = M * Ho * Wo;

  int64_t* off = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + M * K));
  float* packed = reinterpret_cast<float*>(off + K);
  fill_offsets<S>(p, C, Hp, Wp, off);
  const RowBlocks rb = row_blocks(M, kMaxRows);
  for (int64_t b = 0; b < rb.count; ++b) {
    const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
    pack_rows(r0, mr, K, [&](int64_t m, int64_t k) { return weight[m * K + k]; }, packed + r0 * K);
  }

  const int64_t xT_size = C * Hp * Wp * S::W, per_thread = xT_size + out_img * S::W;
  const int nt = threads_for<S>(p, groups);
  float* buf = zeroed_buffers(kScratchCols, per_thread, nt);
  cpu::parallel_for_dynamic(groups, nt, [&](int64_t gi) {
    float* xT = buf + cpu::thread_id() * per_thread;
    float* yT = xT + xT_size;
    to_lanes<S>(input + gi * S::W * in_img, in_img, C, p.H, p.W, p.pad_h, p.pad_w, Hp, Wp, xT);
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ow += max_positions<S>()) {
        const int np = static_cast<int>(std::min<int64_t>(max_positions<S>(), Wo - ow));
        for (int64_t b = 0; b < rb.count; ++b) {
          const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
          tile_any<S>(static_cast<int>(mr), np, xT + (oh * Wp + ow) * S::W, off, K, packed + r0 * K,
                      yT + ((r0 * Ho + oh) * Wo + ow) * S::W, Ho * Wo * S::W);
        }
      }
    from_lanes<S>(yT, M, Ho * Wo, bias, output + gi * S::W * out_img, out_img);
  });
  return groups * S::W;
}

template <class S>
int64_t backward_input(const Conv2dParams& p, const float* grad_output, const float* weight, float* grad_input) {
  using namespace direct_impl;
  const int64_t C = p.C_in, M = p.C_out, Ho = p.out_h(), Wo = p.out_w(), kH = p.kH, kW = p.kW;
  const int64_t top = (kH - 1) * p.dilation_h - p.pad_h, left = (kW - 1) * p.dilation_w - p.pad_w;
  if (top < 0 || left < 0) return 0;  // padding beyond the kernel's reach: the direct kernel crops
  const int64_t Hg = p.H + (kH - 1) * p.dilation_h, Wg = p.W + (kW - 1) * p.dilation_w;  // padded grad_output
  const int64_t in_img = C * p.H * p.W, out_img = M * Ho * Wo, K = M * kH * kW;
  // The padded grad_output copy is the larger one here; it is only read, so it may be bigger.
  if (!takes<S>(p, M * Hg * Wg, in_img, 2 * kMaxCopyFloats)) return 0;
  const int64_t groups = p.N / S::W;

  // Tap k = (kh, co, kw) of the flipped kernel reads gyP[co][ih + kh*dh][iw + kw*dw].
  int64_t* off = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + C * K));
  float* packed = reinterpret_cast<float*>(off + K);
  for (int64_t kh = 0; kh < kH; ++kh)
    for (int64_t co = 0; co < M; ++co)
      for (int64_t kw = 0; kw < kW; ++kw)
        off[(kh * M + co) * kW + kw] = ((co * Hg + kh * p.dilation_h) * Wg + kw * p.dilation_w) * S::W;
  auto flipped = [&](int64_t ci, int64_t k) {
    const int64_t kh = k / (M * kW), co = (k / kW) % M, kw = k % kW;
    return weight[((co * C + ci) * kH + (kH - 1 - kh)) * kW + (kW - 1 - kw)];
  };
  const RowBlocks rb = row_blocks(C, kMaxRows);
  for (int64_t b = 0; b < rb.count; ++b) {
    const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
    pack_rows(r0, mr, K, flipped, packed + r0 * K);
  }

  const int64_t gy_size = M * Hg * Wg * S::W, per_thread = gy_size + in_img * S::W, per_kh = M * kW;
  const int nt = threads_for<S>(p, groups);
  float* buf = zeroed_buffers(kScratchCols, per_thread, nt);
  cpu::parallel_for_dynamic(groups, nt, [&](int64_t gi) {
    float* gyP = buf + cpu::thread_id() * per_thread;
    float* dxT = gyP + gy_size;
    to_lanes<S>(grad_output + gi * S::W * out_img, out_img, M, Ho, Wo, top, left, Hg, Wg, gyP);
    for (int64_t ih = 0; ih < p.H; ++ih) {
      // Kernel rows whose grad_output row top <= ih + kh*dh < top + Ho.
      int64_t kh0 = 0, kh1 = kH;
      while (kh0 < kH && ih + kh0 * p.dilation_h < top) ++kh0;
      while (kh1 > kh0 && ih + (kh1 - 1) * p.dilation_h >= top + Ho) --kh1;
      const int64_t k0 = kh0 * per_kh, nk = (kh1 - kh0) * per_kh;
      for (int64_t iw = 0; iw < p.W; iw += max_positions<S>()) {
        const int np = static_cast<int>(std::min<int64_t>(max_positions<S>(), p.W - iw));
        for (int64_t b = 0; b < rb.count; ++b) {
          const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
          tile_any<S>(static_cast<int>(mr), np, gyP + (ih * Wg + iw) * S::W, off + k0, nk, packed + r0 * K + k0 * mr,
                      dxT + ((r0 * p.H + ih) * p.W + iw) * S::W, p.H * p.W * S::W);
        }
      }
    }
    from_lanes<S>(dxT, C, p.H * p.W, nullptr, grad_input + gi * S::W * in_img, in_img);
  });
  return groups * S::W;
}

template <class S>
int64_t backward_weight(const Conv2dParams& p, const float* input, const float* grad_output, float* grad_weight) {
  using namespace direct_impl;
  const int64_t C = p.C_in, M = p.C_out, Ho = p.out_h(), Wo = p.out_w();
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w, K = C * p.kH * p.kW, wsize = M * K;
  if (!takes<S>(p, C * Hp * Wp, M * Ho * Wo, kMaxCopyFloats)) return 0;
  const int64_t groups = p.N / S::W, in_img = C * p.H * p.W, out_img = M * Ho * Wo;

  // Group 0 writes grad_weight, groups 1.. their own partial sums, added in group order after.
  int64_t* off = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + (groups - 1) * wsize));
  float* partials = reinterpret_cast<float*>(off + K);
  fill_offsets<S>(p, C, Hp, Wp, off);

  const int64_t xT_size = C * Hp * Wp * S::W, per_thread = xT_size + out_img * S::W;
  const int nt = threads_for<S>(p, groups);
  float* buf = zeroed_buffers(kScratchCols, per_thread, nt);
  const RowBlocks rb = row_blocks(M, weight_rows<S>());
  cpu::parallel_for_dynamic(groups, nt, [&](int64_t gi) {
    float* xT = buf + cpu::thread_id() * per_thread;
    float* gyT = xT + xT_size;
    to_lanes<S>(input + gi * S::W * in_img, in_img, C, p.H, p.W, p.pad_h, p.pad_w, Hp, Wp, xT);
    to_lanes<S>(grad_output + gi * S::W * out_img, out_img, 1, M, Ho * Wo, 0, 0, M, Ho * Wo, gyT);
    float* gw = gi == 0 ? grad_weight : partials + (gi - 1) * wsize;
    for (int64_t b = 0; b < rb.count; ++b) {
      const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
      for (int64_t k0 = 0; k0 < K; k0 += weight_taps<S>()) {
        const int t = static_cast<int>(std::min<int64_t>(weight_taps<S>(), K - k0));
        weight_tile_any<S>(static_cast<int>(mr), t, gyT + r0 * Ho * Wo * S::W, Ho * Wo * S::W, Ho, Wo, Wp, xT,
                           off + k0, gw + r0 * K + k0, K);
      }
    }
  });
  sum_chunk_partials(grad_weight, partials, groups, wsize);
  return groups * S::W;
}

// The dispatch of an ISA unit: whole groups here, the images left over (the shape passed the same
// gate, so the direct kernel takes them) through `direct` on the rest of the batch.
template <class S, class Direct>
bool forward_then_rest(const Conv2dParams& p, const float* input, const float* weight, const float* bias,
                       float* output, Direct direct) {
  const int64_t done = forward<S>(p, input, weight, bias, output);
  if (done == 0) return direct(p, input, output);
  Conv2dParams rest = p;
  rest.N = p.N - done;
  return rest.N == 0 || direct(rest, input + done * p.C_in * p.H * p.W, output + done * p.C_out * p.out_h() * p.out_w());
}

template <class S, class Direct>
bool backward_input_then_rest(const Conv2dParams& p, const float* grad_output, const float* weight,
                              float* grad_input, Direct direct) {
  const int64_t done = backward_input<S>(p, grad_output, weight, grad_input);
  if (done == 0) return direct(p, grad_output, grad_input);
  Conv2dParams rest = p;
  rest.N = p.N - done;
  return rest.N == 0 ||
         direct(rest, grad_output + done * p.C_out * p.out_h() * p.out_w(), grad_input + done * p.C_in * p.H * p.W);
}

template <class S, class Direct>
bool backward_weight_then_rest(const Conv2dParams& p, const float* input, const float* grad_output,
                               float* grad_weight, Direct direct) {
  const int64_t done = backward_weight<S>(p, input, grad_output, grad_weight);
  if (done == 0) return direct(p, input, grad_output, grad_weight);
  if (done == p.N) return true;
  Conv2dParams rest = p;
  rest.N = p.N - done;
  std::vector<float> gw(static_cast<size_t>(p.C_out * p.C_in * p.kH * p.kW));  // groups == 1 here
  if (!direct(rest, input + done * p.C_in * p.H * p.W, grad_output + done * p.C_out * p.out_h() * p.out_w(),
              gw.data()))
    return false;
  for (size_t i = 0; i < gw.size(); ++i) grad_weight[i] += gw[i];  // after the groups' sum, in order
  return true;
}

}  // namespace
}  // namespace ember::kernels::batch_lanes

#undef EMBER_UNROLL
