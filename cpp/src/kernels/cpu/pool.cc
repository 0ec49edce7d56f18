// Pooling loops: one (n, c) plane per OpenMP iteration, plain loops inside. The 2x2 stride-2
// unpadded max pool (the one every small CNN uses) has its own loop without window bookkeeping.
#include "kernels/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/parallel.h"

namespace ember::kernels {

// pool_avx2.cc: one plane of the 2x2 stride-2 float32 max pool and its backward.
void max_pool2x2_plane_avx2(const float* x, int64_t W, int64_t Ho, int64_t Wo, float* y, int64_t* idx);
void max_pool2x2_plane_backward_avx2(const float* gy, const int64_t* idx, int64_t H, int64_t W, int64_t Ho,
                                     int64_t Wo, float* gx);
// pool_avx2.cc: 8-output groups of one row of an undilated max pool at stride 1 or 2, from a
// -inf-padded copy of the plane.
void max_pool_row_avx2(const float* xp, int64_t Wp, int64_t left, int64_t W, int64_t h0, int64_t h1, int64_t kW,
                       int64_t s, int64_t pad, int64_t ow0, int64_t n8, float* y, int64_t* idx);
// pool_avx2.cc: the whole 32-float blocks of a global-average lane sum; returns the elements done.
int64_t global_sum_lanes32_avx2(const float* x, int64_t n, float* lane);

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                         bool ceil_mode) {
  if (stride <= 0) return 0;
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  if (span < 0) return 0;
  int64_t out = span / stride + 1;
  // With ceil_mode the last window may not start in the right padding (torch's rule).
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

int64_t Pool2dParams::out_h() const { return pool_output_size(H, kH, stride_h, pad_h, dilation_h, ceil_mode); }
int64_t Pool2dParams::out_w() const { return pool_output_size(W, kW, stride_w, pad_w, dilation_w, ceil_mode); }

const char* pool2d_params_error(const Pool2dParams& p) {
  if (p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1) return "pool2d: N must be >= 0 and C, H, W >= 1";
  if (p.kH < 1 || p.kW < 1) return "pool2d: kernel size must be >= 1";
  if (p.stride_h < 1 || p.stride_w < 1) return "pool2d: stride must be >= 1";
  if (p.dilation_h < 1 || p.dilation_w < 1) return "pool2d: dilation must be >= 1";
  if (p.pad_h < 0 || p.pad_w < 0 || p.pad_h > p.kH / 2 || p.pad_w > p.kW / 2)
    return "pool2d: padding must be >= 0 and at most half the kernel size";
  if (p.divisor_override < 0) return "pool2d: divisor_override must be > 0 when given";
  if (p.out_h() < 1 || p.out_w() < 1) return "pool2d: output size would be empty";
  return nullptr;
}

namespace {

// ---- max pool -------------------------------------------------------------------------------

// Unpadded 2x2 windows at stride 2, all inside the input (true for floor mode, and for ceil mode
// on even sizes).
bool is_2x2(const Pool2dParams& p) {
  return p.kH == 2 && p.kW == 2 && p.stride_h == 2 && p.stride_w == 2 && p.pad_h == 0 && p.pad_w == 0 &&
         p.dilation_h == 1 && p.dilation_w == 1 && 2 * p.out_h() <= p.H && 2 * p.out_w() <= p.W;
}

// 2x2 stride-2 windows tile the plane (an odd last row/column is ignored, as floor mode does).
// Written without branches: on random data "is this the max" is a coin flip, and a mispredicted
// branch per comparison made the obvious loop ~5x slower. ">" keeps the first of equal values
// and "v != v" lets NaN win, position for position like the general loop (and torch).
template <typename T>
void max_plane_2x2(const T* x, int64_t W, int64_t Ho, int64_t Wo, T* y, int64_t* idx) {
  for (int64_t oh = 0; oh < Ho; ++oh) {
    const T* r0 = x + 2 * oh * W;
    const T* r1 = r0 + W;
    T* yo = y + oh * Wo;
    int64_t* io = idx + oh * Wo;
    const int64_t base = 2 * oh * W;
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
      const bool tb = b > a || b != b;
      T m = tb ? b : a;
      int64_t k = tb ? 1 : 0;
      const bool tc = c > m || c != c;
      m = tc ? c : m;
      k = tc ? W : k;
      const bool td = d > m || d != d;
      m = td ? d : m;
      k = td ? W + 1 : k;
      yo[ow] = m;
      io[ow] = base + 2 * ow + k;
    }
  }
}

// Backward of the 2x2 stride-2 case: every input element belongs to at most one window, so each
// is written once (the gradient or 0) instead of zeroing the plane and scattering. An index
// outside its window (never produced by the forward) drops that gradient rather than writing
// out of bounds.
template <typename T>
void max_plane_2x2_backward(const T* gy, const int64_t* idx, int64_t H, int64_t W, int64_t Ho, int64_t Wo, T* gx) {
  for (int64_t oh = 0; oh < Ho; ++oh) {
    T* r0 = gx + 2 * oh * W;
    T* r1 = r0 + W;
    const T* g = gy + oh * Wo;
    const int64_t* io = idx + oh * Wo;
    const int64_t base = 2 * oh * W;
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const int64_t k = io[ow] - (base + 2 * ow);
      const T v = g[ow];
      r0[2 * ow] = k == 0 ? v : T(0);
      r0[2 * ow + 1] = k == 1 ? v : T(0);
      r1[2 * ow] = k == W ? v : T(0);
      r1[2 * ow + 1] = k == W + 1 ? v : T(0);
    }
    if (2 * Wo < W) r0[W - 1] = r1[W - 1] = T(0);
  }
  if (2 * Ho < H) std::memset(gx + (H - 1) * W, 0, sizeof(T) * W);
}

