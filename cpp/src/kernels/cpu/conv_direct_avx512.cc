// The direct small-channel convolution (conv_direct_impl.h) on 16-lane AVX-512 vectors with 32
// registers (this file is compiled with AVX-512; conv.cc calls it only when cpu::use_avx512()).
// GCC 12's AVX-512 headers pass _mm256_undefined_*() into masked builtins, which -Wuninitialized
// reports wherever such an intrinsic (extract, shuffle, reduce) is inlined; nothing here is
// uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>

#include "kernels/cpu/conv_batch_lanes_impl.h"
#include "kernels/cpu/conv_direct_impl.h"
#include "kernels/cpu/simd_transpose.h"

namespace ember::kernels {

#if defined(__AVX512F__)

namespace {

struct Zmm {
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16, kRegs = 32;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static M mask_for(int64_t n) { return static_cast<M>((1u << n) - 1u); }  // lanes < n
  static V maskz_load(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
};

// ---- weight gradient with output channels in the vector lanes --------------------------------
//
// The generic direct weight gradient (conv_direct_impl.h) puts pixels in the lanes, which wastes
// most of each vector on a short output row (LeNet's 10-pixel rows fill 10 of 16 lanes) and ends
// every tile with horizontal sums. When C_out/groups is a multiple of 16 the lanes can hold output
// channels instead: per pixel, one load of grad_output for 16 channels (from a transposed copy,
// gyT[pixel][co]) times one broadcast input value per tap, accumulated over every pixel of the
// chunk; no lane idles and no horizontal sum is needed. Each gW element is still one FMA chain
// over the chunk's pixels in order, and the chunks are those of the other paths, so the bits do
// not depend on the thread count.

// dst[p*M + m] = src[m*P + p] for m < M (a multiple of 8), p < P.
void transpose_rows(const float* src, int64_t M, int64_t P, float* dst) {
  const int64_t P8 = P / 8 * 8;
  for (int64_t m = 0; m < M; m += 8) {
    for (int64_t p = 0; p < P8; p += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (m + i) * P + p);
      transpose8x8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (p + i) * M + m, r[i]);
    }
    for (int64_t p = P8; p < P; ++p)
      for (int i = 0; i < 8; ++i) dst[p * M + m + i] = src[(m + i) * P + p];
  }
}

struct BwcChunk {
  const float* xp;   // padded images of the chunk, img_stride apart (one group)
  int64_t img_stride;
  const float* gyT;  // transposed grad_output of the chunk's images: [image][pixel][Mg]
  int64_t Mg, images, Ho, Wo, Wp;
};

// out[t*Mg + co] = sum over the chunk of gy[co][pixel] * xp[off[t] + pixel] for t < T, all Mg
// channels (MV vectors of 16).
template <int MV, int T>
void bwc_tile(const BwcChunk& c, const int64_t* off, float* out) {
  __m512 acc[MV][T];
#pragma GCC unroll 16
  for (int m = 0; m < MV; ++m)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[m][t] = _mm512_setzero_ps();
  const int64_t HoWo = c.Ho * c.Wo;
  for (int64_t n = 0; n < c.images; ++n) {
    const float* xn = c.xp + n * c.img_stride;
    const float* gn = c.gyT + n * HoWo * c.Mg;
    for (int64_t oh = 0; oh < c.Ho; ++oh) {
      const float* xr[T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) xr[t] = xn + off[t] + oh * c.Wp;
      const float* g = gn + oh * c.Wo * c.Mg;
      for (int64_t ow = 0; ow < c.Wo; ++ow) {
        __m512 gv[MV];
#pragma GCC unroll 16
        for (int m = 0; m < MV; ++m) gv[m] = _mm512_loadu_ps(g + ow * c.Mg + 16 * m);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const __m512 a = _mm512_set1_ps(xr[t][ow]);
#pragma GCC unroll 16
          for (int m = 0; m < MV; ++m) acc[m][t] = _mm512_fmadd_ps(gv[m], a, acc[m][t]);
        }
      }
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 16
    for (int m = 0; m < MV; ++m) _mm512_storeu_ps(out + t * c.Mg + 16 * m, acc[m][t]);
}

// Taps per tile: 8 broadcast pointers stay in general registers; 2 x 8 = 16 or more accumulators
// from two channel vectors on.
template <int MV>
void bwc_taps(int t, const BwcChunk& c, const int64_t* off, float* out) {
  switch (t) {
    case 1: bwc_tile<MV, 1>(c, off, out); break;
    case 2: bwc_tile<MV, 2>(c, off, out); break;
    case 3: bwc_tile<MV, 3>(c, off, out); break;
    case 4: bwc_tile<MV, 4>(c, off, out); break;
    case 5: bwc_tile<MV, 5>(c, off, out); break;
    case 6: bwc_tile<MV, 6>(c, off, out); break;
    case 7: bwc_tile<MV, 7>(c, off, out); break;
    default: bwc_tile<MV, 8>(c, off, out); break;
  }
}
constexpr int kBwcTaps = 8;

bool backward_weight_channel_lanes(const Conv2dParams& p, const float* input, const float* grad_output,
                                   float* grad_weight) {
  using namespace direct_impl;
  const int64_t Cg = p.C_in / p.groups, Mg = p.C_out / p.groups, Ho = p.out_h(), Wo = p.out_w();
  if (!direct_ok(p) || p.N == 0 || Mg % 16 != 0 || Mg > 64) return false;
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w, HoWo = Ho * Wo;
  const WideConv w = make_wide<Zmm>(Cg, Hp, Wp, p.kH, p.kW, p.dilation_h, p.dilation_w, Ho, Mg);
  const int64_t K = w.K(), wsize = p.C_out * K, img = Cg * Hp * Wp;
  const int64_t nchunks = bw_chunks(p), max_imgs = (p.N + nchunks - 1) / nchunks;

  int64_t* off = scratch<int64_t>(kScratchPartials, static_cast<size_t>(K + (nchunks - 1) * wsize));
  float* partials = reinterpret_cast<float*>(off + K);
  fill_offsets(w, off);

  const int nt = nchunks > 1 && cpu::worth_parallel(2 * p.N * p.C_out * HoWo * K) ? cpu::max_threads() : 1;
  // Per thread: the chunk's padded images, their transposed grad_output, one gW^T tile row block.
  const int64_t per_thread = max_imgs * img + max_imgs * HoWo * Mg + K * Mg;
  float* buf = zeroed_buffers(kScratchPadded, per_thread, nt);
  const int MV = static_cast<int>(Mg / 16);

  cpu::parallel_for_dynamic(nchunks, nt, [&](int64_t ch) {
    float* xp = buf + cpu::thread_id() * per_thread;
    float* gyT = xp + max_imgs * img;
    float* gwT = gyT + max_imgs * HoWo * Mg;
    float* gw = ch == 0 ? grad_weight : partials + (ch - 1) * wsize;
    const int64_t n0 = ch * p.N / nchunks, n1 = (ch + 1) * p.N / nchunks;
    for (int64_t g = 0; g < p.groups; ++g) {
      for (int64_t n = n0; n < n1; ++n) {
        pad_planes(input + (n * p.C_in + g * Cg) * p.H * p.W, Cg, p.H, p.W, p.pad_h, p.pad_w, Hp, Wp,
                   xp + (n - n0) * img);
        transpose_rows(grad_output + (n * p.C_out + g * Mg) * HoWo, Mg, HoWo, gyT + (n - n0) * HoWo * Mg);
      }
      const BwcChunk c{xp, img, gyT, Mg, n1 - n0, Ho, Wo, Wp};
      for (int64_t k0 = 0; k0 < K; k0 += kBwcTaps) {
        const int t = static_cast<int>(std::min<int64_t>(kBwcTaps, K - k0));
        switch (MV) {
          case 1: bwc_taps<1>(t, c, off + k0, gwT + k0 * Mg); break;
          case 2: bwc_taps<2>(t, c, off + k0, gwT + k0 * Mg); break;
          case 3: bwc_taps<3>(t, c, off + k0, gwT + k0 * Mg); break;
          default: bwc_taps<4>(t, c, off + k0, gwT + k0 * Mg); break;
        }
      }
      // gW^T [K][Mg] -> gW [Mg][K] for this group.
      float* gwg = gw + g * Mg * K;
      for (int64_t co = 0; co < Mg; ++co)
        for (int64_t k = 0; k < K; ++k) gwg[co * K + k] = gwT[k * Mg + co];
    }
  });
  sum_chunk_partials(grad_weight, partials, nchunks, wsize);
  return true;
}

}  // namespace

bool conv2d_forward_direct_avx512(const Conv2dParams& p, const float* input, const float* weight, const float* bias,
                                  float* output) {
  return batch_lanes::forward_then_rest<Zmm>(p, input, weight, bias, output,
                                             [&](const Conv2dParams& q, const float* x, float* y) {
                                               return direct_impl::forward<Zmm>(q, x, weight, bias, y);
                                             });
}
bool conv2d_backward_input_direct_avx512(const Conv2dParams& p, const float* grad_output, const float* weight,
                                         float* grad_input) {
  return batch_lanes::backward_input_then_rest<Zmm>(p, grad_output, weight, grad_input,
                                                    [&](const Conv2dParams& q, const float* gy, float* gx) {
                                                      return direct_impl::backward_input<Zmm>(q, gy, weight, gx);
                                                    });
}
bool conv2d_backward_weight_direct_avx512(const Conv2dParams& p, const float* input, const float* grad_output,
                                          float* grad_weight) {
  return batch_lanes::backward_weight_then_rest<Zmm>(
      p, input, grad_output, grad_weight, [](const Conv2dParams& q, const float* x, const float* gy, float* gw) {
        return backward_weight_channel_lanes(q, x, gy, gw) || direct_impl::backward_weight<Zmm>(q, x, gy, gw);
      });
}

#else  // built without AVX-512: never selected at run time

bool conv2d_forward_direct_avx512(const Conv2dParams&, const float*, const float*, const float*, float*) {
  return false;
}
bool conv2d_backward_input_direct_avx512(const Conv2dParams&, const float*, const float*, float*) { return false; }
bool conv2d_backward_weight_direct_avx512(const Conv2dParams&, const float*, const float*, float*) { return false; }

#endif

}  // namespace ember::kernels
