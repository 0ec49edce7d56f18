// Checks the conv2d kernels (kernels/cpu/conv.h) against naive direct loops in double:
// forward, input, weight and bias gradients, float32 and float64, over fixed shapes (LeNet, the
// benchmark shapes, depthwise, 1x1, 1-D, non-square, strided, dilated, grouped) and randomized
// awkward ones, on the AVX-512 (where the CPU has it), AVX2 and generic code paths; and 1 vs 2 vs 3 threads bitwise identical.
// Prints "conv: N passed, M failed" and exits non-zero on any failure.
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm/gemm.h"
#include "kernels/cpu/cpu_features.h"

using ember::kernels::Conv2dParams;

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

std::string describe(const Conv2dParams& p) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "N%lld Ci%lld %lldx%lld Co%lld k%lldx%lld s%lld,%lld p%lld,%lld d%lld,%lld g%lld",
                (long long)p.N, (long long)p.C_in, (long long)p.H, (long long)p.W, (long long)p.C_out,
                (long long)p.kH, (long long)p.kW, (long long)p.stride_h, (long long)p.stride_w,
                (long long)p.pad_h, (long long)p.pad_w, (long long)p.dilation_h, (long long)p.dilation_w,
                (long long)p.groups);
  return buf;
}

// ---- naive references, straight from the definition, in double ------------------------------

struct Ref {
  std::vector<double> y, gx, gw, gb;
};

Ref reference(const Conv2dParams& p, const std::vector<double>& x, const std::vector<double>& w,
              const std::vector<double>& b, const std::vector<double>& gy) {
  const int64_t Ho = p.out_h(), Wo = p.out_w(), Cg = p.C_in / p.groups, Mg = p.C_out / p.groups;
  Ref r;
  r.y.assign(p.N * p.C_out * Ho * Wo, 0.0);
  r.gx.assign(p.N * p.C_in * p.H * p.W, 0.0);
  r.gw.assign(p.C_out * Cg * p.kH * p.kW, 0.0);
  r.gb.assign(p.C_out, 0.0);
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t co = 0; co < p.C_out; ++co) {
      const int64_t g = co / Mg;
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const int64_t yi = ((n * p.C_out + co) * Ho + oh) * Wo + ow;
          double acc = b[co];
          const double go = gy[yi];
          r.gb[co] += go;
          for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t kh = 0; kh < p.kH; ++kh)
              for (int64_t kw = 0; kw < p.kW; ++kw) {
                const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
                const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                const int64_t xi = ((n * p.C_in + g * Cg + ci) * p.H + ih) * p.W + iw;
                const int64_t wi = ((co * Cg + ci) * p.kH + kh) * p.kW + kw;
                acc += w[wi] * x[xi];
                r.gx[xi] += w[wi] * go;
                r.gw[wi] += x[xi] * go;
              }
          r.y[yi] = acc;
        }
    }
  return r;
}

// max |a - ref| relative to max |ref| (plus a floor so all-zero references pass).
template <typename T>
double rel_err(const std::vector<T>& a, const std::vector<double>& ref) {
  double scale = 1e-30, err = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    scale = std::max(scale, std::fabs(ref[i]));
    const double d = std::fabs(double(a[i]) - ref[i]);
    if (!(d <= err)) err = d;  // NaN propagates as a failure
  }
  return err / scale;
}

template <typename T>
struct Result {
  std::vector<T> y, gx, gw, gb;
  bool operator==(const Result& o) const {
    auto same = [](const std::vector<T>& a, const std::vector<T>& b) {
      return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
    };
    return same(y, o.y) && same(gx, o.gx) && same(gw, o.gw) && same(gb, o.gb);
  }
};

template <typename T>
Result<T> run(const Conv2dParams& p, const std::vector<T>& x, const std::vector<T>& w,
              const std::vector<T>& b, const std::vector<T>& gy, bool with_bias) {
  Result<T> r;
  // Fill outputs with NaN so a kernel that skips an element (instead of overwriting) is caught.
  const T nan = std::numeric_limits<T>::quiet_NaN();
  r.y.assign(p.N * p.C_out * p.out_h() * p.out_w(), nan);
  r.gx.assign(p.N * p.C_in * p.H * p.W, nan);
  r.gw.assign(w.size(), nan);
  r.gb.assign(p.C_out, nan);
  ember::kernels::conv2d_forward(p, x.data(), w.data(), with_bias ? b.data() : nullptr, r.y.data());
  ember::kernels::conv2d_backward_input(p, gy.data(), w.data(), r.gx.data());
  ember::kernels::conv2d_backward_weight(p, x.data(), gy.data(), r.gw.data());
  ember::kernels::conv2d_backward_bias(p, gy.data(), r.gb.data());
  return r;
}

