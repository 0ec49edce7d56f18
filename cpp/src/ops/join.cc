// cat / stack / split / chunk.
#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember {

using autograd::Node;
using ops::TensorList;

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), ValueError, "cat: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  EMBER_CHECK(first.defined(), ValueError, "cat: undefined tensor at index 0");
  EMBER_CHECK(first.dim() > 0, ValueError, "cat: zero-dimensional tensor (at position 0) cannot be concatenated");
  int64_t d = wrap_dim(dim, first.dim());
  DType t = first.dtype();
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& x = tensors[i];
    EMBER_CHECK(x.defined(), ValueError, "cat: undefined tensor at index ", i);
    EMBER_CHECK(x.dim() == first.dim(), ValueError, "cat: tensors must have same number of dimensions: got ",
                first.dim(), " and ", x.dim(), " (tensor ", i, ")");
    for (int64_t k = 0; k < x.dim(); ++k)
      EMBER_CHECK(k == d || x.shape()[k] == first.shape()[k], ValueError, "cat: sizes of tensors must match except in "
                  "dimension ", d, ". Expected size ", first.shape()[k], " but got size ", x.shape()[k],
                  " for tensor number ", i, " in the list (shapes ", first.shape(), " and ", x.shape(), ")");
    out_shape[d] += x.shape()[d];
    t = promote(t, x.dtype());
  }
  Tensor out = empty(out_shape, t);
  int64_t off = 0;
  std::vector<int64_t> sizes;
  for (const Tensor& x : tensors) {
    Shape st = out.strides();
    Shape sh = out_shape;
    sh[d] = x.shape()[d];
    ops::copy_into(make_view(out, sh, st, off * st[d]), x);
    off += x.shape()[d];
    sizes.push_back(x.shape()[d]);
  }
  std::vector<DType> dtypes;
  for (const Tensor& x : tensors) dtypes.push_back(x.dtype());
  std::vector<Tensor*> outs{&out};
  ops::record_list("CatBackward", tensors, outs, [sizes, dtypes, d](const Node&, TensorList& g) {
    TensorList r;
    int64_t o = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      r.push_back(ops::as_dtype(g[0].narrow(d, o, sizes[i]), dtypes[i]));
      o += sizes[i];
    }
    return r;
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), ValueError, "stack: expected a non-empty list of tensors");
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1);
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].defined() && tensors[i].shape() == tensors[0].shape(), ValueError,
                "stack expects each tensor to be equal size, but got ", tensors[0].shape(), " at entry 0 and ",
                tensors[i].defined() ? tensors[i].shape() : Shape{}, " at entry ", i);
    parts.push_back(tensors[i].unsqueeze(d));
  }
  return cat(parts, d);
}

std::vector<Tensor> split_sizes(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim) {
  EMBER_CHECK(a.dim() > 0, ValueError, "split: cannot split a 0-dim tensor");
  int64_t d = wrap_dim(dim, a.dim());
  int64_t total = 0;
  for (int64_t s : sizes) {
    EMBER_CHECK(s >= 0, ValueError, "split: split sizes must be non-negative, got ", s);
    total += s;
  }
  EMBER_CHECK(total == a.shape()[d], ValueError, "split_with_sizes expects split_sizes to sum exactly to ",
              a.shape()[d], " (input tensor's size at dimension ", d, "), but got split_sizes=", sizes);
  std::vector<Tensor> out;
  int64_t off = 0;
  for (int64_t s : sizes) {
    out.push_back(a.narrow(d, off, s));
    off += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& a, int64_t split_size, int64_t dim) {
  EMBER_CHECK(split_size > 0, ValueError, "split: split_size must be positive, got ", split_size);
  EMBER_CHECK(a.dim() > 0, ValueError, "split: cannot split a 0-dim tensor");
  int64_t n = a.size(dim);
  std::vector<int64_t> sizes;
  for (int64_t off = 0; off < n; off += split_size) sizes.push_back(std::min(split_size, n - off));
  if (sizes.empty()) sizes.push_back(0);
  return split_sizes(a, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& a, int64_t chunks, int64_t dim) {
  EMBER_CHECK(chunks > 0, ValueError, "chunk: number of chunks must be positive, got ", chunks);
  EMBER_CHECK(a.dim() > 0, ValueError, "chunk: cannot chunk a 0-dim tensor");
  int64_t n = a.size(dim);
  return split(a, std::max<int64_t>(1, (n + chunks - 1) / chunks), dim);
}

}  // namespace ember
