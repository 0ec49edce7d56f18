// Scatter / segment reductions for graph neural networks (see graph.h).
#include "kernels/cpu/graph.h"

#include "kernels/cpu/parallel.h"

namespace ember::kernels {

void build_csr(int64_t E, const int64_t* index, int64_t n, int64_t* rowptr, int64_t* perm) {
  for (int64_t i = 0; i <= n; ++i) rowptr[i] = 0;
  for (int64_t e = 0; e < E; ++e) ++rowptr[index[e] + 1];
  for (int64_t i = 0; i < n; ++i) rowptr[i + 1] += rowptr[i];
  // stable placement: a running cursor per group (rowptr shifted back afterwards)
  for (int64_t e = 0; e < E; ++e) perm[rowptr[index[e]]++] = e;
  for (int64_t i = n; i > 0; --i) rowptr[i] = rowptr[i - 1];
  rowptr[0] = 0;
}

template <typename T>
void segment_reduce(int64_t n, int64_t F, const int64_t* rowptr, const int64_t* perm, const int64_t* gather,
                    const T* w, const T* x, GraphReduce reduce, T* out, int64_t* arg) {
  const int64_t E = rowptr[n];
#pragma omp parallel for schedule(dynamic, 16) if (cpu::worth_parallel(E * F + n))
  for (int64_t i = 0; i < n; ++i) {
    T* o = out + i * F;
    const int64_t b = rowptr[i], end = rowptr[i + 1];
    if (reduce == GraphReduce::Max) {
      int64_t* a = arg + i * F;
      for (int64_t f = 0; f < F; ++f) o[f] = T(0), a[f] = -1;
      for (int64_t k = b; k < end; ++k) {
        const int64_t e = perm[k];
        const T* xr = x + (gather ? gather[e] : e) * F;
        const T we = w ? w[e] : T(1);
        for (int64_t f = 0; f < F; ++f) {
          const T v = we * xr[f];
          // the first edge always wins; then larger values, and NaN (which never compares)
          if (a[f] < 0 || (o[f] == o[f] && (v > o[f] || v != v))) o[f] = v, a[f] = e;
        }
      }
      continue;
    }
    for (int64_t f = 0; f < F; ++f) o[f] = T(0);
    for (int64_t k = b; k < end; ++k) {
      const int64_t e = perm[k];
      const T* xr = x + (gather ? gather[e] : e) * F;
      const T we = w ? w[e] : T(1);
      for (int64_t f = 0; f < F; ++f) o[f] += we * xr[f];
    }
    if (reduce == GraphReduce::Mean && end > b) {
      const T inv = T(1) / T(end - b);
      for (int64_t f = 0; f < F; ++f) o[f] *= inv;
    }
  }
}

template <typename T>
void segment_sum_masked(int64_t n, int64_t F, const int64_t* rowptr, const int64_t* perm, const int64_t* dst,
                        const T* w, const T* g, const int64_t* arg, T* out) {
  const int64_t E = rowptr[n];
#pragma omp parallel for schedule(dynamic, 16) if (cpu::worth_parallel(E * F + n))
  for (int64_t j = 0; j < n; ++j) {
    T* o = out + j * F;
    for (int64_t f = 0; f < F; ++f) o[f] = T(0);
    for (int64_t k = rowptr[j]; k < rowptr[j + 1]; ++k) {
      const int64_t e = perm[k];
      const T* gr = g + dst[e] * F;
      const T we = w ? w[e] : T(1);
      if (arg) {
        const int64_t* a = arg + dst[e] * F;
        for (int64_t f = 0; f < F; ++f)
          if (a[f] == e) o[f] += we * gr[f];
      } else {
        for (int64_t f = 0; f < F; ++f) o[f] += we * gr[f];
      }
    }
  }
}

template <typename T>
void scatter_backward(int64_t E, int64_t F, const int64_t* index, const T* scale, const T* g, const int64_t* arg,
                      T* out) {
#pragma omp parallel for schedule(static) if (cpu::worth_parallel(E * F))
  for (int64_t e = 0; e < E; ++e) {
    const T s = scale ? scale[e] : T(1);
    const T* gr = g + index[e] * F;
    T* o = out + e * F;
    if (arg) {
      const int64_t* a = arg + index[e] * F;
      for (int64_t f = 0; f < F; ++f) o[f] = a[f] == e ? s * gr[f] : T(0);
    } else {
      for (int64_t f = 0; f < F; ++f) o[f] = s * gr[f];
    }
  }
}

template <typename T>
void edge_weight_backward(int64_t E, int64_t F, const int64_t* src, const int64_t* dst, const T* scale, const T* g,
                          const T* x, const int64_t* arg, T* dw) {
#pragma omp parallel for schedule(static) if (cpu::worth_parallel(E * F))
  for (int64_t e = 0; e < E; ++e) {
    const T* gr = g + dst[e] * F;
    const T* xr = x + src[e] * F;
    T acc = T(0);
    if (arg) {
      const int64_t* a = arg + dst[e] * F;
      for (int64_t f = 0; f < F; ++f)
        if (a[f] == e) acc += gr[f] * xr[f];
    } else {
      for (int64_t f = 0; f < F; ++f) acc += gr[f] * xr[f];
    }
    dw[e] = (scale ? scale[e] : T(1)) * acc;
  }
}

#define EMBER_GRAPH_KERNELS(T)                                                                                   \
  template void segment_reduce<T>(int64_t, int64_t, const int64_t*, const int64_t*, const int64_t*, const T*,    \
                                  const T*, GraphReduce, T*, int64_t*);                                          \
  template void segment_sum_masked<T>(int64_t, int64_t, const int64_t*, const int64_t*, const int64_t*, const T*, \
                                      const T*, const int64_t*, T*);                                             \
  template void scatter_backward<T>(int64_t, int64_t, const int64_t*, const T*, const T*, const int64_t*, T*);   \
  template void edge_weight_backward<T>(int64_t, int64_t, const int64_t*, const int64_t*, const T*, const T*,    \
                                        const T*, const int64_t*, T*);
EMBER_GRAPH_KERNELS(float)
EMBER_GRAPH_KERNELS(double)
#undef EMBER_GRAPH_KERNELS

}  // namespace ember::kernels
