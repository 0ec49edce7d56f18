// Convolution drivers: each image (and group) is one GEMM against the weights, which are packed
// once per call for the whole batch ("implicit GEMM": B is read from a zero-padded copy of the
// image through gemm_impl::Im2colSource, no column matrix is written):
//
//   forward          out_g[Mg, HoWo]  = W_g[Mg, Kg]  x col(x)[Kg, HoWo]                (+ bias)
//   backward_input   stride 1: the forward of grad_output padded by (k-1)*d - pad with the
//                    weights transposed over channels and flipped in space;
//                    other strides: col[Kg, HoWo] = W_g^T x gout_g, then col2im
//   backward_weight  gW_g[Mg, Kg]    += gout_g[Mg, HoWo] x col(x)^T[HoWo, Kg]
//
// with Mg = C_out/groups, Kg = C_in/groups*kH*kW.
//
// Threads: forward and backward_input run images in parallel, one padded buffer per thread, and
// the GEMM inside on one thread. backward_weight splits the batch into a fixed number of image
// chunks (chosen from the shape, never from the thread count); each chunk accumulates into its
// own copy of grad_weight and the copies are summed in chunk order, so 1 and 8 threads give the
// same bits. When there are fewer images (or chunks) than threads, images run one after another
// and the GEMM threads itself (its contract makes that thread-count independent too). Images are
// handed out dynamically: on a shared machine a thread that loses its core does fewer of them.
//
// Small-channel float32 shapes with stride 1 go to direct loops (conv_direct_impl.h, on AVX-512 or
// AVX2 vectors).
#include "kernels/cpu/conv.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm/gemm.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/parallel.h"

namespace ember::kernels {

int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  if (span < 0 || stride <= 0) return 0;
  return span / stride + 1;
}

int64_t Conv2dParams::out_h() const { return conv_output_size(H, kH, stride_h, pad_h, dilation_h); }
int64_t Conv2dParams::out_w() const { return conv_output_size(W, kW, stride_w, pad_w, dilation_w); }

const char* conv2d_params_error(const Conv2dParams& p) {
  if (p.N < 0 || p.C_in < 1 || p.H < 1 || p.W < 1 || p.C_out < 1)
    return "conv2d: N must be >= 0 and C_in, H, W, C_out >= 1";
  if (p.kH < 1 || p.kW < 1) return "conv2d: kernel size must be >= 1";
  if (p.stride_h < 1 || p.stride_w < 1) return "conv2d: stride must be >= 1";
  if (p.dilation_h < 1 || p.dilation_w < 1) return "conv2d: dilation must be >= 1";
  if (p.pad_h < 0 || p.pad_w < 0) return "conv2d: padding must be >= 0";
  if (p.groups < 1 || p.C_in % p.groups != 0 || p.C_out % p.groups != 0)
    return "conv2d: groups must divide both C_in and C_out";
  if (p.out_h() < 1 || p.out_w() < 1) return "conv2d: kernel (after dilation) is larger than the padded input";
  return nullptr;
}

// Direct small-channel kernels (conv_direct_avx2.cc, conv_direct_avx512.cc; whole groups of 8 or
// 16 images go through conv_batch_lanes_impl.h). Each returns false, having done nothing, when it
// does not handle the shape; the GEMM path then runs.
bool conv2d_forward_direct_avx2(const Conv2dParams& p, const float* input, const float* weight,
                                const float* bias, float* output);
bool conv2d_backward_input_direct_avx2(const Conv2dParams& p, const float* grad_output,
                                       const float* weight, float* grad_input);
bool conv2d_backward_weight_direct_avx2(const Conv2dParams& p, const float* input,
                                        const float* grad_output, float* grad_weight);
bool conv2d_forward_direct_avx512(const Conv2dParams& p, const float* input, const float* weight,
                                  const float* bias, float* output);
bool conv2d_backward_input_direct_avx512(const Conv2dParams& p, const float* grad_output,
                                         const float* weight, float* grad_input);
bool conv2d_backward_weight_direct_avx512(const Conv2dParams& p, const float* input,
                                          const float* grad_output, float* grad_weight);

template <typename T>
void sum_chunk_partials(T* grad_weight, const T* partials, int64_t nchunks, int64_t wsize);

