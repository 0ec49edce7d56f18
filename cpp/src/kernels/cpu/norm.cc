#include "kernels/cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace ember::kernels {
namespace {

// Sum and sum of products of n contiguous values in double, 4 lanes (vectorizes without
// reassociation flags; the lane order is fixed, so the bits are too).
template <typename T>
double sum_of(const T* p, int64_t n) {
  double a[4] = {};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) a[k] += static_cast<double>(p[i + k]);
  for (; i < n; ++i) a[0] += static_cast<double>(p[i]);
  return (a[0] + a[1]) + (a[2] + a[3]);
}

template <typename T>
double centered_sq_sum(const T* p, int64_t n, double mean) {
  double a[4] = {};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) {
      const double d = static_cast<double>(p[i + k]) - mean;
      a[k] += d * d;
    }
  for (; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - mean;
    a[0] += d * d;
  }
  return (a[0] + a[1]) + (a[2] + a[3]);
}

// sum(dy) and sum(dy * (x - mean)).
template <typename T>
void grad_sums(const T* dy, const T* x, int64_t n, double mean, double& s_dy, double& s_dyx) {
  double a[4] = {}, b[4] = {};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) {
      const double g = static_cast<double>(dy[i + k]);
      a[k] += g;
      b[k] += g * (static_cast<double>(x[i + k]) - mean);
    }
  for (; i < n; ++i) {
    const double g = static_cast<double>(dy[i]);
    a[0] += g;
    b[0] += g * (static_cast<double>(x[i]) - mean);
  }
  s_dy += (a[0] + a[1]) + (a[2] + a[3]);
  s_dyx += (b[0] + b[1]) + (b[2] + b[3]);
}

// [N, C] inputs (S == 1, BatchNorm1d after a Linear): a channel is a strided column, so the
// per-channel loops above would touch one element per cache line. These walk rows instead, a
// block of channels per work item, rows in order within it (still one fixed order per channel).
constexpr int64_t kChanBlock = 64;

inline int64_t chan_blocks(int64_t C) { return (C + kChanBlock - 1) / kChanBlock; }

template <typename T>
void stats_rows(const T* x, int64_t N, int64_t C, T* mean, T* var) {
  const int64_t nb = chan_blocks(C);
#pragma omp parallel for schedule(static) if (nb > 1 && cpu::worth_parallel(N * C))
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t c0 = b * kChanBlock, w = std::min(C, c0 + kChanBlock) - c0;
    double s[kChanBlock] = {}, q[kChanBlock] = {};
    for (int64_t n = 0; n < N; ++n) {
      const T* row = x + n * C + c0;
      for (int64_t j = 0; j < w; ++j) s[j] += static_cast<double>(row[j]);
    }
    for (int64_t j = 0; j < w; ++j) s[j] = N > 0 ? s[j] / static_cast<double>(N) : 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const T* row = x + n * C + c0;
      for (int64_t j = 0; j < w; ++j) {
        const double d = static_cast<double>(row[j]) - s[j];
        q[j] += d * d;
      }
    }
    for (int64_t j = 0; j < w; ++j) {
      mean[c0 + j] = static_cast<T>(s[j]);
      var[c0 + j] = static_cast<T>(N > 0 ? q[j] / static_cast<double>(N) : 0.0);
    }
  }
}

template <typename T>
void apply_rows(const T* x, int64_t N, int64_t C, const T* mean, const T* invstd, const T* w, const T* b, T* y) {
  std::vector<T> scale(C), shift(C);
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = invstd[c] * (w ? w[c] : T(1));
    shift[c] = b ? b[c] : T(0);
  }
  const T* sc = scale.data();
  const T* sh = shift.data();
#pragma omp parallel for schedule(static) if (N > 1 && cpu::worth_parallel(N * C))
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * C;
    T* yr = y + n * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mean[c]) * sc[c] + sh[c];
  }
}

