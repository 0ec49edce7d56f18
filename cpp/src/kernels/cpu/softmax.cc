#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/vec_math_avx2.h"

namespace ember::kernels {
namespace {

// Columns of a strided slab handled together: the per-column max/sum buffers stay on the stack
// and in L1, and slabs x column blocks give enough independent work items for the threads.
constexpr int64_t kColBlock = 256;

template <typename T>
T sum8(const T* a, int64_t n) {
  T acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k];
  for (; i < n; ++i) acc[i & 7] += a[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

template <typename T>
T dot8(const T* a, const T* b, int64_t n) {
  T acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  for (; i < n; ++i) acc[i & 7] += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

template <typename T>
void exp_inplace(T* y, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu::use_avx2()) return avx2::exp_inplace(y, n);
  }
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(y[i]);
}

template <typename T>
void softmax_row(const T* x, T* y, int64_t n, bool log, T* e, T* inv_s) {
  const T m = row_max(x, n);
  if (log) {
    const T s = row_exp_sum<T>(x, m, e, n);
    const T ls = std::log(s);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - ls;
    if (inv_s) *inv_s = T(1) / s;
  } else {
    const T inv = T(1) / row_exp_sum<T>(x, m, y, n);
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }
}

// One slab [R, inner] restricted to columns [c0, c0 + w). The exps go to e when kept (log only),
// else into y, which the last pass overwrites.
template <typename T>
void softmax_slab(const T* x, T* y, int64_t R, int64_t inner, int64_t c0, int64_t w, bool log, T* e, T* inv_s) {
  T mx[kColBlock], s[kColBlock];
  x += c0;
  y += c0;
  T* ex = e ? e + c0 : y;
  for (int64_t c = 0; c < w; ++c) mx[c] = x[c];
  for (int64_t r = 1; r < R; ++r) {
    const T* xr = x + r * inner;
    for (int64_t c = 0; c < w; ++c) mx[c] = xr[c] > mx[c] ? xr[c] : mx[c];
  }
  std::fill(s, s + w, T(0));
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = x + r * inner;
    T* er = ex + r * inner;
    for (int64_t c = 0; c < w; ++c) er[c] = xr[c] - mx[c];
    exp_inplace(er, w);
    for (int64_t c = 0; c < w; ++c) s[c] += er[c];
  }
  if (log) {
    if (inv_s)
      for (int64_t c = 0; c < w; ++c) inv_s[c0 + c] = T(1) / s[c];
    for (int64_t c = 0; c < w; ++c) s[c] = std::log(s[c]);
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = x + r * inner;
      T* yr = y + r * inner;
      for (int64_t c = 0; c < w; ++c) yr[c] = (xr[c] - mx[c]) - s[c];
    }
  } else {
    for (int64_t c = 0; c < w; ++c) s[c] = T(1) / s[c];
    for (int64_t r = 0; r < R; ++r) {
      T* yr = y + r * inner;
      for (int64_t c = 0; c < w; ++c) yr[c] *= s[c];
    }
  }
}

// Backward over one slab: softmax from y (e == null), log_softmax from e and inv_s.
template <typename T>
void backward_slab(const T* y, const T* e, const T* inv_s, const T* g, T* gx, int64_t R, int64_t inner, int64_t c0,
                   int64_t w) {
  T acc[kColBlock];
  std::fill(acc, acc + w, T(0));
  for (int64_t r = 0; r < R; ++r) {
    const T* gr = g + r * inner + c0;
    if (e) {
      for (int64_t c = 0; c < w; ++c) acc[c] += gr[c];
    } else {
      const T* yr = y + r * inner + c0;
      for (int64_t c = 0; c < w; ++c) acc[c] += gr[c] * yr[c];
    }
  }
  if (e)
    for (int64_t c = 0; c < w; ++c) acc[c] *= inv_s[c0 + c];
  for (int64_t r = 0; r < R; ++r) {
    const T* gr = g + r * inner + c0;
    T* out = gx + r * inner + c0;
    if (e) {
      const T* er = e + r * inner + c0;
      for (int64_t c = 0; c < w; ++c) out[c] = gr[c] - er[c] * acc[c];
    } else {
      const T* yr = y + r * inner + c0;
      for (int64_t c = 0; c < w; ++c) out[c] = yr[c] * (gr[c] - acc[c]);
    }
  }
}

