#include "kernels/cpu/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/softmax.h"

namespace ember::kernels {
namespace {

template <typename T>
T class_weight_sum(const CrossEntropyRows<T>& a) {
  if (!a.weight) return static_cast<T>(a.C);
  T s = 0;
  for (int64_t c = 0; c < a.C; ++c) s += a.weight[c];
  return s;
}

// Index target: loss = (1 - eps) w_y (logs - (x_y - m)) + eps/C (W logs - sum_c w_c (x_c - m)),
// i.e. -sum_c q_c log_softmax_c written with the shifted logits, so no large terms cancel.
template <typename T>
void ce_index_row(const CrossEntropyRows<T>& a, int64_t i, T W, T* loss, T* rw, T* e, T* inv_s) {
  const int64_t C = a.C, y = a.index[i];
  if (y == a.ignore_index) {
    loss[i] = 0;
    rw[i] = 0;
    if (inv_s) inv_s[i] = 0;
    return;
  }
  const T* xr = a.x + i * C;
  const T m = row_max(xr, C);
  const T s = row_exp_sum(xr, m, e ? e + i * C : static_cast<T*>(nullptr), C);
  const T logs = std::log(s);
  const T wy = a.weight ? a.weight[y] : T(1);
  T l = (T(1) - a.smoothing) * wy * (logs - (xr[y] - m));
  if (a.smoothing > 0) {
    T sx = 0;
    if (a.weight)
      for (int64_t c = 0; c < C; ++c) sx += a.weight[c] * (xr[c] - m);
    else
      for (int64_t c = 0; c < C; ++c) sx += xr[c] - m;
    l += a.smoothing / static_cast<T>(C) * (W * logs - sx);
  }
  loss[i] = l;
  rw[i] = wy;
  if (inv_s) inv_s[i] = T(1) / s;
}

// q_c = w_c * (t_c (1 - eps) + eps / C)
template <typename T>
inline T prob_q(const CrossEntropyRows<T>& a, const T* tr, int64_t c) {
  const T t = a.smoothing > 0 ? tr[c] * (T(1) - a.smoothing) + a.smoothing / static_cast<T>(a.C) : tr[c];
  return a.weight ? a.weight[c] * t : t;
}

template <typename T>
void ce_prob_row(const CrossEntropyRows<T>& a, int64_t i, T* loss, T* rw, T* e, T* inv_s) {
  const int64_t C = a.C;
  const T* xr = a.x + i * C;
  const T* tr = a.prob + i * C;
  const T m = row_max(xr, C);
  const T s = row_exp_sum(xr, m, e ? e + i * C : static_cast<T*>(nullptr), C);
  const T logs = std::log(s);
  T S = 0, A = 0;
  for (int64_t c = 0; c < C; ++c) {
    const T q = prob_q(a, tr, c);
    S += q;
    A += q * (xr[c] - m);
  }
  loss[i] = S * logs - A;
  rw[i] = 1;
  if (inv_s) inv_s[i] = T(1) / s;
}

}  // namespace

template <typename T>
void cross_entropy_forward(const CrossEntropyRows<T>& a, T* loss, T* row_weight, T* e, T* inv_s) {
  const T W = class_weight_sum(a);
  for_each_row(a.N, a.N * a.C * 8, [&](int64_t i) {
    if (a.index)
      ce_index_row(a, i, W, loss, row_weight, e, inv_s);
    else
      ce_prob_row(a, i, loss, row_weight, e, inv_s);
  });
}

template <typename T>
void cross_entropy_backward(const CrossEntropyRows<T>& a, const T* e, const T* inv_s, const T* coef,
                            int64_t coef_stride, T* gx) {
  const int64_t C = a.C;
  const T W = class_weight_sum(a);
  const T eps = a.smoothing, eps_c = a.smoothing / static_cast<T>(C);
  for_each_row(a.N, a.N * C * 2, [&](int64_t i) {
    const T k = coef[i * coef_stride];
    const T* er = e + i * C;
    T* g = gx + i * C;
    if (a.index) {
      const int64_t y = a.index[i];
      if (y == a.ignore_index) {
        std::fill(g, g + C, T(0));
        return;
      }
      const T wy = a.weight ? a.weight[y] : T(1);
      const T S = (T(1) - eps) * wy + eps_c * W;
      const T b = k * S * inv_s[i];
      for (int64_t c = 0; c < C; ++c) g[c] = b * er[c];
      if (eps > 0) {
        const T ks = k * eps_c;
        if (a.weight)
          for (int64_t c = 0; c < C; ++c) g[c] -= ks * a.weight[c];
        else
          for (int64_t c = 0; c < C; ++c) g[c] -= ks;
      }
      g[y] -= k * (T(1) - eps) * wy;
    } else {
      const T* tr = a.prob + i * C;
      T S = 0;
      for (int64_t c = 0; c < C; ++c) S += prob_q(a, tr, c);
      const T b = S * inv_s[i];
      for (int64_t c = 0; c < C; ++c) g[c] = k * (b * er[c] - prob_q(a, tr, c));
    }
  });
}

template <typename T>
void cross_entropy_target_backward(const CrossEntropyRows<T>& a, const T* inv_s, const T* coef, int64_t coef_stride,
                                   T* gt) {
  const int64_t C = a.C;
  for_each_row(a.N, a.N * C * 2, [&](int64_t i) {
    const T* xr = a.x + i * C;
    const T m = row_max(xr, C);
    const T logs = -std::log(inv_s[i]);
    const T k = coef[i * coef_stride] * (T(1) - a.smoothing);
    for (int64_t c = 0; c < C; ++c) {
      const T w = a.weight ? a.weight[c] : T(1);
      gt[i * C + c] = k * w * (logs - (xr[c] - m));  // -log_softmax = logs - (x - m)
    }
  });
}

template <typename T>
void nll_forward(const T* x, const int64_t* target, const T* weight, int64_t N, int64_t C, int64_t inner,
                 int64_t ignore_index, T* loss, T* row_weight) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < inner; ++k) {
      const int64_t r = n * inner + k, y = target[r];
      if (y == ignore_index) {
        loss[r] = 0;
        row_weight[r] = 0;
        continue;
      }
      const T w = weight ? weight[y] : T(1);
      loss[r] = -w * x[(n * C + y) * inner + k];
      row_weight[r] = w;
    }
}

