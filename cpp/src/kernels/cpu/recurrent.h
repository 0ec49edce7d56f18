// Recurrent layers (Elman RNN with tanh/relu, LSTM, GRU) over a whole sequence, one layer in one
// direction, as a forward / backward pair over raw arrays.
//
// Rows. A sequence of T steps of B examples has T*B rows; each array below stores them in the
// caller's memory order, row (t, b) at index t*t_stride + b*b_stride (time-major [T, B, .]:
// t_stride = B, b_stride = 1; batch-first [B, T, .]: t_stride = 1, b_stride = T). So a
// batch-first input needs no transpose: the input projection of all rows is one GEMM whatever
// the order, and the per-step products read and write rows b_stride apart.
//
// Gate layout and equations are torch's (gate blocks of H rows in the weights, in this order):
//   RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)
//   LSTM: i, f, g, o = sig, sig, tanh, sig of (W_ih x + b_ih + W_hh h + b_hh);  c' = f c + i g;  h' = o tanh(c')
//   GRU:  r, z = sig(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z});
//         n = tanh(W_in x + b_in + r (W_hn h + b_hn));  h' = (1 - z) n + z h
//
// Forward: y[row] = h at that step; `saved` keeps what backward needs (rows x saved_width):
//   LSTM: [i f g o | c | tanh c] (6H), GRU: [r z n | W_hn h + b_hn] (4H), RNN: nothing (y is h).
// Backward (all outputs overwritten): dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0 from dy (rows x H),
// dh_n, dc_n. It walks the steps in reverse, keeping the per-step gate gradients of every row so
// that the weight gradients and dx are three large GEMMs at the end instead of T small ones.
//
// Threads: the GEMMs thread themselves; the gate math runs OpenMP over (batch, hidden-chunk)
// items above a work threshold. Every element is computed by one thread in a fixed order, so
// the results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace ember::kernels {

enum class RnnMode { RnnTanh, RnnRelu, Lstm, Gru };

inline int64_t rnn_gates(RnnMode m) { return m == RnnMode::Lstm ? 4 : (m == RnnMode::Gru ? 3 : 1); }
// Columns per row of the forward's saved buffer (0: none needed).
inline int64_t rnn_saved_width(RnnMode m, int64_t H) {
  return m == RnnMode::Lstm ? 6 * H : (m == RnnMode::Gru ? 4 * H : 0);
}
// Elements of the scratch buffers the caller provides.
int64_t rnn_forward_scratch(RnnMode m, int64_t B, int64_t H);
int64_t rnn_backward_scratch(RnnMode m, int64_t T, int64_t B, int64_t H);

struct RnnGeometry {
  RnnMode mode = RnnMode::Lstm;
  int64_t T = 0, B = 0, I = 0, H = 0;
  int64_t t_stride = 0, b_stride = 0;  // in rows (see above)
  bool reverse = false;                // walk t = T-1 .. 0 (the backward half of a bidirectional layer)

  int64_t row(int64_t t, int64_t b) const { return t * t_stride + b * b_stride; }
  int64_t rows() const { return T * B; }
};

// x: rows x I; h0, c0 (LSTM only, else ignored): B x H; w_ih: G*H x I; w_hh: G*H x H;
// b_ih, b_hh: G*H or null. Writes y (rows x H), h_n, c_n (LSTM) (B x H), saved.
template <typename T>
void rnn_forward(const RnnGeometry& g, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh,
                 const T* b_ih, const T* b_hh, T* y, T* h_n, T* c_n, T* saved, T* scratch);

// dy: rows x H; dh_n, dc_n: B x H (all required; pass zeros for absent gradients). dx may be
// null (input needs no gradient); db_ih / db_hh may be null (no biases).
template <typename T>
void rnn_backward(const RnnGeometry& g, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh,
                  const T* y, const T* saved, const T* dy, const T* dh_n, const T* dc_n, T* dx, T* dw_ih, T* dw_hh,
                  T* db_ih, T* db_hh, T* dh0, T* dc0, T* scratch);

}  // namespace ember::kernels
