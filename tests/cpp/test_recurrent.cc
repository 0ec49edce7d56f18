// Checks the recurrent kernels' vector math and gate rows, for AVX2 and (where the CPU has it)
// AVX-512: sigmoid / tanh against double-precision libm over a dense sweep (relative error, NaN
// and infinities kept), and each vector gate row (LSTM / GRU / RNN, forward and backward, odd
// widths for the tails) against the portable row on the same inputs. Whole-layer results are checked against torch
// from Python (tests/test_recurrent.py). Prints "recurrent: N passed, M failed".
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/recurrent_rows.h"

namespace rows = ember::kernels::rnn_rows;

// One instruction set's vector rows.
struct Isa {
  const char* name;
  decltype(&rows::avx2::sigmoid) sigmoid, tanh;
  decltype(&rows::avx2::lstm_forward) lstm_forward;
  decltype(&rows::avx2::gru_forward) gru_forward;
  decltype(&rows::avx2::rnn_forward) rnn_forward;
  decltype(&rows::avx2::lstm_backward) lstm_backward;
  decltype(&rows::avx2::gru_backward) gru_backward;
  decltype(&rows::avx2::rnn_backward) rnn_backward;
};
#define EMBER_ISA(ns) \
  Isa{#ns, rows::ns::sigmoid, rows::ns::tanh, rows::ns::lstm_forward, rows::ns::gru_forward, rows::ns::rnn_forward, \
      rows::ns::lstm_backward, rows::ns::gru_backward, rows::ns::rnn_backward}

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

// Max of |a - b| / max(|b|, floor) over the arrays.
double max_rel(const std::vector<float>& a, const std::vector<float>& b, double floor = 1e-30) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i])) / std::fmax(std::fabs(double(b[i])), floor);
    m = std::fmax(m, d);
  }
  return m;
}

void check_math(const Isa& v) {
  std::vector<float> x;
  for (double v = -100; v <= 100; v += 0.0137) x.push_back(float(v));
  for (double v = -1e-3; v <= 1e-3; v += 1.3e-6) x.push_back(float(v));  // tiny: tanh's cut-over
  std::vector<float> s(x.size()), t(x.size()), s_ref(x.size()), t_ref(x.size());
  v.sigmoid(int64_t(x.size()), x.data(), s.data());
  v.tanh(int64_t(x.size()), x.data(), t.data());
  for (size_t i = 0; i < x.size(); ++i) {
    s_ref[i] = float(1.0 / (1.0 + std::exp(-double(x[i]))));
    t_ref[i] = float(std::tanh(double(x[i])));
  }
  // sigmoid below ~1e-30 is only ever added to larger numbers; relative error is not kept there
  const double es = max_rel(s, s_ref, 1e-30), et = max_rel(t, t_ref);
  std::printf("%s sigmoid max rel err %.2e, tanh %.2e over %zu points\n", v.name, es, et, x.size());
  check(es < 2e-6, "sigmoid accuracy");
  check(et < 2e-6, "tanh accuracy");
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> sp{inf, -inf, nan, 0.f, 1e30f, -1e30f, 88.f, -88.f}, so(8), to(8);
  v.sigmoid(8, sp.data(), so.data());
  v.tanh(8, sp.data(), to.data());
  check(so[0] == 1.f && so[1] == 0.f && std::isnan(so[2]) && so[3] == 0.5f && so[4] == 1.f && so[5] < 1e-30f,
        "sigmoid special values");
  auto one = [](float v) { return std::fabs(v - 1.f) < 1e-6f; };
  check(one(to[0]) && one(-to[1]) && std::isnan(to[2]) && to[3] == 0.f && one(to[4]) && one(-to[5]),
        "tanh special values");
}

std::vector<float> randv(std::mt19937& g, size_t n, float scale = 1.5f) {
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (float& e : v) e = d(g);
  return v;
}

// Equal up to float rounding, relative to the largest value (FMA contractions differ from the
// scalar code, and 1 - x*x cancels near |x| = 1).
bool near(const std::vector<float>& a, const std::vector<float>& b) {
  double scale = 1e-30, err = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::fmax(scale, std::fabs(double(b[i])));
    err = std::fmax(err, std::fabs(double(a[i]) - double(b[i])));
  }
  return err <= 4e-7 * scale;
}