namespace {

struct Dims {
  int64_t Cg, Mg, Kg, HW, HoWo;
  bool pointwise;  // 1x1, stride 1, no padding: col == input plane
  Im2colGeom geom;
};

Dims dims_of(const Conv2dParams& p) {
  Dims d;
  d.Cg = p.C_in / p.groups;
  d.Mg = p.C_out / p.groups;
  d.Kg = d.Cg * p.kH * p.kW;
  d.HW = p.H * p.W;
  d.HoWo = p.out_h() * p.out_w();
  d.pointwise = p.kH == 1 && p.kW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
  d.geom = {d.Cg, p.H, p.W, p.kH, p.kW, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
            p.dilation_h, p.dilation_w, p.out_h(), p.out_w()};
  return d;
}

int64_t flops_of(const Conv2dParams& p, const Dims& d) { return 2 * p.N * p.C_out * d.HoWo * d.Kg; }

// Threads for an image-parallel loop: all of them when every thread gets an image, else 1 (and
// then the GEMM inside threads itself).
int image_threads_for(const Conv2dParams& p, int64_t flops) {
  const int nt = cpu::max_threads();
  if (nt <= 1 || cpu::in_parallel() || !cpu::worth_parallel(flops)) return 1;
  return p.N >= nt ? nt : 1;
}

// A zero-padded image: C planes of (H + 2*ph) x (W + 2*pw). Without padding the image itself
// serves (no copy).
struct Padded {
  int64_t C, H, W, top, left, Hp, Wp;
  bool copy() const { return top != 0 || left != 0 || Hp != H || Wp != W; }
  int64_t size() const { return copy() ? C * Hp * Wp : 0; }
};

// Copies the image into the interior of buf, whose border the caller zeroed once (zero_borders):
// every image of a call writes the same interior, so the border stays zero.
template <typename T>
const T* pad_image(const Padded& g, const T* x, T* buf) {
  if (!g.copy()) return x;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t h = 0; h < g.H; ++h) {
      T* d = buf + (c * g.Hp + h + g.top) * g.Wp + g.left;
      const T* s = x + (c * g.H + h) * g.W;
      for (int64_t w = 0; w < g.W; ++w) d[w] = s[w];  // rows are short: an inline loop, not memcpy
    }
  return buf;
}

// `count` padded buffers of g.size() elements, zeroed (their borders stay zero across images).
template <typename T>
T* padded_buffers(const Padded& g, int count) {
  const size_t n = static_cast<size_t>(count) * static_cast<size_t>(g.size());
  T* bufs = scratch<T>(kScratchPadded, n);
  if (n > 0) std::memset(bufs, 0, sizeof(T) * n);
  return bufs;
}

// Tap offsets into a padded image: tap (c, kh, kw) -> c*Hp*Wp + kh*dh*Wp + kw*dw.
void fill_tap_offsets(int64_t C, int64_t Hp, int64_t Wp, int64_t kH, int64_t kW, int64_t dh, int64_t dw, int64_t* off) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < kH; ++kh)
      for (int64_t kw = 0; kw < kW; ++kw) off[(c * kH + kh) * kW + kw] = c * Hp * Wp + kh * dh * Wp + kw * dw;
}

// The GEMM operand col(image) (or its transpose) over a padded image: output pixel q = (row,
// column) of an Ho x Wo plane reads row * row_step + column * col_step past a tap's offset.
// Rows that follow each other in memory form one run (no split at every row end).
template <typename T>
gemm_impl::Im2colSource<T> image_view(const T* xp, const int64_t* off, int64_t Ho, int64_t Wo, int64_t row_step,
                                      int64_t col_step, bool transposed) {
  if (row_step == Wo * col_step) return {xp, off, Ho * Wo, 0, col_step, transposed};
  return {xp, off, Wo, row_step, col_step, transposed};
}

template <typename T>
gemm_impl::Args<T> product(int64_t M, int64_t N, int64_t K, T beta, T* C, int64_t ldc) {
  gemm_impl::Args<T> a{M, N, K, T(1), nullptr, 0, 0, nullptr, 0, 0, beta, C, ldc, 1};
  return a;
}

