// Checks the pooling kernels (kernels/cpu/pool.h) against naive loops in double: max pool values,
// argmax indices (ties, NaN, -inf, padding, dilation, ceil_mode) and its backward; average pool
// with every combination of padding / ceil_mode / count_include_pad / divisor_override and its
// backward; adaptive average pool (shrinking and growing) and its backward; float32 and float64;
// 1 vs 2 threads bitwise identical; plus a few values produced by torch 2.x for the edge rules.
// Prints "pool: N passed, M failed" and exits non-zero on any failure.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/pool.h"

using ember::kernels::Pool2dParams;

namespace {

int g_passed = 0, g_failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    std::printf("FAIL %s\n", what.c_str());
  }
}

void set_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

std::string describe(const Pool2dParams& p) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "N%lld C%lld %lldx%lld k%lldx%lld s%lld,%lld p%lld,%lld d%lld,%lld%s%s div%lld",
                (long long)p.N, (long long)p.C, (long long)p.H, (long long)p.W, (long long)p.kH, (long long)p.kW,
                (long long)p.stride_h, (long long)p.stride_w, (long long)p.pad_h, (long long)p.pad_w,
                (long long)p.dilation_h, (long long)p.dilation_w, p.ceil_mode ? " ceil" : "",
                p.count_include_pad ? " incl_pad" : "", (long long)p.divisor_override);
  return buf;
}

// Same values, NaN equal to NaN.
template <typename A, typename B>
bool same_values(const std::vector<A>& a, const std::vector<B>& b, double tol) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = double(a[i]), y = double(b[i]);
    if (std::isnan(x) || std::isnan(y)) {
      if (std::isnan(x) != std::isnan(y)) return false;
      continue;
    }
    if (x == y) continue;  // also covers equal infinities
    if (!(std::fabs(x - y) <= tol * std::max(1.0, std::fabs(y)))) return false;
  }
  return true;
}

template <typename T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// ---- max pool ---------------------------------------------------------------------------------

// Walks every tap of the window in order; padding taps are skipped, the first in-bounds tap is
// the starting argmax, "v > best or v is NaN" takes over.
void ref_max(const Pool2dParams& p, const std::vector<double>& x, std::vector<double>& y, std::vector<int64_t>& idx) {
  const int64_t Ho = p.out_h(), Wo = p.out_w();
  y.assign(p.N * p.C * Ho * Wo, 0.0);
  idx.assign(y.size(), -1);
  for (int64_t pl = 0; pl < p.N * p.C; ++pl)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t arg = -1;
        for (int64_t kh = 0; kh < p.kH; ++kh)
          for (int64_t kw = 0; kw < p.kW; ++kw) {
            const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
            const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
            if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
            const double v = x[pl * p.H * p.W + ih * p.W + iw];
            if (arg < 0) arg = ih * p.W + iw;
            if (v > best || std::isnan(v)) best = v, arg = ih * p.W + iw;
          }
        const int64_t o = (pl * Ho + oh) * Wo + ow;
        y[o] = best;
        idx[o] = arg;
      }
}

template <typename T>
void check_max(const Pool2dParams& p, std::mt19937& rng) {
  const std::string name = describe(p) + (sizeof(T) == 4 ? " f32" : " f64") + " max";
  const int64_t Ho = p.out_h(), Wo = p.out_w(), HW = p.H * p.W;
  // Small integers make ties common; sprinkle NaN and -inf.
  std::vector<double> x(p.N * p.C * HW);
  for (auto& v : x) {
    const int r = static_cast<int>(rng() % 40);
    v = r == 0 ? std::nan("") : (r == 1 ? -std::numeric_limits<double>::infinity() : double(int(rng() % 7) - 3));
  }
  std::vector<double> gy(p.N * p.C * Ho * Wo);
  for (auto& v : gy) v = double(int(rng() % 2001) - 1000) / 256.0;  // exact in float
  std::vector<double> ry;
  std::vector<int64_t> ridx;
  ref_max(p, x, ry, ridx);
  std::vector<double> rgx(x.size(), 0.0);
  for (int64_t pl = 0; pl < p.N * p.C; ++pl)
    for (int64_t o = 0; o < Ho * Wo; ++o)
      if (ridx[pl * Ho * Wo + o] >= 0) rgx[pl * HW + ridx[pl * Ho * Wo + o]] += gy[pl * Ho * Wo + o];

  const std::vector<T> xt(x.begin(), x.end()), gyt(gy.begin(), gy.end());
  std::vector<T> y[2], gx[2];
  std::vector<int64_t> idx[2];
  for (int t = 0; t < 2; ++t) {
    set_threads(t + 1);
    y[t].assign(ry.size(), T(7));
    idx[t].assign(ry.size(), -7);
    gx[t].assign(x.size(), std::numeric_limits<T>::quiet_NaN());
    ember::kernels::max_pool2d_forward(p, xt.data(), y[t].data(), idx[t].data());
    ember::kernels::max_pool2d_backward(p, gyt.data(), idx[t].data(), gx[t].data());
  }
  check(same_values(y[1], ry, 0.0), name + " forward values");
  check(idx[1] == ridx, name + " forward indices");
  check(same_values(gx[1], rgx, sizeof(T) == 4 ? 1e-6 : 1e-15), name + " backward");
  check(bitwise_equal(y[0], y[1]) && idx[0] == idx[1] && bitwise_equal(gx[0], gx[1]), name + " 1 vs 2 threads");
  set_threads(2);
}

