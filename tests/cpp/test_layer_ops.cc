// The layer ops through the public C++ API (no Python): linear forward and gradients against
// naive loops, batch_norm statistics / running buffers / gradient identities, layer_norm against
// a naive double implementation, dropout statistics and seeding, embedding gather / scatter-add
// and its IndexError, and bitwise-equal results for 1 and 2 threads.
// Prints "layer_ops: N passed, M failed" and exits non-zero on any failure.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ember/ember.h"

using ember::Shape;
using ember::Tensor;
namespace F = ember::functional;

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

std::vector<double> random_values(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d(0.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = d(gen);
  return v;
}

Tensor make(const std::vector<double>& v, const Shape& shape, bool grad = false) {
  Tensor t = ember::from_data(v.data(), shape, ember::DType::Float64);
  if (grad) t.set_requires_grad(true);
  return t;
}

std::vector<double> values(const Tensor& t) {
  Tensor c = t.contiguous();
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

void test_linear() {
  const int64_t M = 7, K = 5, N = 4;
  auto xv = random_values(M * K, 1), wv = random_values(N * K, 2), bv = random_values(N, 3), gv = random_values(M * N, 4);
  Tensor x = make(xv, {M, K}, true), w = make(wv, {N, K}, true), b = make(bv, {N}, true);
  Tensor y = F::linear(x, w, b);
  std::vector<double> ref(M * N), dx(M * K, 0), dw(N * K, 0), db(N, 0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = bv[j];
      for (int64_t k = 0; k < K; ++k) s += xv[i * K + k] * wv[j * K + k];
      ref[i * N + j] = s;
      const double g = gv[i * N + j];
      db[j] += g;
      for (int64_t k = 0; k < K; ++k) {
        dx[i * K + k] += g * wv[j * K + k];
        dw[j * K + k] += g * xv[i * K + k];
      }
    }
  check(y.shape() == Shape{M, N} && max_diff(values(y), ref) < 1e-12, "linear forward");
  y.backward(make(gv, {M, N}));
  check(max_diff(values(x.grad()), dx) < 1e-12, "linear dX");
  check(max_diff(values(w.grad()), dw) < 1e-12, "linear dW");
  check(max_diff(values(b.grad()), db) < 1e-12, "linear db");
  // leading dims and a transposed weight
  Tensor x3 = make(xv, {1, M, K});
  Tensor wt = make(wv, {K, N});
  Tensor y3 = F::linear(x3, wt.t());
  check(y3.shape() == Shape{1, M, N}, "linear keeps leading dims");
  bool threw = false;
  try {
    F::linear(make(xv, {M, K}), make(wv, {K, N}));
  } catch (const ember::ValueError&) {
    threw = true;
  }
  check(threw, "linear shape mismatch throws ValueError");
}

void test_batch_norm() {
  const int64_t N = 6, C = 3, S = 4;
  auto xv = random_values(N * C * S, 5);
  Tensor x = make(xv, {N, C, S}, true);
  Tensor rm = ember::zeros({C}, ember::DType::Float64), rv = ember::ones({C}, ember::DType::Float64);
  Tensor y = F::batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.25, 1e-5);
  auto yv = values(y), rmv = values(rm), rvv = values(rv);
  bool ok = true;
  for (int64_t c = 0; c < C; ++c) {
    double m = 0, q = 0, ym = 0, yq = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) m += xv[(n * C + c) * S + s];
    m /= N * S;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const double d = xv[(n * C + c) * S + s] - m, o = yv[(n * C + c) * S + s];
        q += d * d;
        ym += o;
        yq += o * o;
      }
    ok = ok && std::fabs(ym / (N * S)) < 1e-12 && std::fabs(yq / (N * S) - q / (q + 1e-5 * N * S)) < 1e-9;
    ok = ok && std::fabs(rmv[c] - 0.25 * m) < 1e-12 && std::fabs(rvv[c] - (0.75 + 0.25 * q / (N * S - 1))) < 1e-12;
  }
  check(ok, "batch_norm normalises per channel and updates the running buffers");
  // d(sum(y))/dx = 0 for batch statistics (the output of each channel sums to zero)
  ember::sum(y).backward();
  check(max_diff(values(x.grad()), std::vector<double>(N * C * S, 0.0)) < 1e-10, "batch_norm grad of sum is 0");
  bool threw = false;
  try {
    F::batch_norm(make(xv, {N, C * S}), Tensor(), Tensor(), Tensor(), Tensor(), false);
  } catch (const ember::ValueError&) {
    threw = true;
  }
  check(threw, "batch_norm eval without running stats throws ValueError");
}