template <typename T>
void backward_rows(const T* dy, const T* x, int64_t N, int64_t C, const T* mean, const T* invstd, const T* w,
                   bool batch_stats, T* gx, T* gw, T* gb) {
  const int64_t nb = chan_blocks(C);
  const bool need_sums = gw || gb || (gx && batch_stats);
#pragma omp parallel for schedule(static) if (nb > 1 && cpu::worth_parallel(N * C))
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t c0 = b * kChanBlock, width = std::min(C, c0 + kChanBlock) - c0;
    double s_dy[kChanBlock] = {}, s_dyx[kChanBlock] = {};
    if (need_sums)
      for (int64_t n = 0; n < N; ++n) {
        const T* g = dy + n * C + c0;
        const T* xr = x + n * C + c0;
        for (int64_t j = 0; j < width; ++j) {
          const double gd = static_cast<double>(g[j]);
          s_dy[j] += gd;
          s_dyx[j] += gd * (static_cast<double>(xr[j]) - static_cast<double>(mean[c0 + j]));
        }
      }
    T kt[kChanBlock], at[kChanBlock], dt[kChanBlock], mt[kChanBlock];
    for (int64_t j = 0; j < width; ++j) {
      const int64_t c = c0 + j;
      const double is = static_cast<double>(invstd[c]);
      if (gw) gw[c] = static_cast<T>(s_dyx[j] * is);
      if (gb) gb[c] = static_cast<T>(s_dy[j]);
      const double k = (w ? static_cast<double>(w[c]) : 1.0) * is;
      double a = 0, d = 0;
      if (batch_stats && N > 0) {
        a = -k * (s_dyx[j] / static_cast<double>(N)) * is * is;
        d = -k * (s_dy[j] / static_cast<double>(N));
      }
      kt[j] = static_cast<T>(k), at[j] = static_cast<T>(a), dt[j] = static_cast<T>(d), mt[j] = mean[c];
    }
    if (!gx) continue;
    for (int64_t n = 0; n < N; ++n) {
      const T* g = dy + n * C + c0;
      const T* xr = x + n * C + c0;
      T* o = gx + n * C + c0;
      if (batch_stats)
        for (int64_t j = 0; j < width; ++j) o[j] = kt[j] * g[j] + at[j] * (xr[j] - mt[j]) + dt[j];
      else  // running statistics: x is not needed (and may not be given)
        for (int64_t j = 0; j < width; ++j) o[j] = kt[j] * g[j];
    }
  }
}

}  // namespace

template <typename T>
void batch_norm_stats(const T* x, int64_t N, int64_t C, int64_t S, T* mean, T* var) {
  if (S == 1) return stats_rows(x, N, C, mean, var);
  const double count = static_cast<double>(N * S);
  const bool par = C > 1 && cpu::worth_parallel(N * C * S);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) s += sum_of(x + (n * C + c) * S, S);
    const double m = count > 0 ? s / count : 0.0;
    double q = 0;
    for (int64_t n = 0; n < N; ++n) q += centered_sq_sum(x + (n * C + c) * S, S, m);
    mean[c] = static_cast<T>(m);
    var[c] = static_cast<T>(count > 0 ? q / count : 0.0);
  }
}

template <typename T>
void batch_norm_apply(const T* x, int64_t N, int64_t C, int64_t S, const T* mean, const T* invstd, const T* w,
                      const T* b, T* y) {
  if (S == 1) return apply_rows(x, N, C, mean, invstd, w, b, y);
  const bool par = cpu::worth_parallel(N * C * S);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < N * C; ++pl) {
    const int64_t c = pl % C;
    // (x - mean) stays a difference: folding the mean into the shift would cancel digits away
    // when the mean is large against the spread.
    const T scale = invstd[c] * (w ? w[c] : T(1)), m = mean[c], shift = b ? b[c] : T(0);
    const T* xp = x + pl * S;
    T* yp = y + pl * S;
    for (int64_t s = 0; s < S; ++s) yp[s] = (xp[s] - m) * scale + shift;
  }
}