// ---- average pool -----------------------------------------------------------------------------

// Counts taps one by one: in the padded input [-pad, size+pad) for count_include_pad, in the input
// for the sum and the other divisor.
void ref_avg(const Pool2dParams& p, const std::vector<double>& x, const std::vector<double>& gy, std::vector<double>& y,
             std::vector<double>& gx) {
  const int64_t Ho = p.out_h(), Wo = p.out_w();
  y.assign(p.N * p.C * Ho * Wo, 0.0);
  gx.assign(x.size(), 0.0);
  for (int64_t pl = 0; pl < p.N * p.C; ++pl)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        double sum = 0.0;
        int64_t in_input = 0, in_padded = 0;
        for (int64_t kh = 0; kh < p.kH; ++kh)
          for (int64_t kw = 0; kw < p.kW; ++kw) {
            const int64_t ih = oh * p.stride_h - p.pad_h + kh, iw = ow * p.stride_w - p.pad_w + kw;
            if (ih < p.H + p.pad_h && iw < p.W + p.pad_w) ++in_padded;  // starts are >= -pad always
            if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
            ++in_input;
            sum += x[pl * p.H * p.W + ih * p.W + iw];
          }
        const int64_t o = (pl * Ho + oh) * Wo + ow;
        if (in_input == 0) continue;  // window entirely in the padding: 0, and no gradient
        const double div = p.divisor_override > 0 ? double(p.divisor_override)
                                                  : double(p.count_include_pad ? in_padded : in_input);
        y[o] = sum / div;
        for (int64_t kh = 0; kh < p.kH; ++kh)
          for (int64_t kw = 0; kw < p.kW; ++kw) {
            const int64_t ih = oh * p.stride_h - p.pad_h + kh, iw = ow * p.stride_w - p.pad_w + kw;
            if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
            gx[pl * p.H * p.W + ih * p.W + iw] += gy[o] / div;
          }
      }
}

template <typename T>
void check_avg(const Pool2dParams& p, std::mt19937& rng) {
  const std::string name = describe(p) + (sizeof(T) == 4 ? " f32" : " f64") + " avg";
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  std::vector<double> x(p.N * p.C * p.H * p.W), gy(p.N * p.C * p.out_h() * p.out_w());
  for (auto& v : x) v = double(T(U(rng)));
  for (auto& v : gy) v = double(T(U(rng)));
  std::vector<double> ry, rgx;
  ref_avg(p, x, gy, ry, rgx);
  const std::vector<T> xt(x.begin(), x.end()), gyt(gy.begin(), gy.end());
  std::vector<T> y[2], gx[2];
  for (int t = 0; t < 2; ++t) {
    set_threads(t + 1);
    y[t].assign(ry.size(), std::numeric_limits<T>::quiet_NaN());
    gx[t].assign(x.size(), std::numeric_limits<T>::quiet_NaN());
    ember::kernels::avg_pool2d_forward(p, xt.data(), y[t].data());
    ember::kernels::avg_pool2d_backward(p, gyt.data(), gx[t].data());
  }
  const double tol = sizeof(T) == 4 ? 2e-6 : 1e-14;
  check(same_values(y[1], ry, tol), name + " forward");
  check(same_values(gx[1], rgx, tol), name + " backward");
  check(bitwise_equal(y[0], y[1]) && bitwise_equal(gx[0], gx[1]), name + " 1 vs 2 threads");
  set_threads(2);
}