// The AVX2 loops of pool_avx2.cc take the 2x2 case for float32 (their indices are built in
// 32-bit lanes, hence the plane-size limit).
template <typename T>
bool use_avx2_2x2(const Pool2dParams& p) {
  return std::is_same_v<T, float> && cpu::use_avx2() && p.H * p.W < (int64_t(1) << 31);
}

// One window of the general max pool: output (oh, ow) of the plane x.
template <typename T>
void max_window(const Pool2dParams& p, const T* x, int64_t oh, int64_t ow, T* y, int64_t* idx) {
  int64_t h0 = oh * p.stride_h - p.pad_h;
  const int64_t h1 = std::min(h0 + (p.kH - 1) * p.dilation_h + 1, p.H);
  while (h0 < 0) h0 += p.dilation_h;
  int64_t w0 = ow * p.stride_w - p.pad_w;
  const int64_t w1 = std::min(w0 + (p.kW - 1) * p.dilation_w + 1, p.W);
  while (w0 < 0) w0 += p.dilation_w;
  // Start from -inf at the first in-bounds tap, so an all -inf window still names a real
  // element (torch does the same). A dilated window can miss the input entirely; torch then
  // reports an index outside the plane, we report -1 (and the backward skips it).
  T m = -std::numeric_limits<T>::infinity();
  int64_t best = (h0 < h1 && w0 < w1) ? h0 * p.W + w0 : -1;
  for (int64_t ih = h0; ih < h1; ih += p.dilation_h)
    for (int64_t iw = w0; iw < w1; iw += p.dilation_w) {
      const T v = x[ih * p.W + iw];
      if (v > m || std::isnan(v)) m = v, best = ih * p.W + iw;
    }
  *y = m;
  *idx = best;
}

template <typename T>
void max_plane(const Pool2dParams& p, const T* x, int64_t Ho, int64_t Wo, T* y, int64_t* idx) {
  for (int64_t oh = 0; oh < Ho; ++oh)
    for (int64_t ow = 0; ow < Wo; ++ow) max_window(p, x, oh, ow, y + oh * Wo + ow, idx + oh * Wo + ow);
}