template <typename T>
void batch_norm_backward(const T* dy, const T* x, int64_t N, int64_t C, int64_t S, const T* mean, const T* invstd,
                         const T* w, bool batch_stats, T* gx, T* gw, T* gb) {
  if (S == 1) return backward_rows(dy, x, N, C, mean, invstd, w, batch_stats, gx, gw, gb);
  const double count = static_cast<double>(N * S);
  const bool par = C > 1 && cpu::worth_parallel(N * C * S);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t c = 0; c < C; ++c) {
    const double m = static_cast<double>(mean[c]), is = static_cast<double>(invstd[c]);
    double s_dy = 0, s_dyx = 0;
    if (gw || gb || (gx && batch_stats))
      for (int64_t n = 0; n < N; ++n) grad_sums(dy + (n * C + c) * S, x + (n * C + c) * S, S, m, s_dy, s_dyx);
    if (gw) gw[c] = static_cast<T>(s_dyx * is);
    if (gb) gb[c] = static_cast<T>(s_dy);
    if (!gx) continue;
    const double wc = w ? static_cast<double>(w[c]) : 1.0;
    // gx = k * dy + a * (x - mean) + d with per-channel constants (the closed form, x - mean
    // kept as a difference so a large mean does not cancel digits away).
    const double k = wc * is;
    double a = 0, d = 0;
    if (batch_stats && count > 0) {
      a = -k * (s_dyx / count) * is * is;
      d = -k * (s_dy / count);
    }
    const T kt = static_cast<T>(k), at = static_cast<T>(a), dt = static_cast<T>(d), mt = static_cast<T>(m);
    for (int64_t n = 0; n < N; ++n) {
      const T* g = dy + (n * C + c) * S;
      const T* xp = x + (n * C + c) * S;
      T* o = gx + (n * C + c) * S;
      if (batch_stats)
        for (int64_t s = 0; s < S; ++s) o[s] = kt * g[s] + at * (xp[s] - mt) + dt;
      else  // running statistics: x is not needed (and may not be given)
        for (int64_t s = 0; s < S; ++s) o[s] = kt * g[s];
    }
  }
}

template <typename T>
void layer_norm_forward(const T* x, int64_t rows, int64_t D, const T* w, const T* b, double eps, T* y, T* mean,
                        T* rstd) {
  const bool par = rows > 1 && cpu::worth_parallel(rows * D);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xp = x + r * D;
    const double m = D > 0 ? sum_of(xp, D) / static_cast<double>(D) : 0.0;
    const double v = D > 0 ? centered_sq_sum(xp, D, m) / static_cast<double>(D) : 0.0;
    const double rs = 1.0 / std::sqrt(v + eps);
    mean[r] = static_cast<T>(m);
    rstd[r] = static_cast<T>(rs);
    const T mt = static_cast<T>(m), rt = static_cast<T>(rs);
    T* yp = y + r * D;
    if (w && b)
      for (int64_t j = 0; j < D; ++j) yp[j] = (xp[j] - mt) * rt * w[j] + b[j];
    else if (w)
      for (int64_t j = 0; j < D; ++j) yp[j] = (xp[j] - mt) * rt * w[j];
    else if (b)
      for (int64_t j = 0; j < D; ++j) yp[j] = (xp[j] - mt) * rt + b[j];
    else
      for (int64_t j = 0; j < D; ++j) yp[j] = (xp[j] - mt) * rt;
  }
}