// ---- adaptive average pool --------------------------------------------------------------------

template <typename T>
void check_adaptive(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Ho, int64_t Wo, std::mt19937& rng) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "adaptive N%lld C%lld %lldx%lld -> %lldx%lld %s", (long long)N, (long long)C,
                (long long)H, (long long)W, (long long)Ho, (long long)Wo, sizeof(T) == 4 ? "f32" : "f64");
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  std::vector<double> x(N * C * H * W), gy(N * C * Ho * Wo);
  for (auto& v : x) v = double(T(U(rng)));
  for (auto& v : gy) v = double(T(U(rng)));
  // Bins [floor(o*in/out), ceil((o+1)*in/out)), computed here with the plain formulas.
  std::vector<double> ry(gy.size(), 0.0), rgx(x.size(), 0.0);
  for (int64_t pl = 0; pl < N * C; ++pl)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const int64_t h0 = oh * H / Ho, h1 = ((oh + 1) * H + Ho - 1) / Ho;
        const int64_t w0 = ow * W / Wo, w1 = ((ow + 1) * W + Wo - 1) / Wo;
        const double cnt = double((h1 - h0) * (w1 - w0));
        double s = 0.0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) s += x[pl * H * W + ih * W + iw];
        const int64_t o = (pl * Ho + oh) * Wo + ow;
        ry[o] = s / cnt;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) rgx[pl * H * W + ih * W + iw] += gy[o] / cnt;
      }
  const std::vector<T> xt(x.begin(), x.end()), gyt(gy.begin(), gy.end());
  std::vector<T> y[2], gx[2];
  for (int t = 0; t < 2; ++t) {
    set_threads(t + 1);
    y[t].assign(ry.size(), std::numeric_limits<T>::quiet_NaN());
    gx[t].assign(x.size(), std::numeric_limits<T>::quiet_NaN());
    ember::kernels::adaptive_avg_pool2d_forward(N, C, H, W, Ho, Wo, xt.data(), y[t].data());
    ember::kernels::adaptive_avg_pool2d_backward(N, C, H, W, Ho, Wo, gyt.data(), gx[t].data());
  }
  const double tol = sizeof(T) == 4 ? 2e-6 : 1e-14;
  check(same_values(y[1], ry, tol), std::string(buf) + " forward");
  check(same_values(gx[1], rgx, tol), std::string(buf) + " backward");
  check(bitwise_equal(y[0], y[1]) && bitwise_equal(gx[0], gx[1]), std::string(buf) + " 1 vs 2 threads");
  set_threads(2);
}

Pool2dParams make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t sh, int64_t sw,
                  int64_t ph = 0, int64_t pw = 0, bool ceil = false) {
  Pool2dParams p;
  p.N = N, p.C = C, p.H = H, p.W = W, p.kH = kH, p.kW = kW, p.stride_h = sh, p.stride_w = sw;
  p.pad_h = ph, p.pad_w = pw, p.ceil_mode = ceil;
  return p;
}

