#include "core/allocator.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "ember/error.h"

namespace ember::alloc {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kMaxCachedBytes = size_t(2) << 30;  // never hoard more than 2 GiB

// Size classes: multiples of 64 bytes up to 4 KiB, then four classes per power of two, so a
// block is at most 25% larger than asked for.
size_t size_class(size_t n) {
  if (n <= 4096) return (n + 63) & ~size_t(63);
  size_t p = size_t(1) << (63 - __builtin_clzll(n - 1));  // largest power of two < n
  size_t quarter = p / 4;
  return (n + quarter - 1) / quarter * quarter;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t bytes = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // leaked on purpose: tensors may die after static destructors
  return *c;
}

}  // namespace

void* allocate(size_t nbytes) {
  size_t cls = size_class(nbytes == 0 ? 1 : nbytes);
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(cls);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.bytes -= cls;
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlignment, cls);
  if (p == nullptr) {
    empty_cache();
    p = std::aligned_alloc(kAlignment, cls);
  }
  if (p == nullptr) throw OutOfMemoryError(str("failed to allocate ", nbytes, " bytes"));
  return p;
}

void release(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  size_t cls = size_class(nbytes == 0 ? 1 : nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.bytes + cls <= kMaxCachedBytes) {
      c.free_blocks[cls].push_back(ptr);
      c.bytes += cls;
      return;
    }
  }
  std::free(ptr);
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& kv : c.free_blocks)
    for (void* p : kv.second) std::free(p);
  c.free_blocks.clear();
  c.bytes = 0;
}

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.bytes;
}

}  // namespace ember::alloc