template <typename T>
void check_case(const Conv2dParams& p, std::mt19937& rng, bool threads_too) {
  const char* err = ember::kernels::conv2d_params_error(p);
  if (err != nullptr) {
    check(false, describe(p) + ": unexpectedly invalid: " + err);
    return;
  }
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  auto rnd = [&](int64_t n) {
    std::vector<double> v(n);
    for (auto& e : v) e = static_cast<double>(static_cast<T>(U(rng)));  // exactly representable in T
    return v;
  };
  const int64_t Cg = p.C_in / p.groups;
  std::vector<double> x = rnd(p.N * p.C_in * p.H * p.W), w = rnd(p.C_out * Cg * p.kH * p.kW),
                      b = rnd(p.C_out), gy = rnd(p.N * p.C_out * p.out_h() * p.out_w());
  const bool with_bias = (rng() & 3) != 0;
  if (!with_bias) std::fill(b.begin(), b.end(), 0.0);
  const Ref ref = reference(p, x, w, b, gy);
  auto cast = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
  const std::vector<T> xt = cast(x), wt = cast(w), bt = cast(b), gyt = cast(gy);

  // Rounding grows with the reduction length; scale the tolerance with it.
  const int64_t red = std::max<int64_t>({Cg * p.kH * p.kW, p.C_out / p.groups * p.kH * p.kW,
                                         p.N * p.out_h() * p.out_w()});
  const double tol = (sizeof(T) == 4 ? 2e-6 : 1e-14) * std::sqrt(double(red) + 1.0) * 4;
  const std::string name = describe(p) + (sizeof(T) == 4 ? " f32" : " f64") + (with_bias ? "" : " nobias");

  const bool has_avx512 = ember::cpu::use_avx512();
  for (int path = has_avx512 ? -1 : 0; path < 2; ++path) {
    ember::cpu::set_allow_avx2(path <= 0);
    ember::cpu::set_allow_avx512(path < 0);
    const std::string pname = name + (path < 0 ? " [avx512]" : (path == 0 ? " [avx2]" : " [generic]"));
    set_threads(2);
    const Result<T> r2 = run(p, xt, wt, bt, gyt, with_bias);
    const double e_y = rel_err(r2.y, ref.y), e_gx = rel_err(r2.gx, ref.gx), e_gw = rel_err(r2.gw, ref.gw),
                 e_gb = rel_err(r2.gb, ref.gb);
    check(e_y <= tol, pname + " forward err " + std::to_string(e_y));
    check(e_gx <= tol, pname + " grad_input err " + std::to_string(e_gx));
    check(e_gw <= tol, pname + " grad_weight err " + std::to_string(e_gw));
    check(e_gb <= tol, pname + " grad_bias err " + std::to_string(e_gb));
    if (threads_too) {
      set_threads(1);
      const Result<T> r1 = run(p, xt, wt, bt, gyt, with_bias);
      set_threads(3);
      const Result<T> r3 = run(p, xt, wt, bt, gyt, with_bias);
      check(r1 == r2, pname + " 1 vs 2 threads not bitwise identical");
      check(r3 == r2, pname + " 3 vs 2 threads not bitwise identical");
    }
  }
  ember::cpu::set_allow_avx2(true);
  ember::cpu::set_allow_avx512(true);
  set_threads(2);
}

Conv2dParams make(int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t Co, int64_t kH, int64_t kW,
                  int64_t sh = 1, int64_t sw = 1, int64_t ph = 0, int64_t pw = 0, int64_t dh = 1,
                  int64_t dw = 1, int64_t groups = 1) {
  Conv2dParams p;
  p.N = N, p.C_in = Ci, p.H = H, p.W = W, p.C_out = Co, p.kH = kH, p.kW = kW;
  p.stride_h = sh, p.stride_w = sw, p.pad_h = ph, p.pad_w = pw, p.dilation_h = dh, p.dilation_w = dw;
  p.groups = groups;
  return p;
}