template <typename T>
void layer_norm_backward(const T* dy, const T* x, int64_t rows, int64_t D, const T* mean, const T* rstd, const T* w,
                         T* gx, T* gw, T* gb) {
  const bool par = cpu::worth_parallel(rows * D);
  if (gx) {
#pragma omp parallel for schedule(static) if (par && rows > 1)
    for (int64_t r = 0; r < rows; ++r) {
      const T* g = dy + r * D;
      const T* xp = x + r * D;
      const double m = static_cast<double>(mean[r]), rs = static_cast<double>(rstd[r]);
      // mean(dxh) and mean(dxh * xhat), dxh = dy * w
      double a[4] = {}, bsum[4] = {};
      int64_t j = 0;
      for (; j + 4 <= D; j += 4)
        for (int k = 0; k < 4; ++k) {
          const double dxh = static_cast<double>(g[j + k]) * (w ? static_cast<double>(w[j + k]) : 1.0);
          a[k] += dxh;
          bsum[k] += dxh * (static_cast<double>(xp[j + k]) - m);
        }
      for (; j < D; ++j) {
        const double dxh = static_cast<double>(g[j]) * (w ? static_cast<double>(w[j]) : 1.0);
        a[0] += dxh;
        bsum[0] += dxh * (static_cast<double>(xp[j]) - m);
      }
      const double mean_dxh = ((a[0] + a[1]) + (a[2] + a[3])) / static_cast<double>(D);
      const double proj = ((bsum[0] + bsum[1]) + (bsum[2] + bsum[3])) / static_cast<double>(D) * rs * rs;
      // gx = rs * dxh - rs * proj * (x - m) - rs * mean_dxh
      const T kt = static_cast<T>(rs), at = static_cast<T>(-rs * proj), dt = static_cast<T>(-rs * mean_dxh),
              mt = static_cast<T>(m);
      T* o = gx + r * D;
      if (w)
        for (int64_t jj = 0; jj < D; ++jj) o[jj] = kt * (g[jj] * w[jj]) + at * (xp[jj] - mt) + dt;
      else
        for (int64_t jj = 0; jj < D; ++jj) o[jj] = kt * g[jj] + at * (xp[jj] - mt) + dt;
    }
  }
  if (!gw && !gb) return;
  // Column sums over rows: blocks of columns in parallel, rows in order within a block.
  constexpr int64_t kCols = 64;
  const int64_t nblocks = (D + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (par && nblocks > 1)
  for (int64_t cb = 0; cb < nblocks; ++cb) {
    const int64_t j0 = cb * kCols, j1 = std::min(D, j0 + kCols);
    double sw[kCols] = {}, sb[kCols] = {};
    for (int64_t r = 0; r < rows; ++r) {
      const T* g = dy + r * D;
      const T* xp = x + r * D;
      const double m = static_cast<double>(mean[r]), rs = static_cast<double>(rstd[r]);
      for (int64_t j = j0; j < j1; ++j) {
        const double gd = static_cast<double>(g[j]);
        sw[j - j0] += gd * (static_cast<double>(xp[j]) - m) * rs;
        sb[j - j0] += gd;
      }
    }
    for (int64_t j = j0; j < j1; ++j) {
      if (gw) gw[j] = static_cast<T>(sw[j - j0]);
      if (gb) gb[j] = static_cast<T>(sb[j - j0]);
    }
  }
}

#define EMBER_NORM_INSTANTIATE(T)                                                                                   \
  template void batch_norm_stats<T>(const T*, int64_t, int64_t, int64_t, T*, T*);                                   \
  template void batch_norm_apply<T>(const T*, int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*, T*); \
  template void batch_norm_backward<T>(const T*, const T*, int64_t, int64_t, int64_t, const T*, const T*, const T*,  \
                                       bool, T*, T*, T*);                                                           \
  template void layer_norm_forward<T>(const T*, int64_t, int64_t, const T*, const T*, double, T*, T*, T*);          \
  template void layer_norm_backward<T>(const T*, const T*, int64_t, int64_t, const T*, const T*, const T*, T*, T*,  \
                                       T*);

EMBER_NORM_INSTANTIATE(float)
EMBER_NORM_INSTANTIATE(double)

}  // namespace ember::kernels
