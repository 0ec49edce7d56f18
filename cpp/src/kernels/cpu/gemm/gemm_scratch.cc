// Per-thread pack buffers for the GEMM. thread_local so concurrent gemm calls (e.g. one per image
// inside a parallel conv loop) never share a buffer; kept after use so steady-state training
// allocates nothing here.
#include <cstdlib>
#include <new>

#include "kernels/cpu/gemm/gemm_impl.h"

namespace ember::kernels::gemm_impl {
namespace {

struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  ~Buffer() { std::free(ptr); }
};

thread_local Buffer buffers[kScratchSlots];

}  // namespace

void* scratch(ScratchSlot slot, size_t bytes) {
  Buffer& b = buffers[slot];
  if (b.bytes < bytes) {
    // Page alignment keeps packed panels cache-line aligned and lets the kernel's 256-bit loads
    // never split a line; grow by 1.5x so slowly growing shapes do not reallocate every call.
    constexpr size_t kAlign = 4096;
    size_t want = bytes + bytes / 2;
    want = (want + kAlign - 1) / kAlign * kAlign;
    void* p = std::aligned_alloc(kAlign, want);
    if (p == nullptr) throw std::bad_alloc();
    std::free(b.ptr);
    b.ptr = p;
    b.bytes = want;
  }
  return b.ptr;
}

}  // namespace ember::kernels::gemm_impl