// One implicit-GEMM convolution pass over a batch: for each image n and group g,
//   out[n][g] (M x HoWo, row stride HoWo) = A_g (packed, M x K) x col(src[n][g]) + seed
// where col reads a padded copy of src through the tap offsets. Used by the forward pass and the
// stride-1 input gradient.
template <typename T>
struct ImplicitConv {
  GemmIsa isa;
  int64_t N, groups, M, K;
  int64_t Ho, Wo, sh, sw;         // output plane and stride
  Padded pad;                      // per group: C = channels of one group
  int64_t src_image, src_group;    // element strides of the source
  int64_t out_image, out_group;    // element strides of the output
  const T* packed;                 // groups x packed_size
  int64_t packed_size;
  const int64_t* off;
  const T* bias;                   // per output channel (g*M + m), or null
};

template <typename T>
void run_implicit(const ImplicitConv<T>& c, const T* src, T* out, int nt) {
  const int64_t HoWo = c.Ho * c.Wo, per_thread = c.pad.size();
  T* bufs = padded_buffers<T>(c.pad, nt);
  cpu::parallel_for_dynamic(c.N, nt, [&](int64_t n) {
    T* buf = bufs + cpu::thread_id() * per_thread;
    for (int64_t g = 0; g < c.groups; ++g) {
      const T* xp = pad_image(c.pad, src + n * c.src_image + g * c.src_group, buf);
      const gemm_impl::Im2colSource<T> view = image_view(xp, c.off, c.Ho, c.Wo, c.sh * c.pad.Wp, c.sw, false);
      T* y = out + n * c.out_image + g * c.out_group;
      // Seeding C with the bias and using beta = 1 folds the bias add into the GEMM's C update.
      T beta = T(0);
      if (c.bias != nullptr) {
        for (int64_t m = 0; m < c.M; ++m) std::fill(y + m * HoWo, y + (m + 1) * HoWo, c.bias[g * c.M + m]);
        beta = T(1);
      }
      gemm_impl::Args<T> a = product<T>(c.M, HoWo, c.K, beta, y, HoWo);
      a.A_packed = c.packed + g * c.packed_size;
      a.B_im2col = &view;
      gemm_ex(c.isa, a, nt == 1);
    }
  });
}

template <typename T>
void forward_generic(const Conv2dParams& p, const T* input, const T* weight, const T* bias, T* output) {
  const Dims d = dims_of(p);
  ImplicitConv<T> c;
  c.isa = gemm_isa();
  c.N = p.N, c.groups = p.groups, c.M = d.Mg, c.K = d.Kg;
  c.Ho = p.out_h(), c.Wo = p.out_w(), c.sh = p.stride_h, c.sw = p.stride_w;
  c.pad = {d.Cg, p.H, p.W, p.pad_h, p.pad_w, p.H + 2 * p.pad_h, p.W + 2 * p.pad_w};
  c.src_image = p.C_in * d.HW, c.src_group = d.Cg * d.HW;
  c.out_image = p.C_out * d.HoWo, c.out_group = d.Mg * d.HoWo;
  c.packed_size = gemm_packed_a_size(c.isa, d.Mg, d.Kg);
  T* packed = scratch<T>(kScratchPacked, static_cast<size_t>(p.groups * c.packed_size));
  for (int64_t g = 0; g < p.groups; ++g)
    gemm_pack_a(c.isa, d.Mg, d.Kg, weight + g * d.Mg * d.Kg, d.Kg, 1, packed + g * c.packed_size);
  int64_t* off = scratch<int64_t>(kScratchOffsets, static_cast<size_t>(d.Kg));
  fill_tap_offsets(d.Cg, c.pad.Hp, c.pad.Wp, p.kH, p.kW, p.dilation_h, p.dilation_w, off);
  c.packed = packed, c.off = off, c.bias = bias;
  run_implicit(c, input, output, image_threads_for(p, flops_of(p, d)));
}

