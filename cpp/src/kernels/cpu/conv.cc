// Convolution drivers: validate-free loops that turn each image (and group) into one GEMM.
//
//   forward          out_g[Mg, HoWo]   = W_g[Mg, Kg]      x col[Kg, HoWo]         (+ bias)
//   backward_input   col[Kg, HoWo]     = W_g^T[Kg, Mg]    x gout_g[Mg, HoWo],  then col2im
//   backward_weight  gW_g[Mg, Kg]     += gout_g[Mg, HoWo] x col^T[HoWo, Kg]
//
// with Mg = C_out/groups, Kg = C_in/groups*kH*kW. For 1x1 kernels with stride 1 and no padding
// the input plane already is the column matrix, so there is no im2col/col2im.
//
// Threads: forward and backward_input run images in parallel, one column buffer per thread.
// backward_weight splits the batch into a fixed number of image chunks (chosen from the shape,
// never from the thread count); each chunk accumulates into its own copy of grad_weight and the
// copies are summed in chunk order, so 1 and 8 threads give the same bits. When there are fewer
// images (or chunks) than threads, images run one after another and the GEMM threads itself
// (its contract makes that thread-count independent too).
//
// Small-channel float32 shapes with stride 1 go to direct AVX2 loops (conv_direct_avx2.cc).
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

// Direct AVX2 kernels (conv_direct_avx2.cc). Each returns false, having done nothing, when it does
// not handle the shape; the generic path then runs.
bool conv2d_forward_direct_avx2(const Conv2dParams& p, const float* input, const float* weight,
                                const float* bias, float* output);
bool conv2d_backward_input_direct_avx2(const Conv2dParams& p, const float* grad_output,
                                       const float* weight, float* grad_input);
bool conv2d_backward_weight_direct_avx2(const Conv2dParams& p, const float* input,
                                        const float* grad_output, float* grad_weight);

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
int image_threads(const Conv2dParams& p, const Dims& d) {
  const int nt = cpu::max_threads();
  if (nt <= 1 || cpu::in_parallel() || !cpu::worth_parallel(flops_of(p, d))) return 1;
  return p.N >= nt ? nt : 1;
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

template <typename T>
void forward_generic(const Conv2dParams& p, const T* input, const T* weight, const T* bias, T* output) {
  const Dims d = dims_of(p);
  const int64_t col_size = d.pointwise ? 0 : d.Kg * d.HoWo;
  const int nt = image_threads(p, d);
  T* cols = scratch<T>(kScratchCols, static_cast<size_t>(nt * col_size));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t n = 0; n < p.N; ++n) {
    T* col = cols + thread_id() * col_size;
    for (int64_t g = 0; g < p.groups; ++g) {
      const T* x = input + (n * p.C_in + g * d.Cg) * d.HW;
      T* y = output + (n * p.C_out + g * d.Mg) * d.HoWo;
      const T* B = x;
      if (!d.pointwise) {
        im2col(x, d.geom, col);
        B = col;
      }
      // Seeding C with the bias and using beta = 1 folds the bias add into the GEMM's C update.
      T beta = T(0);
      if (bias != nullptr) {
        for (int64_t m = 0; m < d.Mg; ++m) std::fill(y + m * d.HoWo, y + (m + 1) * d.HoWo, bias[g * d.Mg + m]);
        beta = T(1);
      }
      gemm(d.Mg, d.HoWo, d.Kg, T(1), weight + g * d.Mg * d.Kg, d.Kg, 1, B, d.HoWo, 1, beta, y, d.HoWo, 1);
    }
  }
}