template <typename T>
void nll_backward(const int64_t* target, const T* weight, int64_t N, int64_t C, int64_t inner, int64_t ignore_index,
                  const T* coef, int64_t coef_stride, T* gx) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < inner; ++k) {
      const int64_t r = n * inner + k, y = target[r];
      if (y == ignore_index) continue;
      gx[(n * C + y) * inner + k] = -(weight ? weight[y] : T(1)) * coef[r * coef_stride];
    }
}

template <typename T>
void multi_margin_forward(const T* x, const int64_t* target, const T* weight, int64_t N, int64_t C, int p, T margin,
                          T* loss) {
  for_each_row(N, N * C * 2, [&](int64_t i) {
    const T* xr = x + i * C;
    const int64_t y = target[i];
    T s = 0;
    for (int64_t j = 0; j < C; ++j) {
      if (j == y) continue;
      const T z = margin - xr[y] + xr[j];
      if (z > 0) s += p == 1 ? z : z * z;
    }
    loss[i] = s * (weight ? weight[y] : T(1)) / static_cast<T>(C);
  });
}

template <typename T>
void multi_margin_backward(const T* x, const int64_t* target, const T* weight, int64_t N, int64_t C, int p, T margin,
                           const T* coef, int64_t coef_stride, T* gx) {
  for_each_row(N, N * C * 2, [&](int64_t i) {
    const T* xr = x + i * C;
    T* g = gx + i * C;
    const int64_t y = target[i];
    const T k = coef[i * coef_stride] * (weight ? weight[y] : T(1)) / static_cast<T>(C);
    T gy = 0;
    for (int64_t j = 0; j < C; ++j) {
      g[j] = 0;
      if (j == y) continue;
      const T z = margin - xr[y] + xr[j];
      if (z > 0) {
        const T d = p == 1 ? k : k * 2 * z;
        g[j] = d;
        gy -= d;
      }
    }
    g[y] = gy;
  });
}

template <typename T>
T ordered_sum(const T* v, int64_t n) {
  // fixed 4096-element blocks, each summed with 8 interleaved partials, then the block sums in
  // order: the bits depend on n only, never on how the blocks were spread over threads
  constexpr int64_t kBlock = 4096;
  const int64_t nb = (n + kBlock - 1) / kBlock;
  auto block = [v, n](int64_t b) {
    const int64_t e = std::min(n, (b + 1) * kBlock);
    T acc[8] = {};
    int64_t i = b * kBlock;
    for (; i + 8 <= e; i += 8)
      for (int k = 0; k < 8; ++k) acc[k] += v[i + k];
    for (; i < e; ++i) acc[0] += v[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  };
  if (nb <= 1) return nb == 1 ? block(0) : T(0);
  std::vector<T> partial(static_cast<size_t>(nb));
  for_each_row(nb, n, [&](int64_t b) { partial[b] = block(b); });
  T total = 0;
  for (T p : partial) total += p;
  return total;
}

#define EMBER_INSTANTIATE(T)                                                                                     \
  template void cross_entropy_forward<T>(const CrossEntropyRows<T>&, T*, T*, T*, T*);                             \
  template void cross_entropy_backward<T>(const CrossEntropyRows<T>&, const T*, const T*, const T*, int64_t, T*); \
  template void cross_entropy_target_backward<T>(const CrossEntropyRows<T>&, const T*, const T*, int64_t, T*);    \
  template void nll_forward<T>(const T*, const int64_t*, const T*, int64_t, int64_t, int64_t, int64_t, T*, T*);   \
  template void nll_backward<T>(const int64_t*, const T*, int64_t, int64_t, int64_t, int64_t, const T*, int64_t,  \
                                T*);                                                                              \
  template void multi_margin_forward<T>(const T*, const int64_t*, const T*, int64_t, int64_t, int, T, T*);        \
  template void multi_margin_backward<T>(const T*, const int64_t*, const T*, int64_t, int64_t, int, T, const T*,  \
                                         int64_t, T*);                                                            \
  template T ordered_sum<T>(const T*, int64_t);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)
#undef EMBER_INSTANTIATE

}  // namespace ember::kernels