// The AVX2 row loop (pool_avx2.cc) takes undilated float32 pools at stride 1 or 2: the scalar
// window loop is ~20 instructions a tap and GCC turns its select into a mispredicted jump.
bool use_avx2_rows(const Pool2dParams& p) {
  return cpu::use_avx2() && p.dilation_h == 1 && p.dilation_w == 1 && (p.stride_w == 1 || p.stride_w == 2) &&
         p.H * (p.W + p.pad_w + p.kW + 32) < (int64_t(1) << 31);
}

void max_plane_avx2_rows(const Pool2dParams& p, const float* x, int64_t Ho, int64_t Wo, float* y, int64_t* idx) {
  // A copy of the plane with -inf around each row: `left` = pad_w columns before, and after the
  // row enough that the last group's 16-float loads stay inside.
  const int64_t left = p.pad_w, Wp = std::max(left + p.W, (Wo - 1) * p.stride_w + p.kW + 15) + 1;
  thread_local std::vector<float> buf;
  if (buf.size() < static_cast<size_t>(p.H * Wp)) buf.resize(static_cast<size_t>(p.H * Wp));
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int64_t h = 0; h < p.H; ++h) {
    float* row = buf.data() + h * Wp;
    std::fill(row, row + left, kNegInf);
    std::memcpy(row + left, x + h * p.W, sizeof(float) * p.W);
    std::fill(row + left + p.W, row + Wp, kNegInf);
  }
  // Windows with at least one real column (ceil mode can add one that starts past the row).
  int64_t n = Wo;
  while (n > 0 && (n - 1) * p.stride_w - p.pad_w >= p.W) --n;
  const int64_t n8 = n / 8 * 8;
  for (int64_t oh = 0; oh < Ho; ++oh) {
    const int64_t h0 = std::max<int64_t>(oh * p.stride_h - p.pad_h, 0);
    const int64_t h1 = std::min(oh * p.stride_h - p.pad_h + p.kH, p.H);
    int64_t ow = 0;
    if (h0 < h1 && n8 > 0) {
      max_pool_row_avx2(buf.data(), Wp, left, p.W, h0, h1, p.kW, p.stride_w, p.pad_w, 0, n8, y + oh * Wo,
                        idx + oh * Wo);
      ow = n8;
    }
    for (; ow < Wo; ++ow) max_window(p, x, oh, ow, y + oh * Wo + ow, idx + oh * Wo + ow);
  }
}

template <typename T>
void max_forward(const Pool2dParams& p, const T* input, T* output, int64_t* indices) {
  const int64_t Ho = p.out_h(), Wo = p.out_w(), planes = p.N * p.C, HW = p.H * p.W;
  const bool fast = is_2x2(p);
  const bool vec = fast && use_avx2_2x2<T>(p);
  const bool rows = !fast && std::is_same_v<T, float> && use_avx2_rows(p);
  const bool par = cpu::worth_parallel(planes * Ho * Wo * p.kH * p.kW);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < planes; ++pl) {
    if constexpr (std::is_same_v<T, float>) {
      if (vec) {
        max_pool2x2_plane_avx2(input + pl * HW, p.W, Ho, Wo, output + pl * Ho * Wo, indices + pl * Ho * Wo);
        continue;
      }
    }
    if constexpr (std::is_same_v<T, float>) {
      if (rows) {
        max_plane_avx2_rows(p, input + pl * HW, Ho, Wo, output + pl * Ho * Wo, indices + pl * Ho * Wo);
        continue;
      }
    }
    if (fast)
      max_plane_2x2(input + pl * HW, p.W, Ho, Wo, output + pl * Ho * Wo, indices + pl * Ho * Wo);
    else
      max_plane(p, input + pl * HW, Ho, Wo, output + pl * Ho * Wo, indices + pl * Ho * Wo);
  }
}

