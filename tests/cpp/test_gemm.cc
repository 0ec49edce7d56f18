// Tests for kernels::gemm / gemm_batched against gemm_reference (double, naive loops).
//
// Every case runs on every back end (AVX-512 and AVX2 when the CPU has them, and the generic
// one via cpu::set_allow_avx2(false)) and with 1, 2 and 3 OpenMP threads; the thread counts must agree
// bit for bit. Shapes mix awkward sizes (1, 7, 17, 63, 65, 129, 257, 1000 ...) so every edge of
// the MR/NR tiles and MC/KC/NC blocks is hit; operands come in every layout: row-major, transposed,
// padded leading dimension, column-strided views and general strides. Elements of C that are not
// part of the product (padding, gaps of a strided view) must come back untouched, and beta == 0
// must ignore NaN in C.
//
// Prints "gemm: <passed> passed, <failed> failed" and exits non-zero on any failure.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm/gemm.h"
#include "kernels/cpu/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using ember::kernels::gemm;
using ember::kernels::gemm_batched;
using ember::kernels::gemm_reference;

int g_passed = 0, g_failed = 0;
int g_default_threads = 1;  // OpenMP's thread count at start-up, restored after each case

void set_threads(int t) {
#ifdef _OPENMP
  omp_set_num_threads(t);
#else
  (void)t;
#endif
}

void fail(const std::string& what) {
  ++g_failed;
  if (g_failed <= 30) std::printf("FAIL %s\n", what.c_str());
}

// How a rows x cols matrix sits in memory.
enum class Layout { RowMajor, ColMajor, RowPadded, ColPadded, ColStrided, General };
const char* layout_name(Layout l) {
  switch (l) {
    case Layout::RowMajor: return "row";
    case Layout::ColMajor: return "col";
    case Layout::RowPadded: return "row+ld";
    case Layout::ColPadded: return "col+ld";
    case Layout::ColStrided: return "colstride2";
    case Layout::General: return "general";
  }
  return "?";
}

struct View {
  int64_t rs, cs, size;  // element (i,j) at i*rs + j*cs; size = elements to allocate
};

View make_view(Layout l, int64_t rows, int64_t cols) {
  switch (l) {
    case Layout::RowMajor: return {cols, 1, rows * cols};
    case Layout::ColMajor: return {1, rows, rows * cols};
    case Layout::RowPadded: return {cols + 5, 1, rows * (cols + 5)};
    case Layout::ColPadded: return {1, rows + 3, cols * (rows + 3)};
    // every other column of a row-major array (a [:, ::2] slice): unit stride in neither dim
    case Layout::ColStrided: return {2 * cols + 1, 2, rows * (2 * cols + 1)};
    case Layout::General: return {3 * cols + 2, 3, rows * (3 * cols + 2)};
  }
  return {cols, 1, rows * cols};
}

struct Case {
  int64_t M, N, K;
  Layout la, lb, lc;
  double alpha, beta;
};

std::string describe(const Case& c, const char* type, const char* path) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %s M=%lld N=%lld K=%lld A=%s B=%s C=%s alpha=%g beta=%g", type, path,
                (long long)c.M, (long long)c.N, (long long)c.K, layout_name(c.la), layout_name(c.lb),
                layout_name(c.lc), c.alpha, c.beta);
  return buf;
}

template <typename T>
constexpr const char* type_name() {
  return sizeof(T) == 4 ? "float" : "double";
}

