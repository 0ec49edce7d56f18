// OpenMP helpers shared by the CPU kernels. Kernels stay plain loops with `#pragma omp`; these
// only decide whether a loop is big enough to be worth waking the thread team.
#pragma once

#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ember::cpu {

// Below this many elementary operations a parallel region costs more than it saves.
constexpr int64_t kParallelGrain = 32768;

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// This thread's number in the innermost team (0 outside any).
inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// True inside any parallel region, including a one-thread one (omp_in_parallel() is false there):
// a kernel that threads itself must not open a team inside it. libgomp pools threads for top-level
// teams only, so a nested team starts fresh threads - a pthread_create on every call.
inline bool in_parallel() {
#ifdef _OPENMP
  return omp_get_level() > 0;
#else
  return false;
#endif
}

// Use as `#pragma omp parallel for if (ember::cpu::worth_parallel(work))`.
inline bool worth_parallel(int64_t work) { return work >= kParallelGrain && max_threads() > 1 && !in_parallel(); }

// fn(i) for i in [0, n): on nt threads sharing out one index at a time, or inline when nt <= 1.
// Inline, not `#pragma omp parallel for if (nt > 1)`: that still opens a one-thread region, and a
// GEMM called inside it could then not use the pooled threads (see in_parallel).
template <class Fn>
void parallel_for_dynamic(int64_t n, int nt, Fn&& fn) {
  if (nt <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
  for (int64_t i = 0; i < n; ++i) fn(i);
}

// fn(i) for i in [0, n): in equal contiguous shares over the team when `parallel`, else inline.
template <class Fn>
void parallel_for_static(int64_t n, bool parallel, Fn&& fn) {
  if (!parallel) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
  for (int64_t i = 0; i < n; ++i) fn(i);
}

}  // namespace ember::cpu