// Stride 1 with (k-1)*d >= pad: the input gradient is a forward convolution of grad_output padded
// by (k-1)*d - pad on each side, with W'[ci][(co, kh, kw)] = W[co][ci][kH-1-kh][kW-1-kw].
template <typename T>
bool backward_input_as_forward(const Conv2dParams& p, const T* grad_output, const T* weight, T* grad_input) {
  if (p.stride_h != 1 || p.stride_w != 1) return false;
  const int64_t top = (p.kH - 1) * p.dilation_h - p.pad_h, left = (p.kW - 1) * p.dilation_w - p.pad_w;
  if (top < 0 || left < 0) return false;
  const Dims d = dims_of(p);
  const int64_t Ho = p.out_h(), Wo = p.out_w(), taps = p.kH * p.kW, Kt = d.Mg * taps;
  ImplicitConv<T> c;
  c.isa = gemm_isa();
  c.N = p.N, c.groups = p.groups, c.M = d.Cg, c.K = Kt;
  c.Ho = p.H, c.Wo = p.W, c.sh = 1, c.sw = 1;
  c.pad = {d.Mg, Ho, Wo, top, left, Ho + 2 * top, Wo + 2 * left};
  c.src_image = p.C_out * d.HoWo, c.src_group = d.Mg * d.HoWo;
  c.out_image = p.C_in * d.HW, c.out_group = d.Cg * d.HW;
  c.packed_size = gemm_packed_a_size(c.isa, d.Cg, Kt);
  // The flipped, transposed weights of one group, then packed (the copy is small next to the
  // batch's work).
  T* flipped = scratch<T>(kScratchCols, static_cast<size_t>(d.Cg * Kt));
  T* packed = scratch<T>(kScratchPacked, static_cast<size_t>(p.groups * c.packed_size));
  for (int64_t g = 0; g < p.groups; ++g) {
    const T* wg = weight + g * d.Mg * d.Kg;
    for (int64_t ci = 0; ci < d.Cg; ++ci)
      for (int64_t co = 0; co < d.Mg; ++co)
        for (int64_t t = 0; t < taps; ++t) flipped[ci * Kt + co * taps + t] = wg[(co * d.Cg + ci) * taps + (taps - 1 - t)];
    gemm_pack_a(c.isa, d.Cg, Kt, flipped, Kt, 1, packed + g * c.packed_size);
  }
  int64_t* off = scratch<int64_t>(kScratchOffsets, static_cast<size_t>(Kt));
  fill_tap_offsets(d.Mg, c.pad.Hp, c.pad.Wp, p.kH, p.kW, p.dilation_h, p.dilation_w, off);
  c.packed = packed, c.off = off, c.bias = nullptr;
  run_implicit(c, grad_output, grad_input, image_threads_for(p, flops_of(p, d)));
  return true;
}

template <typename T>
void backward_input_generic(const Conv2dParams& p, const T* grad_output, const T* weight, T* grad_input) {
  if (backward_input_as_forward(p, grad_output, weight, grad_input)) return;
  // Strided (or over-padded) convolutions: col = W_g^T gout_g, then col2im. W_g^T is packed once.
  const Dims d = dims_of(p);
  const GemmIsa isa = gemm_isa();
  const int64_t col_size = d.pointwise ? 0 : d.Kg * d.HoWo;
  const int nt = image_threads_for(p, flops_of(p, d));
  const int64_t psize = gemm_packed_a_size(isa, d.Kg, d.Mg);
  T* packed = scratch<T>(kScratchPacked, static_cast<size_t>(p.groups * psize));
  // W_g^T is W_g read with swapped strides: row k, column m at m*Kg + k.
  for (int64_t g = 0; g < p.groups; ++g) gemm_pack_a(isa, d.Kg, d.Mg, weight + g * d.Mg * d.Kg, 1, d.Kg, packed + g * psize);
  T* cols = scratch<T>(kScratchCols, static_cast<size_t>(nt * col_size));
  cpu::parallel_for_dynamic(p.N, nt, [&](int64_t n) {
    T* col = cols + cpu::thread_id() * col_size;
    for (int64_t g = 0; g < p.groups; ++g) {
      const T* gy = grad_output + (n * p.C_out + g * d.Mg) * d.HoWo;
      T* gx = grad_input + (n * p.C_in + g * d.Cg) * d.HW;
      gemm_impl::Args<T> a = product<T>(d.Kg, d.HoWo, d.Mg, T(0), d.pointwise ? gx : col, d.HoWo);
      a.A_packed = packed + g * psize;
      a.B = gy, a.rsb = d.HoWo, a.csb = 1;
      gemm_ex(isa, a, nt == 1);
      if (!d.pointwise) col2im(col, d.geom, gx);
    }
  });
}

}  // namespace