void check_helpers() {
  using ember::kernels::conv_output_size;
  check(conv_output_size(28, 5, 1, 2, 1) == 28, "out size 28 k5 p2");
  check(conv_output_size(14, 5, 1, 0, 1) == 10, "out size 14 k5");
  check(conv_output_size(7, 3, 2, 1, 1) == 4, "out size 7 k3 s2 p1");
  check(conv_output_size(7, 3, 2, 0, 2) == 2, "out size 7 k3 s2 d2");
  check(conv_output_size(2, 5, 1, 0, 1) == 0, "out size kernel larger than input");
  check(conv_output_size(1, 3, 3, 0, 1) == 0, "out size negative span rounds to 0, not 1");
  check(ember::kernels::conv2d_params_error(make(2, 3, 8, 8, 4, 3, 3)) == nullptr, "valid params");
  check(ember::kernels::conv2d_params_error(make(2, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, 1, 1, 2)) != nullptr,
        "groups must divide C_in");
  check(ember::kernels::conv2d_params_error(make(2, 3, 2, 2, 4, 3, 3)) != nullptr, "kernel larger than input");
  check(ember::kernels::conv2d_params_error(make(2, 3, 8, 8, 4, 3, 3, 0)) != nullptr, "stride 0");
  const Conv2dParams q = ember::kernels::conv1d_params(4, 3, 50, 6, 5, 2, 1, 2, 3);
  check(q.H == 1 && q.kH == 1 && q.W == 50 && q.kW == 5 && q.stride_w == 2 && q.pad_w == 1 &&
            q.dilation_w == 2 && q.groups == 3 && q.out_h() == 1 && q.out_w() == 22,
        "conv1d_params");
}

}  // namespace

// A batch's forward gives each image the bits it gets alone: the batch-lanes kernels (16 or 8
// images a vector) and the direct ones run the same FMA chain per output.
static void check_batch_bits(std::mt19937& rng) {
  std::uniform_real_distribution<float> U(-1.f, 1.f);
  const Conv2dParams shapes[] = {make(37, 6, 14, 14, 16, 5, 5), make(16, 1, 12, 12, 6, 5, 5, 1, 1, 2, 2)};
  for (const bool avx512 : {true, false}) {
    ember::cpu::set_allow_avx512(avx512);
    for (const Conv2dParams& p : shapes) {
      const int64_t in_img = p.C_in * p.H * p.W, out_img = p.C_out * p.out_h() * p.out_w();
      std::vector<float> x(p.N * in_img), w(p.C_out * p.C_in * p.kH * p.kW), b(p.C_out);
      for (auto* v : {&x, &w, &b})
        for (float& e : *v) e = U(rng);
      std::vector<float> y(p.N * out_img), y1(out_img);
      ember::kernels::conv2d_forward(p, x.data(), w.data(), b.data(), y.data());
      Conv2dParams one = p;
      one.N = 1;
      bool same = true;
      for (int64_t n = 0; n < p.N; ++n) {
        ember::kernels::conv2d_forward(one, x.data() + n * in_img, w.data(), b.data(), y1.data());
        same = same && std::memcmp(y1.data(), y.data() + n * out_img, sizeof(float) * out_img) == 0;
      }
      check(same, describe(p) + (avx512 ? " [avx512]" : " [avx2]") + " f32: batched forward differs from alone");
    }
  }
  ember::cpu::set_allow_avx512(true);
}