void test_layer_norm() {
  const int64_t R = 5, D = 8;
  auto xv = random_values(R * D, 6), wv = random_values(D, 7), bv = random_values(D, 8);
  Tensor y = F::layer_norm(make(xv, {R, D}), {D}, make(wv, {D}), make(bv, {D}), 1e-5);
  std::vector<double> ref(R * D);
  for (int64_t r = 0; r < R; ++r) {
    double m = 0, q = 0;
    for (int64_t j = 0; j < D; ++j) m += xv[r * D + j];
    m /= D;
    for (int64_t j = 0; j < D; ++j) q += (xv[r * D + j] - m) * (xv[r * D + j] - m);
    const double rs = 1 / std::sqrt(q / D + 1e-5);
    for (int64_t j = 0; j < D; ++j) ref[r * D + j] = (xv[r * D + j] - m) * rs * wv[j] + bv[j];
  }
  check(max_diff(values(y), ref) < 1e-12, "layer_norm forward");
}

void test_dropout_and_embedding() {
  ember::manual_seed(11);
  Tensor ones = ember::ones({100000});
  Tensor a = F::dropout(ones, 0.25, true);
  ember::manual_seed(11);
  Tensor b = F::dropout(ones, 0.25, true);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  int64_t zeros = 0;
  bool same = true, scaled = true;
  for (int64_t i = 0; i < 100000; ++i) {
    zeros += pa[i] == 0.0f;
    same = same && pa[i] == pb[i];
    scaled = scaled && (pa[i] == 0.0f || std::fabs(pa[i] - 1.0f / 0.75f) < 1e-6f);
  }
  check(std::abs(zeros - 25000) < 5 * 137, "dropout drops about p of the elements");
  check(same && scaled, "dropout is repeatable with manual_seed and scales by 1/(1-p)");
  check(F::dropout(ones, 0.5, false).get() == ones.get(), "dropout is the identity in eval");

  std::vector<int64_t> iv{2, 0, 2};
  Tensor idx = ember::from_data(iv.data(), {3}, ember::DType::Int64);
  auto wv = random_values(4 * 2, 9);
  Tensor w = make(wv, {4, 2}, true);
  Tensor e = F::embedding(idx, w, 0);
  check(max_diff(values(e), {wv[4], wv[5], wv[0], wv[1], wv[4], wv[5]}) == 0, "embedding gathers rows");
  ember::sum(e).backward();
  check(max_diff(values(w.grad()), {0, 0, 0, 0, 2, 2, 0, 0}) == 0, "embedding scatter-adds, padding row gets none");
  std::vector<int64_t> bad{4};
  bool threw = false;
  try {
    F::embedding(ember::from_data(bad.data(), {1}, ember::DType::Int64), w);
  } catch (const ember::IndexError&) {
    threw = true;
  }
  check(threw, "embedding index out of range throws IndexError");
}

void test_threads_bitwise() {
  const int64_t M = 96, K = 200, N = 150;
  auto xv = random_values(M * K, 10), wv = random_values(N * K, 11);
  std::vector<std::vector<double>> runs;
  for (int nt : {1, 2}) {
    ember::set_num_threads(nt);
    Tensor x = make(xv, {M, K}, true), w = make(wv, {N, K}, true);
    Tensor h = F::layer_norm(F::linear(x, w), {N});
    Tensor z = F::batch_norm(h, Tensor(), Tensor(), Tensor(), Tensor(), true);
    ember::sum(ember::mul(z, z)).backward();
    auto r = values(z);
    auto gx = values(x.grad()), gw = values(w.grad());
    r.insert(r.end(), gx.begin(), gx.end());
    r.insert(r.end(), gw.begin(), gw.end());
    runs.push_back(r);
  }
  check(runs[0] == runs[1], "linear + layer_norm + batch_norm: same bits for 1 and 2 threads");
}

}  // namespace

int main() {
  test_linear();
  test_batch_norm();
  test_layer_norm();
  test_dropout_and_embedding();
  test_threads_bitwise();
  std::printf("layer_ops: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