template <typename T>
void max_backward(const Pool2dParams& p, const T* grad_output, const int64_t* indices, T* grad_input) {
  const int64_t Ho = p.out_h(), Wo = p.out_w(), planes = p.N * p.C, HW = p.H * p.W, HoWo = Ho * Wo;
  const bool fast = is_2x2(p);
  const bool vec = fast && use_avx2_2x2<T>(p);
  const bool par = cpu::worth_parallel(planes * (HW + HoWo));
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < planes; ++pl) {
    T* gx = grad_input + pl * HW;
    const T* gy = grad_output + pl * HoWo;
    const int64_t* id = indices + pl * HoWo;
    if constexpr (std::is_same_v<T, float>) {
      if (vec) {
        max_pool2x2_plane_backward_avx2(gy, id, p.H, p.W, Ho, Wo, gx);
        continue;
      }
    }
    if (fast) {
      max_plane_2x2_backward(gy, id, p.H, p.W, Ho, Wo, gx);
      continue;
    }
    std::memset(gx, 0, sizeof(T) * HW);
    // The range test costs nothing measurable and keeps a bad index from writing out of bounds.
    for (int64_t o = 0; o < HoWo; ++o)
      if (static_cast<uint64_t>(id[o]) < static_cast<uint64_t>(HW)) gx[id[o]] += gy[o];
  }
}

// ---- average pool ---------------------------------------------------------------------------

// Window [h0, h1) x [w0, w1) clipped to the input, and the divisor torch uses for it.
struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
};

inline AvgWindow avg_window(const Pool2dParams& p, int64_t oh, int64_t ow) {
  AvgWindow a;
  int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
  int64_t h1 = std::min(h0 + p.kH, p.H + p.pad_h), w1 = std::min(w0 + p.kW, p.W + p.pad_w);
  const int64_t padded_size = (h1 - h0) * (w1 - w0);
  a.h0 = std::max<int64_t>(h0, 0), a.w0 = std::max<int64_t>(w0, 0);
  a.h1 = std::min(h1, p.H), a.w1 = std::min(w1, p.W);
  if (p.divisor_override > 0)
    a.divisor = p.divisor_override;
  else
    a.divisor = p.count_include_pad ? padded_size : (a.h1 - a.h0) * (a.w1 - a.w0);
  return a;
}

// The 2x2 stride-2 unpadded average (is_2x2) without the per-window bookkeeping: the general
// loop's adds in its order (from +0, row by row) and its division, so the same bits.
template <typename T>
void avg_plane_2x2(const T* x, int64_t W, int64_t Ho, int64_t Wo, T divisor, T* y) {
  for (int64_t oh = 0; oh < Ho; ++oh) {
    const T* r0 = x + 2 * oh * W;
    const T* r1 = r0 + W;
    for (int64_t ow = 0; ow < Wo; ++ow) {
      T sum = T(0);
      sum += r0[2 * ow];
      sum += r0[2 * ow + 1];
      sum += r1[2 * ow];
      sum += r1[2 * ow + 1];
      y[oh * Wo + ow] = sum / divisor;
    }
  }
}

// Its backward: every input element is in at most one window, so each is written once (0 + the
// share, as the general loop's zero-then-add gives, or 0 in an odd last row/column).
template <typename T>
void avg_plane_2x2_backward(const T* gy, int64_t H, int64_t W, int64_t Ho, int64_t Wo, T divisor, T* gx) {
  for (int64_t oh = 0; oh < Ho; ++oh) {
    T* r0 = gx + 2 * oh * W;
    T* r1 = r0 + W;
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const T g = T(0) + gy[oh * Wo + ow] / divisor;
      r0[2 * ow] = r0[2 * ow + 1] = r1[2 * ow] = r1[2 * ow + 1] = g;
    }
    if (2 * Wo < W) r0[W - 1] = r1[W - 1] = T(0);
  }
  if (2 * Ho < H) std::memset(gx + (H - 1) * W, 0, sizeof(T) * W);
}

