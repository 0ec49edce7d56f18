#include "kernels/cpu/im2col.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ember::kernels {
namespace {

// ceil(a / b) for b > 0 and any sign of a.
inline int64_t div_ceil(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Output positions o in [lo, hi) read an input index i = o*s - p + k*d inside [0, n). Computing
// the range once per kernel tap keeps the bounds test out of the copy loops.
inline void valid_range(int64_t n, int64_t out, int64_t s, int64_t p, int64_t k, int64_t d,
                        int64_t* lo, int64_t* hi) {
  const int64_t off = p - k * d;  // i = o*s - off
  *lo = std::clamp<int64_t>(div_ceil(off, s), 0, out);
  *hi = std::clamp<int64_t>(div_ceil(n + off, s), *lo, out);
}

}  // namespace

template <typename T>
void im2col(const T* x, const Im2colGeom& g, T* col) {
  const int64_t plane = g.Ho * g.Wo;
  for (int64_t c = 0; c < g.C; ++c) {
    const T* xc = x + c * g.H * g.W;
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      int64_t oh_lo, oh_hi;
      valid_range(g.H, g.Ho, g.sh, g.ph, kh, g.dh, &oh_lo, &oh_hi);
      for (int64_t kw = 0; kw < g.kW; ++kw) {
        int64_t ow_lo, ow_hi;
        valid_range(g.W, g.Wo, g.sw, g.pw, kw, g.dw, &ow_lo, &ow_hi);
        T* dst = col + ((c * g.kH + kh) * g.kW + kw) * plane;
        // Rows of the tap that fall entirely in the top/bottom padding.
        std::memset(dst, 0, sizeof(T) * oh_lo * g.Wo);
        std::memset(dst + oh_hi * g.Wo, 0, sizeof(T) * (g.Ho - oh_hi) * g.Wo);
        const int64_t iw0 = -g.pw + kw * g.dw;
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          T* d = dst + oh * g.Wo;
          const T* row = xc + (oh * g.sh - g.ph + kh * g.dh) * g.W;
          for (int64_t ow = 0; ow < ow_lo; ++ow) d[ow] = T(0);
          if (g.sw == 1) {
            // The common case is a shifted row copy; keep it a unit-stride loop so it vectorizes.
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) d[ow] = row[ow + iw0];
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) d[ow] = row[ow * g.sw + iw0];
          }
          for (int64_t ow = ow_hi; ow < g.Wo; ++ow) d[ow] = T(0);
        }
      }
    }
  }
}

template <typename T>
void col2im(const T* col, const Im2colGeom& g, T* x) {
  const int64_t plane = g.Ho * g.Wo;
  std::memset(x, 0, sizeof(T) * g.C * g.H * g.W);
  for (int64_t c = 0; c < g.C; ++c) {
    T* xc = x + c * g.H * g.W;
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      int64_t oh_lo, oh_hi;
      valid_range(g.H, g.Ho, g.sh, g.ph, kh, g.dh, &oh_lo, &oh_hi);
      for (int64_t kw = 0; kw < g.kW; ++kw) {
        int64_t ow_lo, ow_hi;
        valid_range(g.W, g.Wo, g.sw, g.pw, kw, g.dw, &ow_lo, &ow_hi);
        const T* src = col + ((c * g.kH + kh) * g.kW + kw) * plane;
        const int64_t iw0 = -g.pw + kw * g.dw;
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          const T* s = src + oh * g.Wo;
          T* row = xc + (oh * g.sh - g.ph + kh * g.dh) * g.W;
          if (g.sw == 1) {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) row[ow + iw0] += s[ow];
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) row[ow * g.sw + iw0] += s[ow];
          }
        }
      }
    }
  }
}

namespace {
struct ScratchBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  ~ScratchBuffer() { std::free(ptr); }
};
}  // namespace

void* scratch_bytes(ScratchSlot slot, size_t bytes) {
  thread_local ScratchBuffer buffers[kScratchSlots];
  ScratchBuffer& b = buffers[slot];
  if (bytes > b.bytes) {
    // Grow by at least half again so a slowly growing sequence of shapes does not reallocate
    // every call; round to the 64-byte alignment aligned_alloc wants.
    size_t want = std::max(bytes, b.bytes + b.bytes / 2);
    want = (want + 63) / 64 * 64;
    std::free(b.ptr);
    b.ptr = std::aligned_alloc(64, want);
    b.bytes = b.ptr ? want : 0;
    if (b.ptr == nullptr) throw std::bad_alloc();
  }
  return b.ptr;
}

template void im2col<float>(const float*, const Im2colGeom&, float*);
template void im2col<double>(const double*, const Im2colGeom&, double*);
template void col2im<float>(const float*, const Im2colGeom&, float*);
template void col2im<double>(const double*, const Im2colGeom&, double*);

}  // namespace ember::kernels