// Values printed by torch 2.x (CPU) for x = arange(25).view(1,1,5,5) (and arange(6) for 1-D),
// pinning the rules a naive reference could share a misreading of.
void check_against_torch() {
  std::vector<float> x(25);
  for (int i = 0; i < 25; ++i) x[i] = float(i);
  {
    // max_pool2d(x, 2, 2, ceil_mode=True): 3x3, the last window column/row is partial.
    Pool2dParams p = make(1, 1, 5, 5, 2, 2, 2, 2, 0, 0, true);
    std::vector<float> y(9);
    std::vector<int64_t> idx(9);
    ember::kernels::max_pool2d_forward(p, x.data(), y.data(), idx.data());
    const std::vector<float> ey = {6, 8, 9, 16, 18, 19, 21, 23, 24};
    check(p.out_h() == 3 && y == ey && std::vector<int64_t>(idx.begin(), idx.end()) ==
                                           std::vector<int64_t>(ey.begin(), ey.end()),
          "torch: max_pool2d k2 s2 ceil_mode");
  }
  {
    // avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=True)
    Pool2dParams p = make(1, 1, 5, 5, 3, 3, 2, 2, 1, 1, true);
    std::vector<float> y(9);
    ember::kernels::avg_pool2d_forward(p, x.data(), y.data());
    const std::vector<float> ey = {1.3333334f, 3.0f, 2.6666667f, 7.0f, 12.0f, 9.0f, 8.0f, 13.0f, 9.333333f};
    check(p.out_h() == 3 && same_values(y, ey, 1e-6), "torch: avg_pool2d k3 s2 p1 ceil count_include_pad");
    // ... and count_include_pad=False
    p.count_include_pad = false;
    ember::kernels::avg_pool2d_forward(p, x.data(), y.data());
    const std::vector<float> ey2 = {3.0f, 4.5f, 6.0f, 10.5f, 12.0f, 13.5f, 18.0f, 19.5f, 21.0f};
    check(same_values(y, ey2, 1e-6), "torch: avg_pool2d k3 s2 p1 ceil no count_include_pad");
  }
  {
    // avg_pool2d(x, 2, 2, ceil_mode=True, count_include_pad=True): windows past the input are
    // divided by their size clipped to input + padding (here 2 and 1).
    Pool2dParams p = make(1, 1, 5, 5, 2, 2, 2, 2, 0, 0, true);
    std::vector<float> y(9);
    ember::kernels::avg_pool2d_forward(p, x.data(), y.data());
    const std::vector<float> ey = {3, 5, 6.5f, 13, 15, 16.5f, 20.5f, 22.5f, 24};
    check(same_values(y, ey, 1e-6), "torch: avg_pool2d k2 s2 ceil");
  }
  {
    // adaptive_avg_pool2d(x, (3, 2))
    std::vector<float> y(6);
    ember::kernels::adaptive_avg_pool2d_forward(1, 1, 5, 5, 3, 2, x.data(), y.data());
    const std::vector<float> ey = {3.5f, 5.5f, 11.0f, 13.0f, 18.5f, 20.5f};
    check(same_values(y, ey, 1e-6), "torch: adaptive_avg_pool2d 5x5 -> 3x2");
  }
  // Output sizes (torch's pooling_output_shape).
  using ember::kernels::pool_output_size;
  check(pool_output_size(5, 2, 2, 0, 1, false) == 2 && pool_output_size(5, 2, 2, 0, 1, true) == 3,
        "pool out size floor / ceil");
  check(pool_output_size(6, 3, 2, 1, 1, true) == 4, "pool out size ceil k3 s2 p1");
  check(pool_output_size(5, 2, 2, 1, 1, true) == 3, "pool out size: ceil window may not start in right padding");
  check(pool_output_size(7, 3, 2, 1, 2, false) == 3, "pool out size with dilation");
  check(ember::kernels::pool2d_params_error(make(1, 1, 5, 5, 3, 3, 1, 1, 2, 2)) != nullptr, "pad > kernel/2 rejected");
  check(ember::kernels::pool2d_params_error(make(1, 1, 5, 5, 3, 3, 1, 1, 1, 1)) == nullptr, "pad == kernel/2 ok");
}

}  // namespace