template <typename T>
T avg_2x2_divisor(const Pool2dParams& p) {
  return T(p.divisor_override > 0 ? p.divisor_override : 4);
}

template <typename T>
void avg_forward(const Pool2dParams& p, const T* input, T* output) {
  const int64_t Ho = p.out_h(), Wo = p.out_w(), planes = p.N * p.C, HW = p.H * p.W;
  const bool par = cpu::worth_parallel(planes * Ho * Wo * p.kH * p.kW);
  const bool fast = is_2x2(p);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* x = input + pl * HW;
    T* y = output + pl * Ho * Wo;
    if (fast) {
      avg_plane_2x2(x, p.W, Ho, Wo, avg_2x2_divisor<T>(p), y);
      continue;
    }
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const AvgWindow a = avg_window(p, oh, ow);
        // A window entirely in the padding (possible with ceil_mode) averages nothing: 0.
        if (a.h0 >= a.h1 || a.w0 >= a.w1) {
          y[oh * Wo + ow] = T(0);
          continue;
        }
        T sum = T(0);
        for (int64_t ih = a.h0; ih < a.h1; ++ih)
          for (int64_t iw = a.w0; iw < a.w1; ++iw) sum += x[ih * p.W + iw];
        y[oh * Wo + ow] = sum / T(a.divisor);
      }
  }
}

template <typename T>
void avg_backward(const Pool2dParams& p, const T* grad_output, T* grad_input) {
  const int64_t Ho = p.out_h(), Wo = p.out_w(), planes = p.N * p.C, HW = p.H * p.W;
  const bool par = cpu::worth_parallel(planes * Ho * Wo * p.kH * p.kW);
  const bool fast = is_2x2(p);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* gy = grad_output + pl * Ho * Wo;
    T* gx = grad_input + pl * HW;
    if (fast) {
      avg_plane_2x2_backward(gy, p.H, p.W, Ho, Wo, avg_2x2_divisor<T>(p), gx);
      continue;
    }
    std::memset(gx, 0, sizeof(T) * HW);
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const AvgWindow a = avg_window(p, oh, ow);
        if (a.h0 >= a.h1 || a.w0 >= a.w1) continue;
        const T g = gy[oh * Wo + ow] / T(a.divisor);
        for (int64_t ih = a.h0; ih < a.h1; ++ih)
          for (int64_t iw = a.w0; iw < a.w1; ++iw) gx[ih * p.W + iw] += g;
      }
  }
}

// ---- adaptive average pool ------------------------------------------------------------------

// floor(o * in / out) and ceil((o + 1) * in / out) without overflow-prone floating point.
inline int64_t adaptive_start(int64_t o, int64_t out, int64_t in) { return (o / out) * in + ((o % out) * in) / out; }
inline int64_t adaptive_end(int64_t o, int64_t out, int64_t in) { return 1 + ((o + 1) * in - 1) / out; }