// grad_weight[i] += partials[c][i] for chunks c = 1 .. nchunks-1 in order: each element is the same
// chain of adds whatever the thread count. Blocks of elements run in parallel; inside a block the
// chunks are streamed one after the other (sequential reads, vectorized adds).
template <typename T>
void sum_chunk_partials(T* grad_weight, const T* partials, int64_t nchunks, int64_t wsize) {
  if (nchunks <= 1) return;
  constexpr int64_t kBlock = 2048;
  const int64_t blocks = (wsize + kBlock - 1) / kBlock;
  const bool par = cpu::worth_parallel(wsize * (nchunks - 1)) && blocks > 1;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t b = 0; b < blocks; ++b) {
    T* g = grad_weight + b * kBlock;
    const int64_t n = std::min(kBlock, wsize - b * kBlock);
    for (int64_t c = 1; c < nchunks; ++c) {
      const T* part = partials + (c - 1) * wsize + b * kBlock;
      for (int64_t i = 0; i < n; ++i) g[i] += part[i];
    }
  }
}
template void sum_chunk_partials<float>(float*, const float*, int64_t, int64_t);
template void sum_chunk_partials<double>(double*, const double*, int64_t, int64_t);

namespace {

// Number of image chunks for backward_weight: as many as useful for up to 16 threads, fewer when
// the per-chunk copies of grad_weight would pass ~16 MB. Depends only on the shape.
int64_t weight_chunks(const Conv2dParams& p, size_t elem_size) {
  const int64_t wbytes = p.C_out * (p.C_in / p.groups) * p.kH * p.kW * static_cast<int64_t>(elem_size);
  const int64_t by_memory = std::max<int64_t>(1, (int64_t(16) << 20) / std::max<int64_t>(wbytes, 1));
  return std::max<int64_t>(1, std::min<int64_t>({p.N, 16, by_memory}));
}

template <typename T>
void backward_weight_generic(const Conv2dParams& p, const T* input, const T* grad_output, T* grad_weight) {
  const Dims d = dims_of(p);
  const int64_t wsize = p.C_out * d.Kg;
  if (p.N == 0) {
    std::fill(grad_weight, grad_weight + wsize, T(0));
    return;
  }
  const GemmIsa isa = gemm_isa();
  const int64_t nchunks = weight_chunks(p, sizeof(T));
  const Padded pad{d.Cg, p.H, p.W, p.pad_h, p.pad_w, p.H + 2 * p.pad_h, p.W + 2 * p.pad_w};
  int nt = cpu::max_threads();
  if (nt <= 1 || cpu::in_parallel() || !cpu::worth_parallel(flops_of(p, d)) || nchunks < nt) nt = 1;
  const int64_t per_thread = pad.size();
  T* bufs = padded_buffers<T>(pad, nt);
  int64_t* off = scratch<int64_t>(kScratchOffsets, static_cast<size_t>(d.Kg));
  fill_tap_offsets(d.Cg, pad.Hp, pad.Wp, p.kH, p.kW, p.dilation_h, p.dilation_w, off);
  // Chunk 0 accumulates straight into grad_weight; chunks 1.. into these copies.
  T* partials = scratch<T>(kScratchPartials, static_cast<size_t>((nchunks - 1) * wsize));
  cpu::parallel_for_dynamic(nchunks, nt, [&](int64_t c) {
    T* buf = bufs + cpu::thread_id() * per_thread;
    T* gw = c == 0 ? grad_weight : partials + (c - 1) * wsize;
    const int64_t n0 = c * p.N / nchunks, n1 = (c + 1) * p.N / nchunks;
    for (int64_t n = n0; n < n1; ++n) {
      const T beta = n == n0 ? T(0) : T(1);
      for (int64_t g = 0; g < p.groups; ++g) {
        const T* xp = pad_image(pad, input + (n * p.C_in + g * d.Cg) * d.HW, buf);
        // col^T: row s (output pixel), column k (tap) at off[k] + pos(s).
        const gemm_impl::Im2colSource<T> view =
            image_view(xp, off, p.out_h(), p.out_w(), p.stride_h * pad.Wp, p.stride_w, true);
        gemm_impl::Args<T> a = product<T>(d.Mg, d.Kg, d.HoWo, beta, gw + g * d.Mg * d.Kg, d.Kg);
        a.A = grad_output + (n * p.C_out + g * d.Mg) * d.HoWo, a.rsa = d.HoWo, a.csa = 1;
        a.B_im2col = &view;
        gemm_ex(isa, a, nt == 1);
      }
    }
  });
  sum_chunk_partials(grad_weight, partials, nchunks, wsize);
}

template <typename T>
void backward_bias_impl(const Conv2dParams& p, const T* grad_output, T* grad_bias) {
  const int64_t HoWo = p.out_h() * p.out_w();
  const bool par = cpu::worth_parallel(p.N * p.C_out * HoWo) && p.C_out > 1;
  // One channel per iteration, images in order, 32 fixed lanes within a plane: the same sums
  // whatever the thread count, and the lanes let the compiler vectorize without -ffast-math
  // (32 = 8 independent SSE chains, enough to hide the add latency).
  constexpr int L = 32;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t co = 0; co < p.C_out; ++co) {
    T total = T(0);
    for (int64_t n = 0; n < p.N; ++n) {
      const T* g = grad_output + (n * p.C_out + co) * HoWo;
      T lane[L] = {};
      int64_t s = 0;
      for (; s + L <= HoWo; s += L)
        for (int l = 0; l < L; ++l) lane[l] += g[s + l];
      for (int l = 0; s + l < HoWo; ++l) lane[l] += g[s + l];
      for (int w = L / 2; w >= 1; w /= 2)  // fixed pairwise tree
        for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
      total += lane[0];
    }
    grad_bias[co] = total;
  }
}

}  // namespace

