// Forward and weight-gradient convolution with 16 images in the AVX-512 lanes, for small-channel
// layers at batch >= 16.
//
// The direct kernels put output positions (or channels) in the lanes. LeNet's 6->16 layer has
// 10-pixel output rows and 16 channels, so about a third of every position vector is padding or
// wasted work, and a channel vector needs one broadcast per FMA. With images in the lanes, every
// lane is a real output: each group of 16 images is copied to an NCHW16n layout
// (xT[c][h][w][image], zero-padded), and the tile is plain register blocking: per tap, NP position
// vectors times MR broadcast weights. The result yT[co][oh][ow][image] is transposed back, and the
// bias added, as it is written to NCHW. Each output is the same chain of FMAs over the taps in
// order whatever the thread count. The weight gradient reads grad_output in the same layout: per
// (channel, tap) one vector of 16 per-image sums over the positions, summed across the lanes at
// the end. Left-over images (N % 16) go to the direct kernels.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <vector>

#include "kernels/cpu/conv_direct_impl.h"
#include "kernels/cpu/simd_transpose.h"

namespace ember::kernels {

#if defined(__AVX512F__)

namespace {

constexpr int64_t kLanes = 16;  // images per vector
constexpr int kMaxRows = 4;     // output channels per tile (MR)
constexpr int kMaxPositions = 6;  // output positions per tile (NP): MR * NP + NP + 1 <= 32 registers

// The batch's input and output copies should stay in L2: 16 copies of a 3->32 layer's 32x32
// outputs (2 MB) made it slower than the direct kernel, LeNet's 6->16 (100 KB) 1.7x faster.
constexpr int64_t kMaxCopyFloats = 64 * 1024;

bool takes(const Conv2dParams& p) {
  const bool pointwise = p.kH == 1 && p.kW == 1 && p.pad_h == 0 && p.pad_w == 0;
  if (!direct_impl::direct_ok(p) || pointwise || p.groups != 1 || p.N < kLanes) return false;
  const int64_t in = p.C_in * (p.H + 2 * p.pad_h) * (p.W + 2 * p.pad_w), out = p.C_out * p.out_h() * p.out_w();
  return kLanes * std::max(in, out) <= kMaxCopyFloats;
}

// ys[r*co_stride + 16j + l] = sum_k wp[k*MR + r] * xs[off16[k] + 16j + l] for r < MR, j < NP.
template <int MR, int NP>
void bl_tile(const float* xs, const int64_t* off16, int64_t K, const float* wp, float* ys, int64_t co_stride) {
  __m512 acc[MR][NP];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NP; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* s = xs + off16[k];
    __m512 b[NP];
#pragma GCC unroll 8
    for (int j = 0; j < NP; ++j) b[j] = _mm512_loadu_ps(s + kLanes * j);
    const float* w = wp + k * MR;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(w[r]);
#pragma GCC unroll 8
      for (int j = 0; j < NP; ++j) acc[r][j] = _mm512_fmadd_ps(a, b[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NP; ++j) _mm512_storeu_ps(ys + r * co_stride + kLanes * j, acc[r][j]);
}

template <int MR>
void bl_tile_np(int np, const float* xs, const int64_t* off16, int64_t K, const float* wp, float* ys, int64_t cs) {
  switch (np) {
    case 1: bl_tile<MR, 1>(xs, off16, K, wp, ys, cs); break;
    case 2: bl_tile<MR, 2>(xs, off16, K, wp, ys, cs); break;
    case 3: bl_tile<MR, 3>(xs, off16, K, wp, ys, cs); break;
    case 4: bl_tile<MR, 4>(xs, off16, K, wp, ys, cs); break;
    case 5: bl_tile<MR, 5>(xs, off16, K, wp, ys, cs); break;
    default: bl_tile<MR, 6>(xs, off16, K, wp, ys, cs); break;
  }
}

void bl_tile_any(int mr, int np, const float* xs, const int64_t* off16, int64_t K, const float* wp, float* ys,
                 int64_t cs) {
  switch (mr) {
    case 1: bl_tile_np<1>(np, xs, off16, K, wp, ys, cs); break;
    case 2: bl_tile_np<2>(np, xs, off16, K, wp, ys, cs); break;
    case 3: bl_tile_np<3>(np, xs, off16, K, wp, ys, cs); break;
    default: bl_tile_np<4>(np, xs, off16, K, wp, ys, cs); break;
  }
}

// xT[((c*Hp + h + top)*Wp + w + left)*16 + i] = x[i*img + (c*H + h)*W + w] for 16 images i; the
// padding of xT stays as the caller zeroed it.
void to_batch_lanes(const float* x, int64_t img, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left,
                    int64_t Hp, int64_t Wp, float* xT) {
  const int64_t W8 = W / 8 * 8;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < H; ++h) {
      const float* src = x + (c * H + h) * W;
      float* dst = xT + ((c * Hp + h + top) * Wp + left) * kLanes;
      for (int64_t ib = 0; ib < kLanes; ib += 8) {
        for (int64_t w = 0; w < W8; w += 8) {
          __m256 r[8];
          for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (ib + i) * img + w);
          transpose8x8(r);  // r[j]: images ib..ib+7 at column w + j
          for (int j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (w + j) * kLanes + ib, r[j]);
        }
        for (int64_t w = W8; w < W; ++w)
          for (int64_t i = ib; i < ib + 8; ++i) dst[w * kLanes + i] = src[i * img + w];
      }
    }
}

// y[i*img + co*P + q] = yT[(co*P + q)*16 + i] + bias[co] for 16 images i, P = Ho*Wo positions.
void from_batch_lanes(const float* yT, int64_t C, int64_t P, const float* bias, float* y, int64_t img) {
  const int64_t P8 = P / 8 * 8;
  for (int64_t co = 0; co < C; ++co) {
    const float bv = bias ? bias[co] : 0.f;
    const __m256 b = _mm256_set1_ps(bv);
    const float* src = yT + co * P * kLanes;
    float* dst = y + co * P;
    for (int64_t ib = 0; ib < kLanes; ib += 8) {
      for (int64_t q = 0; q < P8; q += 8) {
        __m256 r[8];
        for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src + (q + j) * kLanes + ib);
        transpose8x8(r);  // r[i]: image ib + i at positions q..q+7
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (ib + i) * img + q, _mm256_add_ps(r[i], b));
      }
      for (int64_t q = P8; q < P; ++q)
        for (int64_t i = ib; i < ib + 8; ++i) dst[i * img + q] = src[q * kLanes + i] + bv;
    }
  }
}

}  // namespace