// Runs one case on the current back end with 1, 2 and 3 threads; checks accuracy against the
// reference, bitwise agreement between thread counts, and that C outside the product is intact.
template <typename T>
void run_case(const Case& cs, std::mt19937& gen, const char* path) {
  const View va = make_view(cs.la, cs.M, cs.K), vb = make_view(cs.lb, cs.K, cs.N), vc = make_view(cs.lc, cs.M, cs.N);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> A(va.size), B(vb.size), C0(vc.size);
  for (auto& x : A) x = static_cast<T>(u(gen));
  for (auto& x : B) x = static_cast<T>(u(gen));
  // C outside the product holds a sentinel; inside, NaN when beta == 0 (it must not be read).
  const T sentinel = T(-777.25);
  for (auto& x : C0) x = sentinel;
  for (int64_t i = 0; i < cs.M; ++i)
    for (int64_t j = 0; j < cs.N; ++j)
      C0[i * vc.rs + j * vc.cs] = cs.beta == 0 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(u(gen));

  // Reference in double on exactly the T-valued inputs; plus |alpha| |A||B| + |beta C| for the
  // error bound.
  std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end()), ref(vc.size, 0.0), mag(vc.size, 0.0);
  std::vector<double> Aabs(Ad), Babs(Bd);
  for (auto& x : Aabs) x = std::fabs(x);
  for (auto& x : Babs) x = std::fabs(x);
  for (int64_t i = 0; i < cs.M; ++i)
    for (int64_t j = 0; j < cs.N; ++j) {
      const double c = C0[i * vc.rs + j * vc.cs];
      ref[i * vc.rs + j * vc.cs] = cs.beta == 0 ? 0.0 : c;
      mag[i * vc.rs + j * vc.cs] = cs.beta == 0 ? 0.0 : std::fabs(c);
    }
  gemm_reference(cs.M, cs.N, cs.K, cs.alpha, Ad.data(), va.rs, va.cs, Bd.data(), vb.rs, vb.cs, cs.beta, ref.data(),
                 vc.rs, vc.cs);
  gemm_reference(cs.M, cs.N, cs.K, std::fabs(cs.alpha), Aabs.data(), va.rs, va.cs, Babs.data(), vb.rs, vb.cs,
                 std::fabs(cs.beta), mag.data(), vc.rs, vc.cs);
  const double eps = std::numeric_limits<T>::epsilon();
  const double gamma = 2.0 * (static_cast<double>(cs.K) + 3.0) * eps;

  std::vector<T> first;
  for (int threads = 1; threads <= 3; ++threads) {
    std::vector<T> C(C0);
    set_threads(threads);
    gemm(cs.M, cs.N, cs.K, static_cast<T>(cs.alpha), A.data(), va.rs, va.cs, B.data(), vb.rs, vb.cs,
         static_cast<T>(cs.beta), C.data(), vc.rs, vc.cs);
    const std::string what = describe(cs, type_name<T>(), path) + " threads=" + std::to_string(threads);
    if (threads == 1) {
      // accuracy and untouched padding, checked once
      bool ok = true;
      std::vector<char> inside(vc.size, 0);
      for (int64_t i = 0; i < cs.M; ++i)
        for (int64_t j = 0; j < cs.N; ++j) inside[i * vc.rs + j * vc.cs] = 1;
      for (int64_t e = 0; e < vc.size && ok; ++e) {
        if (!inside[e]) {
          if (std::memcmp(&C[e], &sentinel, sizeof(T)) != 0) {
            fail(what + ": wrote outside C at offset " + std::to_string(e));
            ok = false;
          }
          continue;
        }
        const double got = C[e], want = ref[e];
        const double tol = gamma * mag[e] + 4 * std::numeric_limits<T>::min();
        if (!(std::fabs(got - want) <= tol)) {
          char buf[160];
          std::snprintf(buf, sizeof buf, ": element %lld got %.9g want %.9g tol %.3g", (long long)e, got, want, tol);
          fail(what + buf);
          ok = false;
        }
      }
      if (ok) ++g_passed;
      first = C;
    } else if (std::memcmp(first.data(), C.data(), sizeof(T) * C.size()) != 0) {
      fail(what + ": differs bitwise from the 1-thread result");
    } else {
      ++g_passed;
    }
  }
  set_threads(g_default_threads);
}

// Every back end the CPU has: AVX-512, AVX2 (unless EMBER_CPU caps them) and the generic one.
template <typename T>
void run_on_both_paths(const Case& cs, std::mt19937& gen) {
  const bool avx2 = ember::cpu::use_avx2(), avx512 = ember::cpu::use_avx512();
  if (avx512) run_case<T>(cs, gen, "avx512");
  ember::cpu::set_allow_avx512(false);
  if (avx2) run_case<T>(cs, gen, "avx2");
  ember::cpu::set_allow_avx2(false);
  run_case<T>(cs, gen, "generic");
  ember::cpu::set_allow_avx2(avx2);
  ember::cpu::set_allow_avx512(avx512);
}

const Layout kLayouts[] = {Layout::RowMajor, Layout::ColMajor,   Layout::RowPadded,
                           Layout::ColPadded, Layout::ColStrided, Layout::General};