void conv2d_forward(const Conv2dParams& p, const float* input, const float* weight, const float* bias,
                    float* output) {
  if (cpu::use_avx512() ? conv2d_forward_direct_avx512(p, input, weight, bias, output)
                        : cpu::use_avx2() && conv2d_forward_direct_avx2(p, input, weight, bias, output))
    return;
  forward_generic(p, input, weight, bias, output);
}
void conv2d_forward(const Conv2dParams& p, const double* input, const double* weight,
                    const double* bias, double* output) {
  forward_generic(p, input, weight, bias, output);
}

void conv2d_backward_input(const Conv2dParams& p, const float* grad_output, const float* weight,
                           float* grad_input) {
  if (cpu::use_avx512() ? conv2d_backward_input_direct_avx512(p, grad_output, weight, grad_input)
                        : cpu::use_avx2() && conv2d_backward_input_direct_avx2(p, grad_output, weight, grad_input))
    return;
  backward_input_generic(p, grad_output, weight, grad_input);
}
void conv2d_backward_input(const Conv2dParams& p, const double* grad_output, const double* weight,
                           double* grad_input) {
  backward_input_generic(p, grad_output, weight, grad_input);
}

void conv2d_backward_weight(const Conv2dParams& p, const float* input, const float* grad_output,
                            float* grad_weight) {
  if (cpu::use_avx512() ? conv2d_backward_weight_direct_avx512(p, input, grad_output, grad_weight)
                        : cpu::use_avx2() && conv2d_backward_weight_direct_avx2(p, input, grad_output, grad_weight))
    return;
  backward_weight_generic(p, input, grad_output, grad_weight);
}
void conv2d_backward_weight(const Conv2dParams& p, const double* input, const double* grad_output,
                            double* grad_weight) {
  backward_weight_generic(p, input, grad_output, grad_weight);
}

void conv2d_backward_bias(const Conv2dParams& p, const float* grad_output, float* grad_bias) {
  backward_bias_impl(p, grad_output, grad_bias);
}
void conv2d_backward_bias(const Conv2dParams& p, const double* grad_output, double* grad_bias) {
  backward_bias_impl(p, grad_output, grad_bias);
}

}  // namespace ember::kernels