// Calls body(outer index, column start, width) over every (slab, column block), in parallel
// when the whole job is big enough.
template <typename Body>
void for_slabs(int64_t outer, int64_t R, int64_t inner, int64_t cost, Body body) {
  const int64_t nb = (inner + kColBlock - 1) / kColBlock;
  for_each_row(outer * nb, outer * R * inner * cost, [&](int64_t k) {
    const int64_t o = k / nb, b = k % nb;
    body(o, b * kColBlock, std::min(kColBlock, inner - b * kColBlock));
  });
}

}  // namespace

template <typename T>
T row_max(const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu::use_avx2()) return avx2::row_max(x, n);
  }
  T m = x[0];
  for (int64_t i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

template <typename T>
T row_exp_sum(const T* x, T shift, T* e, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu::use_avx2()) return avx2::row_exp_sum(x, shift, e, n);
  }
  T acc[4] = {};
  for (int64_t i = 0; i < n; ++i) {
    const T v = std::exp(x[i] - shift);
    if (e) e[i] = v;
    acc[i & 3] += v;
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t R, int64_t inner, bool log, T* e, T* inv_s) {
  if (outer == 0 || R == 0 || inner == 0) return;
  if (!log) e = inv_s = nullptr;
  if (inner == 1) {
    for_each_row(outer, outer * R * 8, [&](int64_t o) {
      softmax_row(x + o * R, y + o * R, R, log, e ? e + o * R : nullptr, inv_s ? inv_s + o : nullptr);
    });
    return;
  }
  for_slabs(outer, R, inner, 8, [&](int64_t o, int64_t c0, int64_t w) {
    const int64_t off = o * R * inner;
    softmax_slab(x + off, y + off, R, inner, c0, w, log, e ? e + off : nullptr, inv_s ? inv_s + o * inner : nullptr);
  });
}

template <typename T>
void softmax_backward(const T* y, const T* g, T* gx, int64_t outer, int64_t R, int64_t inner) {
  if (outer == 0 || R == 0 || inner == 0) return;
  if (inner == 1) {
    for_each_row(outer, outer * R * 4, [&](int64_t o) {
      const T* yr = y + o * R;
      const T* gr = g + o * R;
      T* out = gx + o * R;
      const T d = dot8(gr, yr, R);
      for (int64_t i = 0; i < R; ++i) out[i] = yr[i] * (gr[i] - d);
    });
    return;
  }
  for_slabs(outer, R, inner, 4, [&](int64_t o, int64_t c0, int64_t w) {
    const int64_t off = o * R * inner;
    backward_slab<T>(y + off, nullptr, nullptr, g + off, gx + off, R, inner, c0, w);
  });
}

template <typename T>
void log_softmax_backward(const T* e, const T* inv_s, const T* g, T* gx, int64_t outer, int64_t R, int64_t inner) {
  if (outer == 0 || R == 0 || inner == 0) return;
  if (inner == 1) {
    for_each_row(outer, outer * R * 4, [&](int64_t o) {
      const T* er = e + o * R;
      const T* gr = g + o * R;
      T* out = gx + o * R;
      const T k = sum8(gr, R) * inv_s[o];
      for (int64_t i = 0; i < R; ++i) out[i] = gr[i] - er[i] * k;
    });
    return;
  }
  for_slabs(outer, R, inner, 4, [&](int64_t o, int64_t c0, int64_t w) {
    const int64_t off = o * R * inner;
    backward_slab<T>(nullptr, e + off, inv_s + o * inner, g + off, gx + off, R, inner, c0, w);
  });
}

#define EMBER_INSTANTIATE(T)                                                                        \
  template T row_max<T>(const T*, int64_t);                                                          \
  template T row_exp_sum<T>(const T*, T, T*, int64_t);                                               \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool, T*, T*);           \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t);              \
  template void log_softmax_backward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)
#undef EMBER_INSTANTIATE

}  // namespace ember::kernels