int64_t conv2d_forward_batch_lanes_avx512(const Conv2dParams& p, const float* input, const float* weight,
                                          const float* bias, float* output) {
  using namespace direct_impl;
  if (!takes(p)) return 0;
  const int64_t C = p.C_in, M = p.C_out, Ho = p.out_h(), Wo = p.out_w();
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w, K = C * p.kH * p.kW;
  const int64_t batches = p.N / kLanes, in_img = C * p.H * p.W, out_img = M * Ho * Wo;

  // Shared, read-only: tap offsets (in floats of xT) and the weights packed per block of channels.
  int64_t* off16 = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + M * K));
  float* packed = reinterpret_cast<float*>(off16 + K);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < p.kH; ++kh)
      for (int64_t kw = 0; kw < p.kW; ++kw)
        off16[(c * p.kH + kh) * p.kW + kw] = ((c * Hp + kh * p.dilation_h) * Wp + kw * p.dilation_w) * kLanes;
  const RowBlocks rb = row_blocks(M, kMaxRows);
  for (int64_t b = 0; b < rb.count; ++b) {
    const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
    pack_rows(r0, mr, K, [&](int64_t m, int64_t k) { return weight[m * K + k]; }, packed + r0 * K);
  }

  const int64_t xT_size = C * Hp * Wp * kLanes, per_thread = xT_size + out_img * kLanes;
  const int nt = (cpu::worth_parallel(2 * p.N * M * Ho * Wo * K) && batches > 1) ? cpu::max_threads() : 1;
  float* buf = zeroed_buffers(kScratchCols, per_thread, nt);
  cpu::parallel_for_dynamic(batches, nt, [&](int64_t bi) {
    float* xT = buf + cpu::thread_id() * per_thread;
    float* yT = xT + xT_size;
    to_batch_lanes(input + bi * kLanes * in_img, in_img, C, p.H, p.W, p.pad_h, p.pad_w, Hp, Wp, xT);
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ow += kMaxPositions) {
        const int np = static_cast<int>(std::min<int64_t>(kMaxPositions, Wo - ow));
        const float* xs = xT + (oh * Wp + ow) * kLanes;
        for (int64_t b = 0; b < rb.count; ++b) {
          const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
          bl_tile_any(static_cast<int>(mr), np, xs, off16, K, packed + r0 * K,
                      yT + ((r0 * Ho + oh) * Wo + ow) * kLanes, Ho * Wo * kLanes);
        }
      }
    from_batch_lanes(yT, M, Ho * Wo, bias, output + bi * kLanes * out_img, out_img);
  });
  return batches * kLanes;
}

