// The strided N-operand loop behind every elementwise op, copy and type conversion.
//
// Operands are described by byte strides over a common (already broadcast) shape, with size-1
// and mergeable dims coalesced away so that the common contiguous case is one flat run. The
// body is called on innermost runs: body(char* ptr[N], const int64_t stride[N], int64_t n).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/parallel.h"

namespace ember::cpu {

constexpr int kMaxDims = 16;

template <int N>
struct Loop {
  int ndim = 0;                   // innermost dim last
  int64_t shape[kMaxDims] = {};
  int64_t stride[kMaxDims][N] = {};  // bytes
  char* base[N] = {};
  int64_t numel = 1;

  // Drops size-1 dims and merges dim d into d+1 when every operand is contiguous across them.
  void coalesce() {
    int out = 0;
    for (int d = 0; d < ndim; ++d) {
      if (shape[d] == 1) continue;
      if (out > 0) {
        bool mergeable = true;
        for (int k = 0; k < N; ++k)
          if (stride[out - 1][k] != stride[d][k] * shape[d]) mergeable = false;
        if (mergeable) {
          shape[out - 1] *= shape[d];
          for (int k = 0; k < N; ++k) stride[out - 1][k] = stride[d][k];
          continue;
        }
      }
      shape[out] = shape[d];
      for (int k = 0; k < N; ++k) stride[out][k] = stride[d][k];
      ++out;
    }
    ndim = out;
    if (ndim == 0) {  // a single element
      ndim = 1;
      shape[0] = 1;
      for (int k = 0; k < N; ++k) stride[0][k] = 0;
    }
  }
};

// Runs body over rows [row_begin, row_end) of the loop (a row = one innermost run), splitting the
// innermost run into [col_begin, col_end).
template <int N, typename Body>
void run_rows(const Loop<N>& L, int64_t row_begin, int64_t row_end, int64_t col_begin, int64_t col_end, Body& body) {
  const int outer = L.ndim - 1;
  int64_t idx[kMaxDims] = {};
  int64_t r = row_begin;
  for (int d = outer - 1; d >= 0; --d) {
    idx[d] = r % L.shape[d];
    r /= L.shape[d];
  }
  const int64_t* inner_stride = L.stride[outer];
  for (int64_t row = row_begin; row < row_end; ++row) {
    char* p[N];
    for (int k = 0; k < N; ++k) {
      int64_t off = col_begin * inner_stride[k];
      for (int d = 0; d < outer; ++d) off += idx[d] * L.stride[d][k];
      p[k] = L.base[k] + off;
    }
    body(p, inner_stride, col_end - col_begin);
    for (int d = outer - 1; d >= 0; --d) {
      if (++idx[d] < L.shape[d]) break;
      idx[d] = 0;
    }
  }
}

// Runs the whole loop, in parallel when it is large. `cost` = rough work per element (1 for an
// add, ~10 for an exp) so cheap ops are not split too finely.
template <int N, typename Body>
void run_loop(const Loop<N>& L, Body body, int64_t cost = 1) {
  if (L.numel == 0) return;
  const int64_t inner = L.shape[L.ndim - 1];
  const int64_t rows = L.numel / inner;
  if (!worth_parallel(L.numel * cost)) {
    run_rows(L, 0, rows, 0, inner, body);
    return;
  }
  if (rows == 1) {
    // One long run: split it into equal column blocks, one per thread.
#pragma omp parallel
    {
      int nt = omp_get_num_threads(), t = omp_get_thread_num();
      int64_t chunk = (inner + nt - 1) / nt;
      int64_t b = std::min<int64_t>(inner, t * chunk), e = std::min<int64_t>(inner, b + chunk);
      if (b < e) run_rows(L, 0, 1, b, e, body);
    }
    return;
  }
#pragma omp parallel
  {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t chunk = (rows + nt - 1) / nt;
    int64_t b = std::min<int64_t>(rows, t * chunk), e = std::min<int64_t>(rows, b + chunk);
    if (b < e) run_rows(L, b, e, 0, inner, body);
  }
}

// Typed bodies. The contiguous branch is a plain loop the compiler vectorizes.
template <typename R, typename T, typename F>
auto unary_body(F f) {
  return [f](char** p, const int64_t* s, int64_t n) {
    R* o = reinterpret_cast<R*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    if (s[0] == sizeof(R) && s[1] == sizeof(T)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
    } else {
      const int64_t so = s[0] / sizeof(R), sa = s[1] / sizeof(T);
      for (int64_t i = 0; i < n; ++i) o[i * so] = f(a[i * sa]);
    }
  };
}

template <typename R, typename T, typename F>
auto binary_body(F f) {
  return [f](char** p, const int64_t* s, int64_t n) {
    R* o = reinterpret_cast<R*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    const T* b = reinterpret_cast<const T*>(p[2]);
    if (s[0] == sizeof(R) && s[1] == sizeof(T) && s[2] == sizeof(T)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
    } else if (s[0] == sizeof(R) && s[1] == sizeof(T) && s[2] == 0) {
      const T bv = *b;
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
    } else if (s[0] == sizeof(R) && s[1] == 0 && s[2] == sizeof(T)) {
      const T av = *a;
      for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
    } else {
      const int64_t so = s[0] / sizeof(R), sa = s[1] / sizeof(T), sb = s[2] / sizeof(T);
      for (int64_t i = 0; i < n; ++i) o[i * so] = f(a[i * sa], b[i * sb]);
    }
  };
}

template <typename R, typename T0, typename T1, typename T2, typename F>
auto ternary_body(F f) {
  return [f](char** p, const int64_t* s, int64_t n) {
    R* o = reinterpret_cast<R*>(p[0]);
    const T0* a = reinterpret_cast<const T0*>(p[1]);
    const T1* b = reinterpret_cast<const T1*>(p[2]);
    const T2* c = reinterpret_cast<const T2*>(p[3]);
    if (s[0] == sizeof(R) && s[1] == sizeof(T0) && s[2] == sizeof(T1) && s[3] == sizeof(T2)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i], c[i]);
    } else {
      const int64_t so = s[0] / sizeof(R), sa = s[1] / sizeof(T0), sb = s[2] / sizeof(T1), sc = s[3] / sizeof(T2);
      for (int64_t i = 0; i < n; ++i) o[i * so] = f(a[i * sa], b[i * sb], c[i * sc]);
    }
  };
}

}  // namespace ember::cpu
