// The vector gate math of the recurrent kernels, written once over a vector type and included by
// recurrent_avx2.cc (8 float lanes) and recurrent_avx512.cc (16 lanes), each compiled for its
// ISA. V provides: R (register), M (comparison mask), W (lanes), load/store/set1, add/sub/mul/div,
// fmadd(a, b, c) = a*b + c, fnmadd(a, b, c) = c - a*b, min/max, round, pow2i (2^k for integral
// k, through the exponent bits), abs, lt/gt/unord comparisons and blend(m, f, t) = m ? t : f.
//
// exp: Cephes' range reduction and degree-6 polynomial; tanh: Eigen's 13/6 rational function.
// Both are accurate to a few ulp (tests/cpp/test_recurrent.cc). Each row function runs whole
// vectors and returns how many units it did; the caller finishes the tail.
#pragma once

#include <cstdint>

namespace ember::kernels::rnn_rows {
namespace {

template <class V>
struct VecMath {
  using R = typename V::R;

  // Clamping as max(lo, x) / min(hi, x) returns x when x is NaN, so NaN stays NaN.
  static R clamp(R x, float lo, float hi) { return V::min(V::set1(hi), V::max(V::set1(lo), x)); }

  // e^x = 2^k e^r, x = k ln2 + r, |r| <= ln2/2 (ln2 split in two so k*ln2 is exact). Below -87:
  // ~e^-87 (callers only add it to 1); above 88.38, k = 128 sets the exponent to all ones: inf.
  static R exp(R x) {
    x = clamp(x, -87.0f, 88.8f);
    const R k = V::round(V::mul(x, V::set1(1.44269504088896341f)));
    R r = V::fnmadd(k, V::set1(0.693359375f), x);
    r = V::fnmadd(k, V::set1(-2.12194440e-4f), r);
    R p = V::set1(1.9875691500e-4f);
    p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
    p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
    p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
    p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
    p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
    p = V::fmadd(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
    return V::mul(p, V::pow2i(k));
  }

  static R sigmoid(R x) {
    const R one = V::set1(1.0f);
    return V::div(one, V::add(one, exp(V::sub(V::set1(0.0f), x))));
  }

  // Eigen's generic_fast_tanh_float: odd 13th over even 6th degree on [-7.9053, 7.9053]
  // (beyond, tanh is 1 in float); |x| < 0.0004 returns x.
  static R tanh(R a) {
    const R x = clamp(a, -7.90531110763549805f, 7.90531110763549805f);
    const R x2 = V::mul(x, x);
    R p = V::fmadd(x2, V::set1(-2.76076847742355e-16f), V::set1(2.00018790482477e-13f));
    p = V::fmadd(x2, p, V::set1(-8.60467152213735e-11f));
    p = V::fmadd(x2, p, V::set1(5.12229709037114e-08f));
    p = V::fmadd(x2, p, V::set1(1.48572235717979e-05f));
    p = V::fmadd(x2, p, V::set1(6.37261928875436e-04f));
    p = V::fmadd(x2, p, V::set1(4.89352455891786e-03f));
    p = V::mul(x, p);
    R q = V::fmadd(x2, V::set1(1.19825839466702e-06f), V::set1(1.18534705686654e-04f));
    q = V::fmadd(x2, q, V::set1(2.26843463243900e-03f));
    q = V::fmadd(x2, q, V::set1(4.89352518554385e-03f));
    return V::blend(V::lt(V::abs(a), V::set1(0.0004f)), V::div(p, q), a);
  }

  static R dsig(R y) { return V::fnmadd(y, y, y); }               // y (1 - y)
  static R dtanh(R y) { return V::fnmadd(y, y, V::set1(1.0f)); }  // 1 - y^2
  static R ld(const float* p) { return V::load(p); }
  static void st(float* p, R v) { V::store(p, v); }
};

template <class V>
int64_t sigmoid_vec(int64_t n, const float* x, float* y) {
  using F = VecMath<V>;
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) F::st(y + j, F::sigmoid(F::ld(x + j)));
  return j;
}

template <class V>
int64_t tanh_vec(int64_t n, const float* x, float* y) {
  using F = VecMath<V>;
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) F::st(y + j, F::tanh(F::ld(x + j)));
  return j;
}

template <class V>
int64_t lstm_forward_vec(int64_t n, int64_t H, float* gates, const float* hg, const float* bias, const float* c_prev,
                         float* c, float* tc, float* h) {
  using F = VecMath<V>;
  // the pre-activation of gate block k: W_ih x + W_hh h + folded bias
  auto pre = [&](int64_t k, int64_t j) {
    return V::add(V::add(F::ld(gates + k * H + j), F::ld(hg + k * H + j)), F::ld(bias + k * H + j));
  };
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) {
    const auto i = F::sigmoid(pre(0, j));
    const auto f = F::sigmoid(pre(1, j));
    const auto g = F::tanh(pre(2, j));
    const auto o = F::sigmoid(pre(3, j));
    F::st(gates + j, i), F::st(gates + H + j, f), F::st(gates + 2 * H + j, g), F::st(gates + 3 * H + j, o);
    const auto cc = V::fmadd(f, F::ld(c_prev + j), V::mul(i, g));
    const auto t = F::tanh(cc);
    F::st(c + j, cc), F::st(tc + j, t), F::st(h + j, V::mul(o, t));
  }
  return j;
}