template <typename T>
void adaptive_forward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* input,
                      T* output) {
  const int64_t planes = N * C;
  const bool par = cpu::worth_parallel(planes * std::max(H * W, Ho * Wo));
  const bool avx2 = cpu::use_avx2();
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* x = input + pl * H * W;
    T* y = output + pl * Ho * Wo;
    if (Ho == 1 && Wo == 1) {
      // Global average (the head of most CNNs): one long sum, in 32 fixed lanes so the compiler
      // vectorizes it without -ffast-math into 8 independent SSE chains (a single running sum is
      // one add per 3-4 cycles), then a fixed pairwise tree.
      constexpr int L = 32;
      T lane[L] = {};
      int64_t i = 0;
      if constexpr (std::is_same_v<T, float>) {
        if (avx2) i = global_sum_lanes32_avx2(x, H * W, lane);
      }
      for (; i + L <= H * W; i += L)
        for (int l = 0; l < L; ++l) lane[l] += x[i + l];
      for (int l = 0; i + l < H * W; ++l) lane[l] += x[i + l];
      for (int w = L / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
      y[0] = lane[0] / T(H * W);
      continue;
    }
    for (int64_t oh = 0; oh < Ho; ++oh) {
      const int64_t h0 = adaptive_start(oh, Ho, H), h1 = adaptive_end(oh, Ho, H);
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const int64_t w0 = adaptive_start(ow, Wo, W), w1 = adaptive_end(ow, Wo, W);
        T sum = T(0);
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) sum += x[ih * W + iw];
        y[oh * Wo + ow] = sum / T((h1 - h0) * (w1 - w0));
      }
    }
  }
}

template <typename T>
void adaptive_backward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* grad_output,
                       T* grad_input) {
  const int64_t planes = N * C;
  const bool par = cpu::worth_parallel(planes * std::max(H * W, Ho * Wo));
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* gy = grad_output + pl * Ho * Wo;
    T* gx = grad_input + pl * H * W;
    std::memset(gx, 0, sizeof(T) * H * W);
    for (int64_t oh = 0; oh < Ho; ++oh) {
      const int64_t h0 = adaptive_start(oh, Ho, H), h1 = adaptive_end(oh, Ho, H);
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const int64_t w0 = adaptive_start(ow, Wo, W), w1 = adaptive_end(ow, Wo, W);
        const T g = gy[oh * Wo + ow] / T((h1 - h0) * (w1 - w0));
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) gx[ih * W + iw] += g;
      }
    }
  }
}

}  // namespace

void max_pool2d_forward(const Pool2dParams& p, const float* input, float* output, int64_t* indices) {
  max_forward(p, input, output, indices);
}
void max_pool2d_forward(const Pool2dParams& p, const double* input, double* output, int64_t* indices) {
  max_forward(p, input, output, indices);
}
void max_pool2d_backward(const Pool2dParams& p, const float* grad_output, const int64_t* indices, float* grad_input) {
  max_backward(p, grad_output, indices, grad_input);
}
void max_pool2d_backward(const Pool2dParams& p, const double* grad_output, const int64_t* indices,
                         double* grad_input) {
  max_backward(p, grad_output, indices, grad_input);
}
void avg_pool2d_forward(const Pool2dParams& p, const float* input, float* output) { avg_forward(p, input, output); }
void avg_pool2d_forward(const Pool2dParams& p, const double* input, double* output) { avg_forward(p, input, output); }
void avg_pool2d_backward(const Pool2dParams& p, const float* grad_output, float* grad_input) {
  avg_backward(p, grad_output, grad_input);
}
void avg_pool2d_backward(const Pool2dParams& p, const double* grad_output, double* grad_input) {
  avg_backward(p, grad_output, grad_input);
}
void adaptive_avg_pool2d_forward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t out_h, int64_t out_w,
                                 const float* input, float* output) {
  adaptive_forward(N, C, H, W, out_h, out_w, input, output);
}
void adaptive_avg_pool2d_forward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t out_h, int64_t out_w,
                                 const double* input, double* output) {
  adaptive_forward(N, C, H, W, out_h, out_w, input, output);
}
void adaptive_avg_pool2d_backward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t out_h, int64_t out_w,
                                  const float* grad_output, float* grad_input) {
  adaptive_backward(N, C, H, W, out_h, out_w, grad_output, grad_input);
}
void adaptive_avg_pool2d_backward(int64_t N, int64_t C, int64_t H, int64_t W, int64_t out_h, int64_t out_w,
                                  const double* grad_output, double* grad_input) {
  adaptive_backward(N, C, H, W, out_h, out_w, grad_output, grad_input);
}

}  // namespace ember::kernels
