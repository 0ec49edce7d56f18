// The per-step gate math of the recurrent kernels, one batch row at a time: units [0, n) of a
// row whose gate blocks lie H apart (pointers already offset to the first unit). Generic
// versions are templates (float and double); the AVX2 and AVX-512 files have float versions with
// the same contracts (vector exp / tanh, recurrent_vec.h), chosen at run time by recurrent.cc.
// Internal to the kernels.
#pragma once

#include <cstdint>

namespace ember::kernels::rnn_rows {

// Forward. `bias` holds the folded biases: LSTM/RNN b_ih + b_hh; GRU [b_ir+b_hr, b_iz+b_hz, b_in, b_hn].
// hg: W_hh h of this step (gate blocks H apart), added to the input projections.
// LSTM: gates in: W_ih x, out: i f g o; writes c, tanh c, h.
template <typename T>
void lstm_forward(int64_t n, int64_t H, T* gates, const T* hg, const T* bias, const T* c_prev, T* c, T* tc, T* h);
// GRU: s in: W_ih x (3 blocks), hg: W_hh h (3 blocks); s out: r z n hn; writes h.
template <typename T>
void gru_forward(int64_t n, int64_t H, T* s, const T* hg, const T* bias, const T* h_prev, T* h);
// RNN: y in: W_ih x, out: h.
template <typename T>
void rnn_forward(int64_t n, T* y, const T* hg, const T* bias, bool relu);

// Backward. d = dy + dh (dh: the gradient reaching h through the recurrence). Writes the
// pre-activation gate gradients dG: LSTM [di df dg do], GRU [dr dz dn_h dn_i] (hidden-side
// gradients first; dn_h = r dn_i), RNN [dh_pre].
// LSTM: dc in: gradient of c from the next step, out: gradient of c_prev.
template <typename T>
void lstm_backward(int64_t n, int64_t H, const T* gates, const T* c_prev, const T* tc, const T* dy, const T* dh,
                   T* dc, T* dG);
// GRU: dh in: recurrent gradient, out: z * d (the direct path to h_prev).
template <typename T>
void gru_backward(int64_t n, int64_t H, const T* s, const T* h_prev, const T* dy, T* dh, T* dG);
template <typename T>
void rnn_backward(int64_t n, const T* h, const T* dy, const T* dh, T* dG, bool relu);

namespace avx2 {
void lstm_forward(int64_t n, int64_t H, float* gates, const float* hg, const float* bias, const float* c_prev, float* c,
                  float* tc, float* h);
void gru_forward(int64_t n, int64_t H, float* s, const float* hg, const float* bias, const float* h_prev, float* h);
void rnn_forward(int64_t n, float* y, const float* hg, const float* bias, bool relu);
void lstm_backward(int64_t n, int64_t H, const float* gates, const float* c_prev, const float* tc, const float* dy,
                   const float* dh, float* dc, float* dG);
void gru_backward(int64_t n, int64_t H, const float* s, const float* h_prev, const float* dy, float* dh, float* dG);
void rnn_backward(int64_t n, const float* h, const float* dy, const float* dh, float* dG, bool relu);
// Vector sigmoid / tanh over an array (the functions the rows use), for the tests.
void sigmoid(int64_t n, const float* x, float* y);
void tanh(int64_t n, const float* x, float* y);
}  // namespace avx2

namespace avx512 {
void lstm_forward(int64_t n, int64_t H, float* gates, const float* hg, const float* bias, const float* c_prev, float* c,
                  float* tc, float* h);
void gru_forward(int64_t n, int64_t H, float* s, const float* hg, const float* bias, const float* h_prev, float* h);
void rnn_forward(int64_t n, float* y, const float* hg, const float* bias, bool relu);
void lstm_backward(int64_t n, int64_t H, const float* gates, const float* c_prev, const float* tc, const float* dy,
                   const float* dh, float* dc, float* dG);
void gru_backward(int64_t n, int64_t H, const float* s, const float* h_prev, const float* dy, float* dh, float* dG);
void rnn_backward(int64_t n, const float* h, const float* dy, const float* dh, float* dG, bool relu);
void sigmoid(int64_t n, const float* x, float* y);
void tanh(int64_t n, const float* x, float* y);
}  // namespace avx512

}  // namespace ember::kernels::rnn_rows