void check_rows(const Isa& v) {
  std::mt19937 g(7);
  for (int64_t n : {1, 7, 8, 13, 16, 29, 64}) {
    const int64_t H = n + 3;  // gate blocks H apart, only n units touched
    const std::string tag = std::string(" ") + v.name + " n=" + std::to_string(n);
    {  // LSTM
      auto pre = randv(g, 4 * H), hg = randv(g, 4 * H), bias = randv(g, 4 * H), cp = randv(g, H);
      auto g1 = pre, g2 = pre;
      std::vector<float> c1(H), c2(H), t1(H), t2(H), h1(H), h2(H);
      rows::lstm_forward<float>(n, H, g1.data(), hg.data(), bias.data(), cp.data(), c1.data(), t1.data(), h1.data());
      v.lstm_forward(n, H, g2.data(), hg.data(), bias.data(), cp.data(), c2.data(), t2.data(), h2.data());
      check(near(g1, g2) && near(c1, c2) && near(t1, t2) && near(h1, h2), "lstm forward" + tag);
      auto dy = randv(g, H), dh = randv(g, H), dc = randv(g, H);
      auto dc1 = dc, dc2 = dc;
      std::vector<float> d1(4 * H), d2(4 * H);
      rows::lstm_backward<float>(n, H, g1.data(), cp.data(), t1.data(), dy.data(), dh.data(), dc1.data(), d1.data());
      v.lstm_backward(n, H, g1.data(), cp.data(), t1.data(), dy.data(), dh.data(), dc2.data(), d2.data());
      check(near(d1, d2) && near(dc1, dc2), "lstm backward" + tag);
    }
    {  // GRU
      auto s = randv(g, 4 * H), hg = randv(g, 3 * H), bias = randv(g, 4 * H), hp = randv(g, H);
      auto s1 = s, s2 = s;
      std::vector<float> h1(H), h2(H);
      rows::gru_forward<float>(n, H, s1.data(), hg.data(), bias.data(), hp.data(), h1.data());
      v.gru_forward(n, H, s2.data(), hg.data(), bias.data(), hp.data(), h2.data());
      check(near(s1, s2) && near(h1, h2), "gru forward" + tag);
      auto dy = randv(g, H), dh = randv(g, H);
      auto dh1 = dh, dh2 = dh;
      std::vector<float> d1(4 * H), d2(4 * H);
      rows::gru_backward<float>(n, H, s1.data(), hp.data(), dy.data(), dh1.data(), d1.data());
      v.gru_backward(n, H, s1.data(), hp.data(), dy.data(), dh2.data(), d2.data());
      check(near(d1, d2) && near(dh1, dh2), "gru backward" + tag);
    }
    for (bool relu : {false, true}) {  // RNN
      auto y = randv(g, n), hg = randv(g, n), bias = randv(g, n);
      y[0] = std::numeric_limits<float>::quiet_NaN();  // relu keeps NaN, as torch
      auto y1 = y, y2 = y;
      rows::rnn_forward<float>(n, y1.data(), hg.data(), bias.data(), relu);
      v.rnn_forward(n, y2.data(), hg.data(), bias.data(), relu);
      check(std::isnan(y1[0]) && std::isnan(y2[0]), "rnn forward NaN" + tag);
      y1[0] = y2[0] = 0;
      check(near(y1, y2), std::string("rnn forward ") + (relu ? "relu" : "tanh") + tag);
      auto dy = randv(g, n), dh = randv(g, n);
      std::vector<float> d1(n), d2(n);
      rows::rnn_backward<float>(n, y1.data(), dy.data(), dh.data(), d1.data(), relu);
      v.rnn_backward(n, y1.data(), dy.data(), dh.data(), d2.data(), relu);
      check(near(d1, d2), std::string("rnn backward ") + (relu ? "relu" : "tanh") + tag);
    }
  }
}

}  // namespace

int main() {
  if (!ember::cpu::use_avx2()) {
    std::printf("recurrent: no AVX2/FMA on this CPU (or EMBER_CPU=generic); vector rows not checked\n");
    return 0;
  }
  for (const Isa& v : {EMBER_ISA(avx2), EMBER_ISA(avx512)}) {
    if (std::string(v.name) == "avx512" && !ember::cpu::use_avx512()) {
      std::printf("recurrent: no AVX-512 on this CPU; 16-lane rows not checked\n");
      continue;
    }
    check_math(v);
    check_rows(v);
  }
  std::printf("recurrent: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
