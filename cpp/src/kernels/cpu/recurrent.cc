// Recurrent layer kernels: the sequence loops, the GEMMs and the dispatch of the gate math
// (recurrent_rows.h) to the AVX-512, AVX2 or portable versions. See recurrent.h for the layouts.
#include "kernels/cpu/recurrent.h"

#include <cstring>
#include <type_traits>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/rows.h"
#include "kernels/cpu/recurrent_rows.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ember::kernels {
namespace {

// Units of one row handled together by the gate math: big enough for whole vectors and a cheap
// loop, small enough that B = 1 with a large H still splits across threads.
constexpr int64_t kChunk = 64;
// Rough cost of one unit's gate math in elementary operations (a few vector exp/tanh, ~4 ns),
// for the parallel threshold: below ~8K units per step (a batch of 32 x 256 hidden) waking a
// second thread every step costs about what it saves.
constexpr int64_t kUnitCost = 4;

// fn(b, j0, n) over all (row, chunk) items, OpenMP above the work threshold. Each item is
// written by one thread, so the result does not depend on the thread count.
template <typename Fn>
void for_units(int64_t B, int64_t H, Fn&& fn) {
  const int64_t chunks = (H + kChunk - 1) / kChunk;
  const int64_t items = B * chunks;
  auto item = [&](int64_t it) {
    const int64_t b = it / chunks, j0 = (it % chunks) * kChunk;
    fn(b, j0, j0 + kChunk < H ? kChunk : H - j0);
  };
  // A serial step never enters OpenMP: even an if(false) region costs ~1.5 us, every step.
  if (!cpu::worth_parallel(B * H * kUnitCost)) {
    for (int64_t it = 0; it < items; ++it) item(it);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t it = 0; it < items; ++it) item(it);
}

enum class Isa { Generic, Avx2, Avx512 };

template <typename T>
Isa isa() {
  if (!std::is_same_v<T, float>) return Isa::Generic;
  return cpu::use_avx512() ? Isa::Avx512 : (cpu::use_avx2() ? Isa::Avx2 : Isa::Generic);
}

// The gate math of the widest instruction set available (float), else the portable rows.
#define EMBER_RNN_DISPATCH(fn, ...)                                                    \
  do {                                                                                \
    if constexpr (std::is_same_v<T, float>) {                                         \
      const Isa i = isa<T>();                                                         \
      if (i == Isa::Avx512) return rnn_rows::avx512::fn(__VA_ARGS__);                 \
      if (i == Isa::Avx2) return rnn_rows::avx2::fn(__VA_ARGS__);                     \
    }                                                                                 \
    rnn_rows::fn<T>(__VA_ARGS__);                                                     \
  } while (0)

template <typename T>
struct Rows {
  static void lstm_forward(int64_t n, int64_t H, T* gates, const T* hg, const T* bias, const T* c_prev, T* c, T* tc,
                           T* h) {
    EMBER_RNN_DISPATCH(lstm_forward, n, H, gates, hg, bias, c_prev, c, tc, h);
  }
  static void gru_forward(int64_t n, int64_t H, T* s, const T* hg, const T* bias, const T* h_prev, T* h) {
    EMBER_RNN_DISPATCH(gru_forward, n, H, s, hg, bias, h_prev, h);
  }
  static void rnn_forward(int64_t n, T* y, const T* hg, const T* bias, bool relu) {
    EMBER_RNN_DISPATCH(rnn_forward, n, y, hg, bias, relu);
  }
  static void lstm_backward(int64_t n, int64_t H, const T* gates, const T* c_prev, const T* tc, const T* dy,
                            const T* dh, T* dc, T* dG) {
    EMBER_RNN_DISPATCH(lstm_backward, n, H, gates, c_prev, tc, dy, dh, dc, dG);
  }
  static void gru_backward(int64_t n, int64_t H, const T* s, const T* h_prev, const T* dy, T* dh, T* dG) {
    EMBER_RNN_DISPATCH(gru_backward, n, H, s, h_prev, dy, dh, dG);
  }
  static void rnn_backward(int64_t n, const T* h, const T* dy, const T* dh, T* dG, bool relu) {
    EMBER_RNN_DISPATCH(rnn_backward, n, h, dy, dh, dG, relu);
  }
};
#undef EMBER_RNN_DISPATCH

// Step s of the walk is time t; its predecessor (s - 1) is time prev(t).
inline int64_t time_at(const RnnGeometry& g, int64_t s) { return g.reverse ? g.T - 1 - s : s; }

// Folded biases (see recurrent_rows.h) into `out` (4H for GRU, G*H otherwise).
template <typename T>
void fold_bias(const RnnGeometry& g, const T* b_ih, const T* b_hh, T* out) {
  const int64_t H = g.H, G = rnn_gates(g.mode);
  for (int64_t k = 0; k < G * H; ++k) out[k] = (b_ih ? b_ih[k] : T(0)) + (b_hh ? b_hh[k] : T(0));
  if (g.mode == RnnMode::Gru)
    for (int64_t j = 0; j < H; ++j) {
      out[2 * H + j] = b_ih ? b_ih[2 * H + j] : T(0);
      out[3 * H + j] = b_hh ? b_hh[2 * H + j] : T(0);
    }
}

// Threads for the step loop. Each step is a chain link (step t needs all of h_{t-1}), so the
// parallelism is inside a step: every thread owns a range of hidden units (whole kChunk chunks,
// so each unit's gate math runs the same code whatever the thread count) for all batch rows.
// The team lives for the whole sequence and meets once per step:
//   forward:  W_hh h for its units' G gate columns (G small GEMMs), their gate math, barrier
//             (the next step's product needs every unit of h_t);
//   backward: its units' gate gradients, barrier (the product needs every column of dG_t),
//             dh for its units = dG_t W_hh[:, units] - which only this thread reads next step.
// One barrier per step instead of a fork, a join and the GEMM's own barriers for each of the
// step's two phases: on a loaded machine every meeting can cost a scheduler time slice.
// Below this many multiply-adds per step one thread does the step (the GEMM may still thread).
constexpr int64_t kStepThreadWork = 1 << 21;

int step_threads(const RnnGeometry& g) {
  const int64_t chunks = (g.H + kChunk - 1) / kChunk;
  const int64_t work = g.B * rnn_gates(g.mode) * g.H * g.H;
  if (work < kStepThreadWork || cpu::in_parallel()) return 1;
  const int nt = cpu::max_threads();
  return static_cast<int>(nt < chunks ? nt : chunks);
}

// Units [u0, u1) of thread t of nt: whole chunks, as even as possible.
void unit_range(int64_t H, int t, int nt, int64_t& u0, int64_t& u1) {
  const int64_t chunks = (H + kChunk - 1) / kChunk;
  const int64_t c0 = chunks * t / nt, c1 = chunks * (t + 1) / nt;
  u0 = c0 * kChunk < H ? c0 * kChunk : H;
  u1 = c1 * kChunk < H ? c1 * kChunk : H;
}

// body(thread, team size) on a team of nt threads (inline when nt == 1).
template <typename Body>
void run_team(int nt, Body&& body) {
  if (nt <= 1) return body(0, 1);
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
  body(omp_get_thread_num(), omp_get_num_threads());
#else
  body(0, 1);
#endif
}

inline void team_barrier(int nt) {
#ifdef _OPENMP
  if (nt > 1) {
#pragma omp barrier
  }
#endif
}

// fn(b, j0, n) over the chunks of units [u0, u1), all batch rows, on this thread.
template <typename Fn>
void own_units(int64_t B, int64_t u0, int64_t u1, Fn&& fn) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j0 = u0; j0 < u1; j0 += kChunk) fn(b, j0, j0 + kChunk < u1 ? kChunk : u1 - j0);
}

}  // namespace