namespace {

constexpr int kWeightRows = 4;  // output channels per weight-gradient tile
constexpr int kWeightTaps = 6;  // taps per weight-gradient tile: 24 accumulators

// out[r*K + t] = sum over the batch's 16 images (lanes) and every output position of
// gyT[r][q] * xT[off16[t] + pos(q)], for r < MR, t < T; the lanes are summed last.
template <int MR, int T>
void blw_tile(const float* gyT, int64_t co_stride, int64_t Ho, int64_t Wo, int64_t Wp, const float* xT,
              const int64_t* off16, float* out, int64_t K) {
  __m512 acc[MR][T];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t oh = 0; oh < Ho; ++oh)
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const float* g = gyT + (oh * Wo + ow) * kLanes;
      const float* x = xT + (oh * Wp + ow) * kLanes;
      __m512 gv[MR];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) gv[r] = _mm512_loadu_ps(g + r * co_stride);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m512 xv = _mm512_loadu_ps(x + off16[t]);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) acc[r][t] = _mm512_fmadd_ps(gv[r], xv, acc[r][t]);
      }
    }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) out[r * K + t] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int MR>
void blw_tile_t(int t, const float* gyT, int64_t cs, int64_t Ho, int64_t Wo, int64_t Wp, const float* xT,
                const int64_t* off16, float* out, int64_t K) {
  switch (t) {
    case 1: blw_tile<MR, 1>(gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
    case 2: blw_tile<MR, 2>(gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
    case 3: blw_tile<MR, 3>(gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
    case 4: blw_tile<MR, 4>(gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
    case 5: blw_tile<MR, 5>(gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
    default: blw_tile<MR, 6>(gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
  }
}

void blw_tile_any(int mr, int t, const float* gyT, int64_t cs, int64_t Ho, int64_t Wo, int64_t Wp, const float* xT,
                  const int64_t* off16, float* out, int64_t K) {
  switch (mr) {
    case 1: blw_tile_t<1>(t, gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
    case 2: blw_tile_t<2>(t, gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
    case 3: blw_tile_t<3>(t, gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
    default: blw_tile_t<4>(t, gyT, cs, Ho, Wo, Wp, xT, off16, out, K); break;
  }
}

// yT[(co*P + q)*16 + i] = y[i*img + co*P + q]: grad_output of 16 images into the lanes.
void outputs_to_batch_lanes(const float* y, int64_t img, int64_t C, int64_t P, float* yT) {
  to_batch_lanes(y, img, 1, C, P, 0, 0, C, P, yT);  // C planes of one row of P positions
}

}  // namespace

int64_t conv2d_backward_weight_batch_lanes_avx512(const Conv2dParams& p, const float* input, const float* grad_output,
                                                  float* grad_weight) {
  using namespace direct_impl;
  if (!takes(p)) return 0;
  const int64_t C = p.C_in, M = p.C_out, Ho = p.out_h(), Wo = p.out_w();
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w, K = C * p.kH * p.kW, wsize = M * K;
  const int64_t batches = p.N / kLanes, in_img = C * p.H * p.W, out_img = M * Ho * Wo;

  // Batch 0 writes grad_weight, batches 1.. their own partial sums, added in batch order after:
  // the same bits for any thread count.
  std::vector<int64_t> off16(static_cast<size_t>(K));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < p.kH; ++kh)
      for (int64_t kw = 0; kw < p.kW; ++kw)
        off16[(c * p.kH + kh) * p.kW + kw] = ((c * Hp + kh * p.dilation_h) * Wp + kw * p.dilation_w) * kLanes;
  std::vector<float> partials(static_cast<size_t>((batches - 1) * wsize));

  const int64_t xT_size = C * Hp * Wp * kLanes, per_thread = xT_size + out_img * kLanes;
  const int nt = (cpu::worth_parallel(2 * p.N * M * Ho * Wo * K) && batches > 1) ? cpu::max_threads() : 1;
  float* buf = zeroed_buffers(kScratchCols, per_thread, nt);
  const RowBlocks rb = row_blocks(M, kWeightRows);
  cpu::parallel_for_dynamic(batches, nt, [&](int64_t bi) {
    float* xT = buf + cpu::thread_id() * per_thread;
    float* gyT = xT + xT_size;
    to_batch_lanes(input + bi * kLanes * in_img, in_img, C, p.H, p.W, p.pad_h, p.pad_w, Hp, Wp, xT);
    outputs_to_batch_lanes(grad_output + bi * kLanes * out_img, out_img, M, Ho * Wo, gyT);
    float* gw = bi == 0 ? grad_weight : partials.data() + (bi - 1) * wsize;
    for (int64_t b = 0; b < rb.count; ++b) {
      const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
      for (int64_t k0 = 0; k0 < K; k0 += kWeightTaps) {
        const int t = static_cast<int>(std::min<int64_t>(kWeightTaps, K - k0));
        blw_tile_any(static_cast<int>(mr), t, gyT + r0 * Ho * Wo * kLanes, Ho * Wo * kLanes, Ho, Wo, Wp, xT,
                     off16.data() + k0, gw + r0 * K + k0, K);
      }
    }
  });
  sum_chunk_partials(grad_weight, partials.data(), batches, wsize);
  return batches * kLanes;
}

// The input gradient is a forward convolution too: of grad_output, zero-padded by the kernel's
// reach less the forward padding, with the weights flipped and C_in/C_out swapped. For input row
// ih only the kernel rows that land on real grad_output rows contribute, so the taps are ordered
// (kernel row, output channel, kernel column) and each row runs over one contiguous range of them
// (LeNet's 6->16 input gradient skips ~30% of the taps this way).
int64_t conv2d_backward_input_batch_lanes_avx512(const Conv2dParams& p, const float* grad_output, const float* weight,
                                                 float* grad_input) {
  using namespace direct_impl;
  const bool pointwise = p.kH == 1 && p.kW == 1 && p.pad_h == 0 && p.pad_w == 0;
  if (!direct_ok(p) || pointwise || p.groups != 1 || p.N < kLanes) return 0;
  const int64_t C = p.C_in, M = p.C_out, Ho = p.out_h(), Wo = p.out_w(), kH = p.kH, kW = p.kW;
  const int64_t top = (kH - 1) * p.dilation_h - p.pad_h, left = (kW - 1) * p.dilation_w - p.pad_w;
  if (top < 0 || left < 0) return 0;  // padding beyond the kernel's reach: the direct kernel crops
  const int64_t Hg = p.H + (kH - 1) * p.dilation_h, Wg = p.W + (kW - 1) * p.dilation_w;  // padded grad_output
  const int64_t in_img = C * p.H * p.W, out_img = M * Ho * Wo, K = M * kH * kW;
  if (kLanes * std::max(M * Hg * Wg, in_img) > 2 * kMaxCopyFloats) return 0;
  const int64_t batches = p.N / kLanes;

  // Tap k = (kh, co, kw) of the flipped kernel reads gyP[co][ih + kh*dh][iw + kw*dw].
  int64_t* off16 = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + C * K));
  float* packed = reinterpret_cast<float*>(off16 + K);
  for (int64_t kh = 0; kh < kH; ++kh)
    for (int64_t co = 0; co < M; ++co)
      for (int64_t kw = 0; kw < kW; ++kw)
        off16[(kh * M + co) * kW + kw] = ((co * Hg + kh * p.dilation_h) * Wg + kw * p.dilation_w) * kLanes;
  auto flipped = [&](int64_t ci, int64_t k) {
    const int64_t kh = k / (M * kW), co = (k / kW) % M, kw = k % kW;
    return weight[((co * C + ci) * kH + (kH - 1 - kh)) * kW + (kW - 1 - kw)];
  };
  const RowBlocks rb = row_blocks(C, kMaxRows);
  for (int64_t b = 0; b < rb.count; ++b) {
    const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
    pack_rows(r0, mr, K, flipped, packed + r0 * K);
  }

  const int64_t gy_size = M * Hg * Wg * kLanes, per_thread = gy_size + in_img * kLanes;
  const int nt = (cpu::worth_parallel(2 * p.N * M * Ho * Wo * C * kH * kW) && batches > 1) ? cpu::max_threads() : 1;
  float* buf = zeroed_buffers(kScratchCols, per_thread, nt);
  const int64_t per_kh = M * kW;  // taps per kernel row
  cpu::parallel_for_dynamic(batches, nt, [&](int64_t bi) {
    float* gyP = buf + cpu::thread_id() * per_thread;
    float* dxT = gyP + gy_size;
    to_batch_lanes(grad_output + bi * kLanes * out_img, out_img, M, Ho, Wo, top, left, Hg, Wg, gyP);
    for (int64_t ih = 0; ih < p.H; ++ih) {
      // Kernel rows whose grad_output row top <= ih + kh*dh < top + Ho.
      int64_t kh0 = 0, kh1 = kH;
      while (kh0 < kH && ih + kh0 * p.dilation_h < top) ++kh0;
      while (kh1 > kh0 && ih + (kh1 - 1) * p.dilation_h >= top + Ho) --kh1;
      const int64_t k0 = kh0 * per_kh, nk = (kh1 - kh0) * per_kh;
      for (int64_t iw = 0; iw < p.W; iw += kMaxPositions) {
        const int np = static_cast<int>(std::min<int64_t>(kMaxPositions, p.W - iw));
        const float* xs = gyP + (ih * Wg + iw) * kLanes;
        for (int64_t b = 0; b < rb.count; ++b) {
          const int64_t r0 = rb.start(b), mr = rb.start(b + 1) - r0;
          bl_tile_any(static_cast<int>(mr), np, xs, off16 + k0, nk, packed + r0 * K + k0 * mr,
                      dxT + ((r0 * p.H + ih) * p.W + iw) * kLanes, p.H * p.W * kLanes);
        }
      }
    }
    from_batch_lanes(dxT, C, p.H * p.W, nullptr, grad_input + bi * kLanes * in_img, in_img);
  });
  return batches * kLanes;
}

#else  // built without AVX-512: never selected at run time

int64_t conv2d_forward_batch_lanes_avx512(const Conv2dParams&, const float*, const float*, const float*, float*) {
  return 0;
}
int64_t conv2d_backward_weight_batch_lanes_avx512(const Conv2dParams&, const float*, const float*, float*) {
  return 0;
}
int64_t conv2d_backward_input_batch_lanes_avx512(const Conv2dParams&, const float*, const float*, float*) {
  return 0;
}

#endif

}  // namespace ember::kernels
