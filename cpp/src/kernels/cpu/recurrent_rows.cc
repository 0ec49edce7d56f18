// Portable gate math of the recurrent kernels (see recurrent_rows.h); float and double.
#include "kernels/cpu/recurrent_rows.h"

#include <cmath>

namespace ember::kernels::rnn_rows {
namespace {

template <typename T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

}  // namespace

template <typename T>
void lstm_forward(int64_t n, int64_t H, T* gates, const T* hg, const T* bias, const T* c_prev, T* c, T* tc, T* h) {
  for (int64_t j = 0; j < n; ++j) {
    const T i = sigmoid(gates[j] + hg[j] + bias[j]);
    const T f = sigmoid(gates[H + j] + hg[H + j] + bias[H + j]);
    const T g = std::tanh(gates[2 * H + j] + hg[2 * H + j] + bias[2 * H + j]);
    const T o = sigmoid(gates[3 * H + j] + hg[3 * H + j] + bias[3 * H + j]);
    gates[j] = i, gates[H + j] = f, gates[2 * H + j] = g, gates[3 * H + j] = o;
    const T cc = f * c_prev[j] + i * g;
    const T t = std::tanh(cc);
    c[j] = cc, tc[j] = t, h[j] = o * t;
  }
}

template <typename T>
void gru_forward(int64_t n, int64_t H, T* s, const T* hg, const T* bias, const T* h_prev, T* h) {
  for (int64_t j = 0; j < n; ++j) {
    const T r = sigmoid(s[j] + hg[j] + bias[j]);
    const T z = sigmoid(s[H + j] + hg[H + j] + bias[H + j]);
    const T hn = hg[2 * H + j] + bias[3 * H + j];
    const T nn = std::tanh(s[2 * H + j] + bias[2 * H + j] + r * hn);
    s[j] = r, s[H + j] = z, s[2 * H + j] = nn, s[3 * H + j] = hn;
    h[j] = nn + z * (h_prev[j] - nn);
  }
}

template <typename T>
void rnn_forward(int64_t n, T* y, const T* hg, const T* bias, bool relu) {
  for (int64_t j = 0; j < n; ++j) {
    const T v = y[j] + hg[j] + bias[j];
    // v > 0 ? v : 0 keeps a NaN pre-activation NaN, as torch's relu does
    y[j] = relu ? (v > T(0) || v != v ? v : T(0)) : std::tanh(v);
  }
}

template <typename T>
void lstm_backward(int64_t n, int64_t H, const T* gates, const T* c_prev, const T* tc, const T* dy, const T* dh,
                   T* dc, T* dG) {
  for (int64_t j = 0; j < n; ++j) {
    const T i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j];
    const T t = tc[j], d = dy[j] + dh[j];
    const T dcc = dc[j] + d * o * (T(1) - t * t);
    dG[j] = dcc * g * i * (T(1) - i);
    dG[H + j] = dcc * c_prev[j] * f * (T(1) - f);
    dG[2 * H + j] = dcc * i * (T(1) - g * g);
    dG[3 * H + j] = d * t * o * (T(1) - o);
    dc[j] = dcc * f;
  }
}

template <typename T>
void gru_backward(int64_t n, int64_t H, const T* s, const T* h_prev, const T* dy, T* dh, T* dG) {
  for (int64_t j = 0; j < n; ++j) {
    const T r = s[j], z = s[H + j], nn = s[2 * H + j], hn = s[3 * H + j];
    const T d = dy[j] + dh[j];
    const T dn = d * (T(1) - z) * (T(1) - nn * nn);
    dG[j] = dn * hn * r * (T(1) - r);
    dG[H + j] = d * (h_prev[j] - nn) * z * (T(1) - z);
    dG[2 * H + j] = dn * r;
    dG[3 * H + j] = dn;
    dh[j] = d * z;
  }
}

template <typename T>
void rnn_backward(int64_t n, const T* h, const T* dy, const T* dh, T* dG, bool relu) {
  for (int64_t j = 0; j < n; ++j) {
    const T d = dy[j] + dh[j];
    dG[j] = relu ? (h[j] > T(0) ? d : T(0)) : d * (T(1) - h[j] * h[j]);
  }
}

#define EMBER_RNN_ROWS(T)                                                                                      \
  template void lstm_forward<T>(int64_t, int64_t, T*, const T*, const T*, const T*, T*, T*, T*);                         \
  template void gru_forward<T>(int64_t, int64_t, T*, const T*, const T*, const T*, T*);                        \
  template void rnn_forward<T>(int64_t, T*, const T*, const T*, bool);                                                   \
  template void lstm_backward<T>(int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, T*, T*); \
  template void gru_backward<T>(int64_t, int64_t, const T*, const T*, const T*, T*, T*);                       \
  template void rnn_backward<T>(int64_t, const T*, const T*, const T*, T*, bool);
EMBER_RNN_ROWS(float)
EMBER_RNN_ROWS(double)
#undef EMBER_RNN_ROWS

}  // namespace ember::kernels::rnn_rows