int main() {
  std::mt19937 rng(2024);
  check_against_torch();

  std::vector<Pool2dParams> fixed = {
      make(2, 3, 8, 8, 2, 2, 2, 2),            // the 2x2 fast path
      make(2, 3, 7, 9, 2, 2, 2, 2),            // fast path, odd sizes (last row/column unused)
      make(1, 2, 7, 9, 2, 2, 2, 2, 0, 0, true),// ceil mode on odd sizes: partial windows
      make(2, 2, 9, 9, 3, 3, 2, 2, 1, 1),      // ResNet stem pool
      make(3, 2, 5, 6, 3, 3, 1, 1, 1, 1),      // overlapping windows
      make(1, 3, 1, 17, 1, 3, 1, 2, 0, 1),     // 1-D
      make(2, 2, 11, 13, 3, 2, 3, 1, 1, 0, true),
      make(64, 32, 32, 32, 2, 2, 2, 2),        // the benchmark shape (parallel path)
      make(2, 3, 6, 34, 2, 2, 2, 2),           // 2x2, 8 vector columns + a tail of 9
      make(1, 2, 5, 35, 2, 2, 2, 2),           // 2x2, odd H and W, tail of 1
      make(2, 1, 4, 16, 2, 2, 2, 2),           // 2x2, exactly one vector per row
      make(1, 1, 10, 10, 2, 2, 2, 2),          // 2x2 with only a tail (LeNet's second pool)
      // the AVX2 row loop (undilated, stride 1 or 2): groups of 8 outputs, scalar tails
      make(2, 3, 32, 32, 3, 3, 2, 2, 1, 1),    // ResNet stem pool at CIFAR size: 16 outputs a row
      make(1, 2, 7, 40, 3, 3, 1, 1, 1, 1),     // stride 1, 40 outputs: 5 groups
      make(1, 2, 9, 37, 3, 3, 2, 2, 1, 1, true),// ceil mode, 19 outputs: 2 groups + 3
      make(1, 1, 6, 50, 2, 5, 1, 2, 0, 2),     // wide kernel, 25 outputs
      make(1, 1, 5, 17, 4, 4, 2, 1, 2, 2),     // stride 1 across, 18 outputs, padding 2
  };
  for (const auto& p : fixed) {
    check_max<float>(p, rng);
    check_max<double>(p, rng);
    if (p.dilation_h == 1 && p.dilation_w == 1) {
      Pool2dParams q = p;
      for (int v = 0; v < 4; ++v) {
        q.count_include_pad = v & 1;
        q.divisor_override = (v & 2) ? 3 : 0;
        check_avg<float>(q, rng);
        check_avg<double>(q, rng);
      }
    }
  }
  // The max pools again on the portable path (the AVX2 ones run above where the CPU has it).
  ember::cpu::set_allow_avx2(false);
  for (const auto& p : fixed) check_max<float>(p, rng);
  ember::cpu::set_allow_avx2(true);
  {
    Pool2dParams p = make(2, 3, 11, 10, 3, 2, 2, 1, 1, 1);  // dilated max pool
    p.dilation_h = 2, p.dilation_w = 3;
    check_max<float>(p, rng);
    p.ceil_mode = true;
    check_max<double>(p, rng);
  }

  // Randomized awkward shapes.
  const int64_t sizes[] = {1, 2, 3, 5, 7, 9, 17};
  int made = 0;
  while (made < 200) {
    Pool2dParams p;
    p.N = 1 + rng() % 3, p.C = 1 + rng() % 4;
    p.H = sizes[rng() % 7], p.W = sizes[rng() % 7];
    p.kH = 1 + rng() % 4, p.kW = 1 + rng() % 4;
    p.stride_h = 1 + rng() % 3, p.stride_w = 1 + rng() % 3;
    p.pad_h = rng() % (p.kH / 2 + 1), p.pad_w = rng() % (p.kW / 2 + 1);
    p.ceil_mode = rng() % 2;
    const bool avg = rng() % 2;
    if (avg) {
      p.count_include_pad = rng() % 2;
      p.divisor_override = rng() % 4 == 0 ? 1 + rng() % 5 : 0;
    } else {
      p.dilation_h = 1 + rng() % 2, p.dilation_w = 1 + rng() % 2;
    }
    if (ember::kernels::pool2d_params_error(p) != nullptr) continue;
    ++made;
    if (avg)
      (made % 2) ? check_avg<float>(p, rng) : check_avg<double>(p, rng);
    else
      (made % 2) ? check_max<float>(p, rng) : check_max<double>(p, rng);
  }

  const int64_t adaptive[][4] = {{5, 5, 3, 2}, {7, 9, 1, 1}, {6, 6, 6, 6}, {3, 4, 5, 7}, {17, 13, 4, 3}, {1, 9, 1, 4}};
  for (const auto& a : adaptive) {
    check_adaptive<float>(2, 3, a[0], a[1], a[2], a[3], rng);
    check_adaptive<double>(2, 3, a[0], a[1], a[2], a[3], rng);
  }
  check_adaptive<float>(64, 64, 8, 8, 1, 1, rng);  // global average pool, parallel path

  // The global average's AVX2 lane sums give the portable loop's bits (whole 32-float blocks,
  // a ragged tail, and planes shorter than one block).
  for (const int64_t hw : {7, 32, 63, 65, 1024, 1000}) {
    std::normal_distribution<float> dist(0.f, 1.f);
    std::vector<float> x(3 * hw), y_vec(3), y_portable(3);
    for (float& v : x) v = dist(rng);
    ember::kernels::adaptive_avg_pool2d_forward(1, 3, hw, 1, 1, 1, x.data(), y_vec.data());
    ember::cpu::set_allow_avx2(false);
    ember::kernels::adaptive_avg_pool2d_forward(1, 3, hw, 1, 1, 1, x.data(), y_portable.data());
    ember::cpu::set_allow_avx2(true);
    check(bitwise_equal(y_vec, y_portable), "global average of " + std::to_string(hw) + ": AVX2 vs portable bits");
  }

  std::printf("pool: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
