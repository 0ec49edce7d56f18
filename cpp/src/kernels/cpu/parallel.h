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

inline bool in_parallel() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

// Use as `#pragma omp parallel for if (ember::cpu::worth_parallel(work))`.
inline bool worth_parallel(int64_t work) { return work >= kParallelGrain && max_threads() > 1 && !in_parallel(); }

}  // namespace ember::cpu