// K == 0 and alpha == 0 only scale C by beta (and beta == 0 clears NaN).
template <typename T>
void degenerate_cases() {
  const int64_t M = 5, N = 9;
  std::vector<T> A(M * 4, T(std::numeric_limits<T>::quiet_NaN())), B(4 * N, T(1));
  for (const double beta : {0.0, 1.0, -2.0}) {
    for (const int64_t K : {int64_t(0), int64_t(4)}) {
      std::vector<T> C(M * N, beta == 0 ? std::numeric_limits<T>::quiet_NaN() : T(3));
      // K == 0: A is never read; K == 4 with alpha == 0: A (NaN) must not leak into C either.
      gemm(M, N, K, T(0), A.data(), 4, 1, B.data(), N, 1, static_cast<T>(beta), C.data(), N, 1);
      bool ok = true;
      for (const T c : C) ok = ok && c == static_cast<T>(beta == 0 ? 0.0 : 3.0 * beta);
      if (ok) {
        ++g_passed;
      } else {
        fail(std::string(type_name<T>()) + " alpha=0/K=0 scaling, beta=" + std::to_string(beta) +
             " K=" + std::to_string(K));
      }
    }
  }
  // M == 0 / N == 0: nothing happens (null pointers allowed).
  gemm(0, 3, 3, T(1), static_cast<const T*>(nullptr), 3, 1, static_cast<const T*>(nullptr), 3, 1, T(0),
       static_cast<T*>(nullptr), 3, 1);
  gemm(3, 0, 3, T(1), static_cast<const T*>(nullptr), 3, 1, static_cast<const T*>(nullptr), 3, 1, T(0),
       static_cast<T*>(nullptr), 3, 1);
  ++g_passed;
}

// gemm_batched: shared B (stride 0) and per-item A and C, small (one product per thread) and
// large (team per product), against individual gemm calls - bit for bit.
template <typename T>
void batched_cases(std::mt19937& gen) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  // small ones run one product per thread, the last one a team per product
  const int64_t shapes[][4] = {{7, 16, 33, 9}, {6, 50, 25, 5}, {65, 129, 70, 3}, {200, 131, 130, 2}};
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2], batch = s[3];
    std::vector<T> A(batch * M * K), B(K * N), C(batch * M * N, T(0)), Cs(batch * M * N, T(0));
    for (auto& x : A) x = static_cast<T>(u(gen));
    for (auto& x : B) x = static_cast<T>(u(gen));
    set_threads(2);
    // A transposed per item (K x M storage), B shared, C row-major.
    gemm_batched(batch, M, N, K, T(1.5), A.data(), M * K, 1, M, B.data(), 0, N, 1, T(0), C.data(), M * N, N, 1);
    for (int64_t b = 0; b < batch; ++b)
      gemm(M, N, K, T(1.5), A.data() + b * M * K, 1, M, B.data(), N, 1, T(0), Cs.data() + b * M * N, N, 1);
    if (std::memcmp(C.data(), Cs.data(), sizeof(T) * C.size()) == 0) {
      ++g_passed;
    } else {
      fail(std::string(type_name<T>()) + " gemm_batched M=" + std::to_string(M) + " differs from single gemm");
    }
  }
  set_threads(g_default_threads);
}

