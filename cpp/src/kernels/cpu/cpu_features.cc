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

bool env_forces_generic() {
  const char* v = std::getenv("EMBER_CPU");
  return v != nullptr && std::strcmp(v, "generic") == 0;
}

std::atomic<int>& allow_flag() {
  static std::atomic<int> flag{env_forces_generic() ? 0 : 1};
  return flag;
}

}  // namespace

bool use_avx2() {
  static const bool hw = hardware_has_avx2_fma();
  return hw && allow_flag().load(std::memory_order_relaxed) != 0;
}

void set_allow_avx2(bool allow) { allow_flag().store(allow ? 1 : 0); }

}  // namespace ember::cpu
