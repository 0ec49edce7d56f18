// A caching allocator for tensor buffers. Training allocates the same sizes every step; keeping
// freed blocks in size classes turns those mallocs (and the page faults of fresh mmaps) into a
// list pop. Blocks are 64-byte aligned so SIMD kernels can use aligned loads.
#pragma once

#include <cstddef>

namespace ember::alloc {

void* allocate(size_t nbytes);  // throws OutOfMemoryError
void release(void* ptr, size_t nbytes);
// Returns every cached block to the system (tests and memory-pressure paths).
void empty_cache();
size_t cached_bytes();

}  // namespace ember::alloc