template <typename T>
void run_all(std::mt19937& gen) {
  // Awkward and block-edge sizes (the big ones below: 1000 crosses MC and KC, 4100 and 8200 cross
  // NC = 4080).
  const int64_t sizes[] = {1, 2, 3, 5, 6, 7, 8, 13, 16, 17, 31, 33, 48, 63, 64, 65, 100, 129, 257};
  std::uniform_int_distribution<int> pick_size(0, sizeof(sizes) / sizeof(sizes[0]) - 1);
  std::uniform_int_distribution<int> pick_layout(0, 5);
  const double alphas[] = {1.0, -0.5, 2.5};
  const double betas[] = {0.0, 1.0, -1.5, 0.25};
  std::uniform_int_distribution<int> pick_alpha(0, 2), pick_beta(0, 3);

  // 1. Every transpose combination (row/col for A and B) x every C layout x every beta, at two
  // ragged shapes big enough (> 0.8M multiply-adds) to run threaded: a short A (all rows in one
  // block, threads share out B panels) and a tall one (threads share out row blocks).
  for (const int64_t M : {97, 200})
    for (const Layout la : {Layout::RowMajor, Layout::ColMajor})
      for (const Layout lb : {Layout::RowMajor, Layout::ColMajor})
        for (const Layout lc : kLayouts)
          for (const double beta : betas) run_on_both_paths<T>({M, 131, 80, la, lb, lc, -0.5, beta}, gen);

  // 2. Random shapes, layouts and scalars.
  for (int r = 0; r < 120; ++r) {
    const Case cs{sizes[pick_size(gen)], sizes[pick_size(gen)], sizes[pick_size(gen)],
                  kLayouts[pick_layout(gen)], kLayouts[pick_layout(gen)], kLayouts[pick_layout(gen)],
                  alphas[pick_alpha(gen)], betas[pick_beta(gen)]};
    run_on_both_paths<T>(cs, gen);
  }

  // 3. Large and block-crossing shapes, including the ones the conv and MLP layers produce.
  const Case big[] = {
      {1000, 65, 257, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 0.0},
      {129, 1000, 300, Layout::ColMajor, Layout::ColMajor, Layout::RowMajor, 1.0, 1.0},
      {63, 257, 1000, Layout::RowMajor, Layout::ColMajor, Layout::ColMajor, 2.5, -1.5},
      {7, 8200, 17, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 0.25},
      {17, 4100, 33, Layout::RowPadded, Layout::RowPadded, Layout::RowPadded, -0.5, 0.0},
      {150, 4100, 20, Layout::ColMajor, Layout::RowMajor, Layout::RowPadded, 1.0, 0.25},
      {6, 50176, 25, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 1.0},
      {16, 6400, 150, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 0.0},
      {64, 784, 64, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 0.0},
      {64, 256, 784, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 0.0},
      {784, 256, 64, Layout::ColMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 0.0},
      {64, 784, 256, Layout::RowMajor, Layout::ColMajor, Layout::RowMajor, 1.0, 0.0},
      {256, 128, 64, Layout::ColMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 1.0},
      {300, 200, 100, Layout::General, Layout::ColStrided, Layout::General, -0.5, 0.25},
      // one A micro-panel, B read in place, ragged last panel, threaded
      {3, 20001, 33, Layout::RowMajor, Layout::RowPadded, Layout::RowMajor, 1.0, -1.5},
      // few columns: solved as C^T = B^T A^T (then B^T is read in place), threaded
      {4000, 3, 100, Layout::ColMajor, Layout::RowMajor, Layout::RowMajor, 2.5, 0.0},
      {4000, 10, 100, Layout::RowMajor, Layout::ColMajor, Layout::RowPadded, 1.0, 1.0},
  };
  for (const Case& cs : big) run_on_both_paths<T>(cs, gen);

  degenerate_cases<T>();
  batched_cases<T>(gen);
}

// The loop helpers the kernels thread with. A loop not worth a team runs inline, outside any
// OpenMP region, so a GEMM inside it may still use the pooled threads; and inside any region,
// even a one-thread one, in_parallel() is true so kernels never open a nested team (libgomp
// starts fresh threads for nested teams on every call).
void thread_helpers() {
  for (const int nt : {1, 2}) {
    std::vector<int> visits(100, 0), levels(100, -1);
    ember::cpu::parallel_for_dynamic(100, nt, [&](int64_t i) {
      ++visits[i];
#ifdef _OPENMP
      levels[i] = omp_get_level();
#endif
    });
    std::vector<int> once(100, 0);
    ember::cpu::parallel_for_static(100, nt > 1, [&](int64_t i) { ++once[i]; });
    bool ok = true;
    for (int i = 0; i < 100; ++i) ok = ok && visits[i] == 1 && once[i] == 1 && (nt > 1 || levels[i] <= 0);
    ok ? ++g_passed : (fail("parallel_for helpers with nt=" + std::to_string(nt)), 0);
  }
  bool nested_seen = false;
#ifdef _OPENMP
#pragma omp parallel num_threads(1)
  nested_seen = ember::cpu::in_parallel() && !ember::cpu::worth_parallel(int64_t(1) << 40);
#else
  nested_seen = true;
#endif
  nested_seen ? ++g_passed : (fail("in_parallel() is false inside a one-thread region"), 0);
}

}  // namespace

int main() {
#ifdef _OPENMP
  g_default_threads = omp_get_max_threads();
#endif
  std::mt19937 gen(1234);
  // Thread from ~0.8M multiply-adds (the built-in threshold is higher), so the ragged shapes
  // below run on the threaded paths and the 1/2/3-thread bit-for-bit checks mean something.
  ember::kernels::gemm_set_thread_work(768 * 1024);
  std::printf("gemm: best path %s (testing it and every narrower one)\n", ember::cpu::isa_name());
  thread_helpers();
  run_all<float>(gen);
  run_all<double>(gen);
  std::printf("gemm: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