template <class V>
int64_t gru_forward_vec(int64_t n, int64_t H, float* s, const float* hg, const float* bias, const float* h_prev,
                        float* h) {
  using F = VecMath<V>;
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) {
    const auto r = F::sigmoid(V::add(V::add(F::ld(s + j), F::ld(hg + j)), F::ld(bias + j)));
    const auto z = F::sigmoid(V::add(V::add(F::ld(s + H + j), F::ld(hg + H + j)), F::ld(bias + H + j)));
    const auto hn = V::add(F::ld(hg + 2 * H + j), F::ld(bias + 3 * H + j));
    const auto nn = F::tanh(V::fmadd(r, hn, V::add(F::ld(s + 2 * H + j), F::ld(bias + 2 * H + j))));
    F::st(s + j, r), F::st(s + H + j, z), F::st(s + 2 * H + j, nn), F::st(s + 3 * H + j, hn);
    F::st(h + j, V::fmadd(z, V::sub(F::ld(h_prev + j), nn), nn));
  }
  return j;
}

template <class V>
int64_t rnn_forward_vec(int64_t n, float* y, const float* hg, const float* bias, bool relu) {
  using F = VecMath<V>;
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) {
    const auto v = V::add(V::add(F::ld(y + j), F::ld(hg + j)), F::ld(bias + j));
    // max(v, 0) would turn a NaN into 0: keep it, as torch's relu does
    F::st(y + j, relu ? V::blend(V::unord(v, v), V::max(v, V::set1(0.0f)), v) : F::tanh(v));
  }
  return j;
}

template <class V>
int64_t lstm_backward_vec(int64_t n, int64_t H, const float* gates, const float* c_prev, const float* tc,
                          const float* dy, const float* dh, float* dc, float* dG) {
  using F = VecMath<V>;
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) {
    const auto i = F::ld(gates + j), f = F::ld(gates + H + j), g = F::ld(gates + 2 * H + j);
    const auto o = F::ld(gates + 3 * H + j);
    const auto t = F::ld(tc + j), d = V::add(F::ld(dy + j), F::ld(dh + j));
    const auto dcc = V::fmadd(V::mul(d, o), F::dtanh(t), F::ld(dc + j));
    F::st(dG + j, V::mul(V::mul(dcc, g), F::dsig(i)));
    F::st(dG + H + j, V::mul(V::mul(dcc, F::ld(c_prev + j)), F::dsig(f)));
    F::st(dG + 2 * H + j, V::mul(V::mul(dcc, i), F::dtanh(g)));
    F::st(dG + 3 * H + j, V::mul(V::mul(d, t), F::dsig(o)));
    F::st(dc + j, V::mul(dcc, f));
  }
  return j;
}

template <class V>
int64_t gru_backward_vec(int64_t n, int64_t H, const float* s, const float* h_prev, const float* dy, float* dh,
                         float* dG) {
  using F = VecMath<V>;
  const auto one = V::set1(1.0f);
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) {
    const auto r = F::ld(s + j), z = F::ld(s + H + j), nn = F::ld(s + 2 * H + j), hn = F::ld(s + 3 * H + j);
    const auto d = V::add(F::ld(dy + j), F::ld(dh + j));
    const auto dn = V::mul(V::mul(d, V::sub(one, z)), F::dtanh(nn));
    F::st(dG + j, V::mul(V::mul(dn, hn), F::dsig(r)));
    F::st(dG + H + j, V::mul(V::mul(d, V::sub(F::ld(h_prev + j), nn)), F::dsig(z)));
    F::st(dG + 2 * H + j, V::mul(dn, r));
    F::st(dG + 3 * H + j, dn);
    F::st(dh + j, V::mul(d, z));
  }
  return j;
}

template <class V>
int64_t rnn_backward_vec(int64_t n, const float* h, const float* dy, const float* dh, float* dG, bool relu) {
  using F = VecMath<V>;
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) {
    const auto d = V::add(F::ld(dy + j), F::ld(dh + j)), hv = F::ld(h + j);
    F::st(dG + j, relu ? V::blend(V::gt(hv, V::set1(0.0f)), V::set1(0.0f), d) : V::mul(d, F::dtanh(hv)));
  }
  return j;
}

}  // namespace
}  // namespace ember::kernels::rnn_rows
