// im2col / col2im for one image (or one group of one image) of a 2-D convolution.
//
// The column matrix has one row per (c, kh, kw) and one column per output pixel (oh, ow):
//   col[((c*kH + kh)*kW + kw) * (Ho*Wo) + oh*Wo + ow] = x[c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
// (0 where that falls in the padding), so the convolution is W[Cout, C*kH*kW] x col.
// col2im is the adjoint: it overwrites x with the sum of every column entry that was read from
// each input element (what the input gradient needs), in a fixed loop order.
// Channels are independent, so a caller may convert a channel range [c0, c1) by passing
// x + c0*H*W, col + c0*kH*kW*Ho*Wo and C = c1 - c0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember::kernels {

struct Im2colGeom {
  int64_t C, H, W;        // input channels and plane
  int64_t kH, kW;         // kernel
  int64_t sh, sw;         // stride
  int64_t ph, pw;         // zero padding
  int64_t dh, dw;         // dilation
  int64_t Ho, Wo;         // output plane (conv_output_size)
};

template <typename T>
void im2col(const T* x, const Im2colGeom& g, T* col);

template <typename T>
void col2im(const T* col, const Im2colGeom& g, T* x);

// Scratch memory for column matrices and friends: one buffer per (calling thread, slot), 64-byte
// aligned, grown on demand and kept for the next call, so a training loop does not malloc per
// step. Call it outside parallel regions and hand slices to the threads (an allocation failure
// then throws std::bad_alloc to the caller instead of terminating inside OpenMP). The pointer is
// valid until the next call with the same slot on the same thread.
enum ScratchSlot {
  kScratchCols = 0,
  kScratchPartials = 1,
  kScratchPadded = 2,
  kScratchPacked = 3,
  kScratchOffsets = 4,
  kScratchSlots = 5
};
void* scratch_bytes(ScratchSlot slot, size_t bytes);

template <typename T>
T* scratch(ScratchSlot slot, size_t count) {
  return static_cast<T*>(scratch_bytes(slot, count * sizeof(T)));
}

}  // namespace ember::kernels