int64_t rnn_forward_scratch(RnnMode m, int64_t B, int64_t H) {
  return 4 * H + rnn_gates(m) * B * H;
}

int64_t rnn_backward_scratch(RnnMode m, int64_t T, int64_t B, int64_t H) {
  const int64_t gw = m == RnnMode::RnnTanh || m == RnnMode::RnnRelu ? H : 4 * H;
  return T * B * (gw + H) + 2 * B * H;
}

template <typename T>
void rnn_forward(const RnnGeometry& g, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh,
                 const T* b_ih, const T* b_hh, T* y, T* h_n, T* c_n, T* saved, T* scratch) {
  const int64_t H = g.H, I = g.I, B = g.B, G = rnn_gates(g.mode), GH = G * H;
  const int64_t rows = g.rows(), sw = rnn_saved_width(g.mode, H);
  const bool relu = g.mode == RnnMode::RnnRelu;
  T* bias = scratch;
  // W_hh h of the current step, B x G*H, contiguous: the step's rows of `pre` lie b_stride rows
  // apart (a batch-first sequence puts whole sequences between them), so the GEMM writes here
  // and the gate math adds the two.
  T* hg = scratch + 4 * H;
  fold_bias(g, b_ih, b_hh, bias);
  if (rows == 0) return;

  // The input projections of all steps at once, into the rows where the step loop adds W_hh h.
  T* pre = g.mode == RnnMode::Lstm || g.mode == RnnMode::Gru ? saved : y;
  const int64_t ldp = sw ? sw : H;
  gemm(rows, GH, I, T(1), x, I, 1, w_ih, 1, I, T(0), pre, ldp, 1);

  const int64_t lds = g.b_stride * ldp;
  // h of the step before step s: rows b_stride apart in y, or h0
  auto h_before = [&](int64_t s, int64_t& ldh) -> const T* {
    ldh = s > 0 ? g.b_stride * H : H;
    return s > 0 ? y + g.row(time_at(g, s - 1), 0) * H : h0;
  };
  // The gate math of units [j0, j0 + n) of batch row b at step s.
  auto gates = [&](int64_t s, int64_t b, int64_t j0, int64_t n) {
    const int64_t t = time_at(g, s), tp = s > 0 ? time_at(g, s - 1) : -1;
    int64_t ldh;
    const T* hp = h_before(s, ldh);
    T* srow = pre + g.row(t, 0) * ldp + b * lds;
    T* yrow = y + g.row(t, b) * H;
    switch (g.mode) {
      case RnnMode::Lstm: {
        const T* cp = s > 0 ? saved + g.row(tp, b) * sw + 4 * H : c0 + b * H;
        Rows<T>::lstm_forward(n, H, srow + j0, hg + b * GH + j0, bias + j0, cp + j0, srow + 4 * H + j0,
                              srow + 5 * H + j0, yrow + j0);
        break;
      }
      case RnnMode::Gru:
        Rows<T>::gru_forward(n, H, srow + j0, hg + b * GH + j0, bias + j0, hp + b * ldh + j0, yrow + j0);
        break;
      default:
        Rows<T>::rnn_forward(n, yrow + j0, hg + b * GH + j0, bias + j0, relu);
    }
  };

  const int nt = step_threads(g);
  if (nt == 1) {
    for (int64_t s = 0; s < g.T; ++s) {
      int64_t ldh;
      const T* hp = h_before(s, ldh);
      gemm(B, GH, H, T(1), hp, ldh, 1, w_hh, 1, H, T(0), hg, GH, 1);
      for_units(B, H, [&](int64_t b, int64_t j0, int64_t n) { gates(s, b, j0, n); });
    }
  } else {
    run_team(nt, [&](int tid, int team) {
      int64_t u0, u1;
      unit_range(H, tid, team, u0, u1);
      for (int64_t s = 0; s < g.T; ++s) {
        int64_t ldh;
        const T* hp = h_before(s, ldh);
        for (int64_t k = 0; k < G && u1 > u0; ++k)  // gate block k of this thread's units
          gemm(B, u1 - u0, H, T(1), hp, ldh, 1, w_hh + (k * H + u0) * H, 1, H, T(0), hg + k * H + u0, GH, 1);
        own_units(B, u0, u1, [&](int64_t b, int64_t j0, int64_t n) { gates(s, b, j0, n); });
        team_barrier(team);
      }
    });
  }
  const int64_t tl = time_at(g, g.T - 1);
  for (int64_t b = 0; b < B; ++b) {
    std::memcpy(h_n + b * H, y + g.row(tl, b) * H, sizeof(T) * H);
    if (g.mode == RnnMode::Lstm) std::memcpy(c_n + b * H, saved + g.row(tl, b) * sw + 4 * H, sizeof(T) * H);
  }
}