template <typename T>
void backward_input_generic(const Conv2dParams& p, const T* grad_output, const T* weight, T* grad_input) {
  const Dims d = dims_of(p);
  const int64_t col_size = d.pointwise ? 0 : d.Kg * d.HoWo;
  const int nt = image_threads(p, d);
  T* cols = scratch<T>(kScratchCols, static_cast<size_t>(nt * col_size));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t n = 0; n < p.N; ++n) {
    T* col = cols + thread_id() * col_size;
    for (int64_t g = 0; g < p.groups; ++g) {
      const T* gy = grad_output + (n * p.C_out + g * d.Mg) * d.HoWo;
      T* gx = grad_input + (n * p.C_in + g * d.Cg) * d.HW;
      const T* Wg = weight + g * d.Mg * d.Kg;
      // W_g^T is W_g read with swapped strides: row k, column m at m*Kg + k.
      if (d.pointwise) {
        gemm(d.Kg, d.HoWo, d.Mg, T(1), Wg, 1, d.Kg, gy, d.HoWo, 1, T(0), gx, d.HoWo, 1);
      } else {
        gemm(d.Kg, d.HoWo, d.Mg, T(1), Wg, 1, d.Kg, gy, d.HoWo, 1, T(0), col, d.HoWo, 1);
        col2im(col, d.geom, gx);
      }
    }
  }
}

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
  const int64_t nchunks = weight_chunks(p, sizeof(T));
  const int64_t col_size = d.pointwise ? 0 : d.Kg * d.HoWo;
  int nt = cpu::max_threads();
  if (nt <= 1 || cpu::in_parallel() || !cpu::worth_parallel(flops_of(p, d)) || nchunks < nt) nt = 1;
  T* cols = scratch<T>(kScratchCols, static_cast<size_t>(nt * col_size));
  // Chunk 0 accumulates straight into grad_weight; chunks 1.. into these copies.
  T* partials = scratch<T>(kScratchPartials, static_cast<size_t>((nchunks - 1) * wsize));
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
  for (int64_t c = 0; c < nchunks; ++c) {
    T* col = cols + thread_id() * col_size;
    T* gw = c == 0 ? grad_weight : partials + (c - 1) * wsize;
    const int64_t n0 = c * p.N / nchunks, n1 = (c + 1) * p.N / nchunks;
    for (int64_t n = n0; n < n1; ++n) {
      const T beta = n == n0 ? T(0) : T(1);
      for (int64_t g = 0; g < p.groups; ++g) {
        const T* x = input + (n * p.C_in + g * d.Cg) * d.HW;
        const T* gy = grad_output + (n * p.C_out + g * d.Mg) * d.HoWo;
        const T* B = x;
        if (!d.pointwise) {
          im2col(x, d.geom, col);
          B = col;
        }
        // col^T: row s (output pixel), column k at k*HoWo + s.
        gemm(d.Mg, d.Kg, d.HoWo, T(1), gy, d.HoWo, 1, B, 1, d.HoWo, beta, gw + g * d.Mg * d.Kg, d.Kg, 1);
      }
    }
  }
  if (nchunks > 1) {
    const bool par = cpu::worth_parallel(wsize * (nchunks - 1));
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i = 0; i < wsize; ++i) {
      T acc = grad_weight[i];
      for (int64_t c = 1; c < nchunks; ++c) acc += partials[(c - 1) * wsize + i];
      grad_weight[i] = acc;
    }
  }
}

template <typename T>
void backward_bias_impl(const Conv2dParams& p, const T* grad_output, T* grad_bias) {
  const int64_t HoWo = p.out_h() * p.out_w();
  const bool par = cpu::worth_parallel(p.N * p.C_out * HoWo) && p.C_out > 1;
  // One channel per iteration, images in order, 8 fixed lanes within a plane: the same sums
  // whatever the thread count, and the lanes let the compiler vectorize without -ffast-math.
#pragma omp parallel for schedule(static) if (par)
  for (int64_t co = 0; co < p.C_out; ++co) {
    T total = T(0);
    for (int64_t n = 0; n < p.N; ++n) {
      const T* g = grad_output + (n * p.C_out + co) * HoWo;
      T lane[8] = {};
      int64_t s = 0;
      for (; s + 8 <= HoWo; s += 8)
        for (int l = 0; l < 8; ++l) lane[l] += g[s + l];
      T plane = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
      for (; s < HoWo; ++s) plane += g[s];
      total += plane;
    }
    grad_bias[co] = total;
  }
}

}  // namespace

void conv2d_forward(const Conv2dParams& p, const float* input, const float* weight, const float* bias,
                    float* output) {
  if (cpu::use_avx2() && conv2d_forward_direct_avx2(p, input, weight, bias, output)) return;
  forward_generic(p, input, weight, bias, output);
}
void conv2d_forward(const Conv2dParams& p, const double* input, const double* weight,
                    const double* bias, double* output) {
  forward_generic(p, input, weight, bias, output);
}

void conv2d_backward_input(const Conv2dParams& p, const float* grad_output, const float* weight,
                           float* grad_input) {
  if (cpu::use_avx2() && conv2d_backward_input_direct_avx2(p, grad_output, weight, grad_input)) return;
  backward_input_generic(p, grad_output, weight, grad_input);
}
void conv2d_backward_input(const Conv2dParams& p, const double* grad_output, const double* weight,
                           double* grad_input) {
  backward_input_generic(p, grad_output, weight, grad_input);
}

void conv2d_backward_weight(const Conv2dParams& p, const float* input, const float* grad_output,
                            float* grad_weight) {
  if (cpu::use_avx2() && conv2d_backward_weight_direct_avx2(p, input, grad_output, grad_weight)) return;
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
