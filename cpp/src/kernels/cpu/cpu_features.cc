#include "kernels/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace ember::cpu {
namespace {

bool hardware_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// libgcc reports the AVX-512 features only when the OS saves the ZMM and mask registers (XCR0).
bool hardware_has_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return hardware_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

bool env_is(const char* value) {
  const char* v = std::getenv("EMBER_CPU");
  return v != nullptr && std::strcmp(v, value) == 0;
}

std::atomic<int>& allow_avx2_flag() {
  static std::atomic<int> flag{env_is("generic") ? 0 : 1};
  return flag;
}

std::atomic<int>& allow_avx512_flag() {
  static std::atomic<int> flag{env_is("generic") || env_is("avx2") ? 0 : 1};
  return flag;
}

}  // namespace

bool use_avx2() {
  static const bool hw = hardware_has_avx2_fma();
  return hw && allow_avx2_flag().load(std::memory_order_relaxed) != 0;
}

bool use_avx512() {
  static const bool hw = hardware_has_avx512();
  return hw && use_avx2() && allow_avx512_flag().load(std::memory_order_relaxed) != 0;
}

void set_allow_avx2(bool allow) { allow_avx2_flag().store(allow ? 1 : 0); }
void set_allow_avx512(bool allow) { allow_avx512_flag().store(allow ? 1 : 0); }

const char* isa_name() { return use_avx512() ? "avx512" : (use_avx2() ? "avx2" : "generic"); }

}  // namespace ember::cpu