int main() {
  std::mt19937 rng(12345);
  check_batch_bits(rng);
  // Let small GEMMs use the thread team too, so the one-image cases (images run one after
  // another, the GEMM threads itself) exercise the threaded GEMM paths.
  ember::kernels::gemm_set_thread_work(16 * 1024);
  check_helpers();

  std::vector<Conv2dParams> fixed = {
      make(5, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2),          // LeNet conv1
      make(5, 6, 14, 14, 16, 5, 5),                     // LeNet conv2
      make(3, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1),         // benchmark shapes, small batch
      make(2, 32, 16, 16, 64, 3, 3, 1, 1, 1, 1),
      make(2, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1),
      make(2, 128, 16, 16, 128, 3, 3, 1, 1, 1, 1),
      make(17, 2, 9, 11, 3, 3, 3, 1, 1, 1, 1),          // more images than weight chunks
      make(1, 4, 13, 7, 5, 3, 3, 1, 1, 1, 1),           // one image: GEMM-threaded path
      make(3, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8),   // depthwise
      make(2, 6, 10, 10, 12, 5, 5, 2, 2, 2, 2, 1, 1, 6),// depthwise multiplier 2, strided
      make(4, 16, 7, 7, 24, 1, 1),                      // 1x1: no im2col
      make(3, 16, 7, 9, 8, 1, 1, 2, 2),                 // 1x1 strided: im2col
      make(2, 5, 6, 6, 3, 1, 1, 1, 1, 1, 1),            // 1x1 padded
      make(3, 3, 11, 17, 4, 2, 5, 1, 2, 1, 2),          // non-square kernel, mixed stride/pad
      make(2, 4, 15, 15, 6, 3, 3, 1, 1, 2, 2, 2, 2),    // dilated, "same"
      make(2, 6, 12, 12, 9, 3, 3, 1, 1, 1, 1, 1, 1, 3), // grouped
      make(2, 3, 5, 5, 2, 5, 5, 1, 1, 0, 0),            // kernel == input: 1x1 output
      make(2, 2, 3, 3, 2, 3, 3, 1, 1, 3, 3),            // padding larger than half the kernel
      ember::kernels::conv1d_params(3, 4, 50, 6, 5, 1, 2),        // 1-D
      ember::kernels::conv1d_params(2, 6, 31, 6, 3, 2, 1, 2, 3),  // 1-D strided dilated grouped
      make(64, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2),         // full LeNet batch (direct paths, chunks)
      // Implicit-GEMM paths: output rows that split the B panels, K over several K blocks, more
      // rows than one row block (the packed weights on the tall path), strided, 1x1.
      make(3, 20, 13, 11, 40, 3, 3, 1, 1, 1, 1),
      make(2, 70, 8, 8, 16, 3, 3, 1, 1, 1, 1),
      make(1, 8, 6, 7, 200, 3, 3, 1, 1, 1, 1),
      make(1, 200, 6, 5, 8, 3, 3, 1, 1, 1, 1),
      make(2, 24, 15, 15, 33, 3, 3, 2, 2, 1, 1),
      make(2, 40, 9, 9, 24, 3, 3, 1, 1, 2, 2, 2, 2),
      make(2, 48, 10, 10, 40, 1, 1),
      // Direct weight gradient with output channels in the vector lanes (C_out/groups a
      // multiple of 16): grouped, 48 and 64 channels, dilated, odd planes.
      make(2, 4, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2),
      make(3, 3, 7, 11, 48, 3, 3, 1, 1, 1, 1),
      make(5, 2, 6, 9, 64, 3, 2, 1, 1, 0, 1, 2, 1),
      // Forward with 16 images in the AVX-512 lanes (batch >= 16, one group): two batches and a
      // rest for the direct kernel, column tails of the 8x8 transposes, 5 channels (row blocks
      // of 3 + 2), dilation, 32 channels.
      make(35, 6, 14, 14, 16, 5, 5),
      make(16, 3, 5, 13, 5, 3, 3, 1, 1, 1, 2, 1, 2),
      make(18, 3, 8, 8, 32, 3, 3, 1, 1, 1, 1),
  };
  for (const auto& p : fixed) {
    check_case<float>(p, rng, true);
    check_case<double>(p, rng, true);
  }

  // Randomized awkward shapes.
  const int64_t sizes[] = {1, 2, 3, 5, 7, 9, 17};
  const int64_t chans[] = {1, 2, 3, 5, 7};
  auto pick = [&](auto& arr) { return arr[rng() % (sizeof(arr) / sizeof(arr[0]))]; };
  int made = 0;
  while (made < 160) {
    Conv2dParams p;
    const int64_t kind = rng() % 4;  // 0,1: plain groups; 2: groups 2-3; 3: depthwise
    p.groups = kind < 2 ? 1 : (kind == 2 ? 2 + rng() % 2 : 0);
    const int64_t Cg = pick(chans), Mg = pick(chans);
    if (p.groups == 0) {
      p.groups = pick(chans);
      p.C_in = p.groups;
      p.C_out = p.groups * (1 + rng() % 2);
    } else {
      p.C_in = Cg * p.groups;
      p.C_out = Mg * p.groups;
    }
    p.N = 1 + rng() % 4;
    p.H = pick(sizes), p.W = pick(sizes);
    if (rng() % 5 == 0) p.H = 1;  // 1-D like
    p.kH = 1 + rng() % 4, p.kW = 1 + rng() % 4;
    if (p.H == 1) p.kH = 1;
    p.stride_h = 1 + rng() % 3, p.stride_w = 1 + rng() % 3;
    if (rng() % 2) p.stride_h = p.stride_w = 1;  // stride 1 is the common (and direct-path) case
    p.pad_h = rng() % 3, p.pad_w = rng() % 3;
    p.dilation_h = 1 + rng() % 2, p.dilation_w = 1 + rng() % 2;
    if (ember::kernels::conv2d_params_error(p) != nullptr) continue;
    ++made;
    if (made % 2) check_case<float>(p, rng, made % 3 == 0);
    else check_case<double>(p, rng, made % 3 == 0);
  }

  std::printf("conv: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