template <typename T>
void rnn_backward(const RnnGeometry& g, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh,
                  const T* y, const T* saved, const T* dy, const T* dh_n, const T* dc_n, T* dx, T* dw_ih, T* dw_hh,
                  T* db_ih, T* db_hh, T* dh0, T* dc0, T* scratch) {
  const int64_t H = g.H, I = g.I, B = g.B, G = rnn_gates(g.mode), GH = G * H;
  const int64_t rows = g.rows(), sw = rnn_saved_width(g.mode, H);
  const bool relu = g.mode == RnnMode::RnnRelu;
  const bool gru = g.mode == RnnMode::Gru;
  const int64_t gw = g.mode == RnnMode::RnnTanh || relu ? H : 4 * H;  // columns of dG
  T* dG = scratch;                 // rows x gw: pre-activation gate gradients of every row
  T* hprev = dG + rows * gw;       // rows x H: the h each row's step started from
  T* dh = hprev + rows * H;        // B x H: gradient reaching h through the recurrence
  T* dc = dh + B * H;              // B x H (LSTM)
  std::memcpy(dh, dh_n, sizeof(T) * B * H);
  if (g.mode == RnnMode::Lstm) std::memcpy(dc, dc_n, sizeof(T) * B * H);

  // The gate gradients of units [j0, j0 + n) of batch row b at step s.
  auto gates = [&](int64_t s, int64_t b, int64_t j0, int64_t n) {
    const int64_t t = time_at(g, s), tp = s > 0 ? time_at(g, s - 1) : -1;
    const int64_t r = g.row(t, b);
    const T* hp = s > 0 ? y + g.row(tp, b) * H : h0 + b * H;
    std::memcpy(hprev + r * H + j0, hp + j0, sizeof(T) * n);
    T* dGr = dG + r * gw;
    switch (g.mode) {
      case RnnMode::Lstm: {
        const T* sr = saved + r * sw;
        const T* cp = s > 0 ? saved + g.row(tp, b) * sw + 4 * H : c0 + b * H;
        Rows<T>::lstm_backward(n, H, sr + j0, cp + j0, sr + 5 * H + j0, dy + r * H + j0, dh + b * H + j0,
                               dc + b * H + j0, dGr + j0);
        break;
      }
      case RnnMode::Gru:
        Rows<T>::gru_backward(n, H, saved + r * sw + j0, hp + j0, dy + r * H + j0, dh + b * H + j0, dGr + j0);
        break;
      default:
        Rows<T>::rnn_backward(n, y + r * H + j0, dy + r * H + j0, dh + b * H + j0, dGr + j0, relu);
    }
  };
  // dh[:, u0:u1] = dG_t W_hh[:, u0:u1] (GRU: added to the direct path z * d the rows left in dh)
  auto recur = [&](int64_t s, int64_t u0, int64_t u1) {
    const int64_t t = time_at(g, s);
    gemm(B, u1 - u0, GH, T(1), dG + g.row(t, 0) * gw, g.b_stride * gw, 1, w_hh + u0, H, 1, gru ? T(1) : T(0),
         dh + u0, H, 1);
  };

  const int nt = step_threads(g);
  if (nt == 1) {
    for (int64_t s = g.T - 1; s >= 0; --s) {
      for_units(B, H, [&](int64_t b, int64_t j0, int64_t n) { gates(s, b, j0, n); });
      recur(s, 0, H);
    }
  } else {
    run_team(nt, [&](int tid, int team) {
      int64_t u0, u1;
      unit_range(H, tid, team, u0, u1);
      for (int64_t s = g.T - 1; s >= 0; --s) {
        own_units(B, u0, u1, [&](int64_t b, int64_t j0, int64_t n) { gates(s, b, j0, n); });
        team_barrier(team);
        if (u1 > u0) recur(s, u0, u1);
      }
    });
  }
  std::memcpy(dh0, dh, sizeof(T) * B * H);
  if (g.mode == RnnMode::Lstm) std::memcpy(dc0, dc, sizeof(T) * B * H);

  // Weight gradients and dx over all rows at once. GRU: dG is [dr dz dn_h | dn_i]; the hidden
  // side uses its first 3H columns, the input side [dr dz] and dn_i.
  gemm(GH, H, rows, T(1), dG, 1, gw, hprev, H, 1, T(0), dw_hh, H, 1);
  if (db_hh) column_sums(dG, rows, GH, gw, 1, db_hh);
  if (!gru) {
    gemm(GH, I, rows, T(1), dG, 1, gw, x, I, 1, T(0), dw_ih, I, 1);
    if (dx) gemm(rows, I, GH, T(1), dG, gw, 1, w_ih, I, 1, T(0), dx, I, 1);
    // both biases enter the same pre-activation: the same gradient
    if (db_ih && db_hh) std::memcpy(db_ih, db_hh, sizeof(T) * GH);
    else if (db_ih) column_sums(dG, rows, GH, gw, 1, db_ih);
  } else {
    gemm(2 * H, I, rows, T(1), dG, 1, gw, x, I, 1, T(0), dw_ih, I, 1);
    gemm(H, I, rows, T(1), dG + 3 * H, 1, gw, x, I, 1, T(0), dw_ih + 2 * H * I, I, 1);
    if (dx) {
      gemm(rows, I, 2 * H, T(1), dG, gw, 1, w_ih, I, 1, T(0), dx, I, 1);
      gemm(rows, I, H, T(1), dG + 3 * H, gw, 1, w_ih + 2 * H * I, I, 1, T(1), dx, I, 1);
    }
    if (db_ih) {
      column_sums(dG, rows, 2 * H, gw, 1, db_ih);
      column_sums(dG + 3 * H, rows, H, gw, 1, db_ih + 2 * H);
    }
  }
}

template void rnn_forward<float>(const RnnGeometry&, const float*, const float*, const float*, const float*,
                                 const float*, const float*, const float*, float*, float*, float*, float*, float*);
template void rnn_forward<double>(const RnnGeometry&, const double*, const double*, const double*, const double*,
                                  const double*, const double*, const double*, double*, double*, double*, double*,
                                  double*);
template void rnn_backward<float>(const RnnGeometry&, const float*, const float*, const float*, const float*,
                                  const float*, const float*, const float*, const float*, const float*,
                                  const float*, float*, float*, float*, float*, float*, float*, float*, float*);
template void rnn_backward<double>(const RnnGeometry&, const double*, const double*, const double*, const double*,
                                   const double*, const double*, const double*, const double*, const double*,
                                   const double*, double*, double*, double*, double*, double*, double*, double*,
                                   double*);

}  // namespace ember::kernels
