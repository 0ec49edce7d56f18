// Classification losses over raw arrays: fused cross-entropy (log-softmax + NLL in one pass per
// row), NLL over [N, C, inner] and the multi-class hinge loss. Targets were range-checked by
// the caller. Per-row results go to arrays; the caller sums them in a fixed order, so results do
// not depend on the thread count.
#pragma once

#include <cstdint>

namespace ember::kernels {

// N rows of C contiguous logits and their targets: class indices or class probabilities.
template <typename T>
struct CrossEntropyRows {
  int64_t N = 0, C = 0;
  const T* x = nullptr;              // [N, C]
  const int64_t* index = nullptr;    // [N] class indices, or null
  const T* prob = nullptr;           // [N, C] class probabilities, or null
  const T* weight = nullptr;         // [C] class weights, or null (all ones)
  int64_t ignore_index = -100;       // index targets only
  T smoothing = 0;                   // label smoothing epsilon in [0, 1]
};

// Writes per row: loss[i] = -sum_c q_ic * log_softmax(x_i)_c with q_i the row's weighted
// (smoothed) target distribution (torch's cross_entropy), 0 for an ignored row;
// row_weight[i] = what a 'mean' divides by (w[y_i] for index targets, 0 when ignored; 1 for
// probabilities). When e is not null also keeps, for backward, e = exp(x - rowmax) [N, C] and
// inv_s[i] = 1 / sum_c e_ic.
template <typename T>
void cross_entropy_forward(const CrossEntropyRows<T>& a, T* loss, T* row_weight, T* e, T* inv_s);

// gx_i = coef_i * (S_i * softmax(x_i) - q_i) with S_i = sum_c q_ic; coef_i = coef[i * coef_stride]
// (stride 0: one coefficient for every row). Ignored rows get zeros.
template <typename T>
void cross_entropy_backward(const CrossEntropyRows<T>& a, const T* e, const T* inv_s, const T* coef,
                            int64_t coef_stride, T* gx);

// Gradient of the probability target: gt_ic = -coef_i * (1 - smoothing) * w_c * log_softmax(x_i)_c.
template <typename T>
void cross_entropy_target_backward(const CrossEntropyRows<T>& a, const T* inv_s, const T* coef, int64_t coef_stride,
                                   T* gt);

// NLL over x [N, C, inner]: loss[n, k] = -w[y] * x[n, y, k] with y = target[n, k]; 0 and weight 0
// where y == ignore_index. row_weight[n, k] = w[y] (0 when ignored).
template <typename T>
void nll_forward(const T* x, const int64_t* target, const T* weight, int64_t N, int64_t C, int64_t inner,
                 int64_t ignore_index, T* loss, T* row_weight);
// gx (zeroed by the caller) at [n, y, k] = -w[y] * coef[(n * inner + k) * coef_stride].
template <typename T>
void nll_backward(const int64_t* target, const T* weight, int64_t N, int64_t C, int64_t inner, int64_t ignore_index,
                  const T* coef, int64_t coef_stride, T* gx);

// Multi-class hinge loss over x [N, C]: loss[i] = sum_{j != y} w[y] * max(0, margin - x_y + x_j)^p / C.
template <typename T>
void multi_margin_forward(const T* x, const int64_t* target, const T* weight, int64_t N, int64_t C, int p, T margin,
                          T* loss);
template <typename T>
void multi_margin_backward(const T* x, const int64_t* target, const T* weight, int64_t N, int64_t C, int p, T margin,
                           const T* coef, int64_t coef_stride, T* gx);

// Sum of n values in a fixed order (8 interleaved partial sums, then blocks of 4096 added in
// sequence): same bits whatever the thread count.
template <typename T>
T ordered_sum(const T* v, int64_t n);

}  // namespace ember::kernels
