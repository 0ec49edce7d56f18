// dropout / dropout2d: a mask of 0 and 1/(1-p) drawn from the global generator, multiplied in.
// The mask is kept by the backward node (grad * mask), so backward needs no second draw. For
// dropout2d the mask is [N, C, 1, ...] and broadcasts over each channel.
#include <cmath>

#include "ember/normalization.h"
#include "ember/random.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::TensorList;

namespace {

// Fills a contiguous mask: each element is `scale` with probability 1 - p, else 0. Draws two
// 32-bit numbers per 64-bit step of the generator, one after another on the calling thread, so
// a seed gives the same mask whatever the thread count.
template <typename T>
void fill_mask(T* m, int64_t n, double p) {
  Generator& gen = default_generator();
  const double keep = 1.0 - p;
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(keep, 32));  // keep iff draw < threshold
  const T scale = static_cast<T>(1.0 / keep);
  int64_t i = 0;
  for (; i + 2 <= n; i += 2) {
    const uint64_t r = gen.next_u64();
    m[i] = (r & 0xffffffffu) < threshold ? scale : T(0);
    m[i + 1] = (r >> 32) < threshold ? scale : T(0);
  }
  if (i < n) m[i] = (gen.next_u64() >> 32) < threshold ? scale : T(0);
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
