// embedding: a row gather forward and a scatter-add backward into a dense weight gradient.
#include "ember/normalization.h"
#include "kernels/cpu/rows.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using ops::SavedTensor;
using ops::TensorList;

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
  const char* op = "embedding";
  EMBER_CHECK(indices.defined() && weight.defined(), ValueError, op, ": indices and weight must be tensors");
  EMBER_CHECK(indices.dtype() == DType::Int64, TypeError, op, ": expected int64 indices, got ",
              dtype_name(indices.dtype()));
  EMBER_CHECK(is_floating(weight.dtype()), TypeError, op, ": expected a floating-point weight, got ",
              dtype_name(weight.dtype()));
  EMBER_CHECK(weight.dim() == 2, ValueError, op, ": expected a 2-D weight [num_embeddings, embedding_dim], got shape ",
              weight.shape());
  const int64_t rows = weight.size(0), D = weight.size(1);
  int64_t pad = -1;
  if (padding_idx) {
    pad = *padding_idx;
    EMBER_CHECK(pad >= -rows && pad < rows, ValueError, op, ": padding_idx ", pad,
                " must be within num_embeddings (", rows, ")");
    if (pad < 0) pad += rows;
  }
  Tensor idx;
  {
    autograd::NoGradGuard no_grad;
    idx = indices.contiguous();
  }
  const int64_t n = idx.numel();
  const int64_t* ip = idx.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    EMBER_CHECK(ip[i] >= 0 && ip[i] < rows, IndexError, op, ": index ", ip[i],
                " is out of range for an embedding table of ", rows, " rows (indices shape ", indices.shape(), ")");

  Shape out_shape = indices.shape();
  out_shape.push_back(D);
  Tensor out = empty(out_shape, weight.dtype());
  Tensor w;
  {
    autograd::NoGradGuard no_grad;
    w = weight.contiguous();
  }
  dispatch_floating(weight.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::gather_rows(w.data<T>(), D, ip, n, out.data<T>());
  });
  SavedTensor sidx(idx);
  ops::record("EmbeddingBackward", {&weight}, {&out}, [=](const Node& node, TensorList& g) {
    const Tensor gy = g[0].contiguous();
    const Tensor id = sidx.unpack(&node);
    Tensor gw = empty({rows, D}, gy.dtype());
    dispatch_floating(gy.dtype(), "embedding backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::scatter_add_rows(gy.data<T>(), D, id.data<int64_t>(), n, pad, gw.data<T>(), rows);
    });
    return TensorList{gw};
  });
  return out;
}

}  // namespace ember::functional
