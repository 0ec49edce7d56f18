// dropout / dropout2d: a mask of 0 and 1/(1-p) drawn from the global generator, multiplied in.
// The mask is kept by the backward node (grad * mask), so backward needs no second draw. For
// dropout2d the mask is [N, C, 1, ...] and broadcasts over each channel.
#include <cmath>

#include "ember/normalization.h"
#include "ember/random.h"
#include "kernels/cpu/parallel.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::TensorList;

namespace {

// splitmix64's output function: a strong 64-bit mix, so mix64(key + i * golden) for i = 1, 2, ...
// is exactly the splitmix64 stream started at `key`.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Fills a contiguous mask: each element is `scale` with probability 1 - p, else 0. One draw from
// the global generator keys a counter-based stream (two 32-bit numbers per counter), so the mask
// depends on the seed alone - not on the thread count - and large masks fill in parallel.
template <typename T>
void fill_mask(T* m, int64_t n, double p) {
  const uint64_t key = default_generator().next_u64();
  const double keep = 1.0 - p;
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(keep, 32));  // keep iff draw < threshold
  const T scale = static_cast<T>(1.0 / keep);
  const int64_t pairs = (n + 1) / 2;
#pragma omp parallel for schedule(static) if (cpu::worth_parallel(4 * n))
  for (int64_t j = 0; j < pairs; ++j) {
    const uint64_t r = mix64(key + static_cast<uint64_t>(j + 1) * 0x9e3779b97f4a7c15ULL);
    // keep = (draw - threshold) >> 63, i.e. draw < threshold, in integer arithmetic: the test is
    // a coin flip, and the compiler turned every form with a comparison into a branch whose
    // mispredictions made the mask cost 10x the rest of the op.
    const int64_t k0 = static_cast<int64_t>(((r & 0xffffffffu) - threshold) >> 63);
    const int64_t k1 = static_cast<int64_t>(((r >> 32) - threshold) >> 63);
    m[2 * j] = static_cast<T>(k0) * scale;
    if (2 * j + 1 < n) m[2 * j + 1] = static_cast<T>(k1) * scale;
  }
}

Tensor dropout_impl(const Tensor& input, double p, bool training, bool channels, const char* op) {
  EMBER_CHECK(input.defined(), ValueError, op, ": input must be a tensor");
  EMBER_CHECK(p >= 0.0 && p <= 1.0, ValueError, op, ": dropout probability has to be between 0 and 1, but got ", p);
  EMBER_CHECK(is_floating(input.dtype()), TypeError, op, ": expected a floating-point input, got ",
              dtype_name(input.dtype()));
  if (channels)
    EMBER_CHECK(input.dim() >= 2, ValueError, op, ": expected an input of shape [N, C, ...], got shape ",
                input.shape());
  if (!training || p == 0.0) return input;

  Shape mshape = input.shape();
  if (channels)
    for (size_t d = 2; d < mshape.size(); ++d) mshape[d] = 1;
  Tensor mask = empty(mshape, input.dtype());
  dispatch_floating(input.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (p == 1.0)
      mask.fill_(0.0);  // x * 0, as torch: NaN and inf inputs still give NaN
    else
      fill_mask(mask.data<T>(), mask.numel(), p);
  });
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = mul(input, mask);
  }
  ops::record(channels ? "FeatureDropoutBackward" : "DropoutBackward", {&input}, {&out},
              [mask](const Node&, TensorList& g) { return TensorList{mul(g[0], mask)}; });
  return out;
}

}  // namespace

Tensor dropout(const Tensor& input, double p, bool training) {
  return dropout_impl(input, p, training, false, "dropout");
}

Tensor dropout2d(const Tensor& input, double p, bool training) {
  return dropout_impl(input, p, training, true, "dropout2d");
}

}  // namespace ember::functional
