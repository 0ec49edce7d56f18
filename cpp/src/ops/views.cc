// View ops: new geometry over the same storage, no copy. Each records a backward that maps the
// gradient of the view back to the shape of its input.
#include <algorithm>
#include <numeric>

#include "ops/record.h"

namespace ember {

using autograd::Node;
using ops::record;
using ops::TensorList;

namespace {

Tensor view_of(const Tensor& self, Shape shape, Shape strides, int64_t offset) {
  Tensor v = make_view(self, std::move(shape), std::move(strides), offset);
  if (autograd::grad_enabled() && self.requires_grad()) v.get()->is_view = true;
  return v;
}

// Strides that let `shape` view memory laid out as (old_shape, old_strides), if any exist
// (the chunks of dims that get merged or split must be contiguous among themselves).
bool view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape, Shape& out) {
  out.assign(shape.size(), 0);
  if (old_shape.empty()) {
    std::fill(out.begin(), out.end(), 1);
    return true;
  }
  int64_t numel = 1;
  for (int64_t s : old_shape) numel *= s;
  if (numel == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

Shape infer_shape(const Shape& shape, int64_t numel) {
  Shape out = shape;
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      EMBER_CHECK(infer < 0, ValueError, "only one dimension can be inferred in shape ", shape);
      infer = static_cast<int64_t>(i);
    } else {
      EMBER_CHECK(out[i] >= 0, ValueError, "invalid shape dimension ", out[i], " in ", shape);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    EMBER_CHECK(known != 0 && numel % known == 0, ValueError, "shape ", shape, " is invalid for input of size ", numel);
    out[infer] = numel / known;
  } else {
    EMBER_CHECK(known == numel, ValueError, "shape ", shape, " is invalid for input of size ", numel);
  }
  return out;
}

void record_reshape(const Tensor& self, Tensor& out) {
  Shape in_shape = self.shape();
  record("ViewBackward", {&self}, {&out}, [in_shape](const Node&, TensorList& g) {
    return TensorList{g[0].reshape(in_shape)};
  });
}

}  // namespace

Tensor Tensor::view(const Shape& s) const {
  Shape shape = infer_shape(s, numel());
  Shape st;
  EMBER_CHECK(view_strides(this->shape(), strides(), shape, st), Error, "view size ", shape, " is not compatible "
              "with input tensor's size ", this->shape(), " and stride ", strides(), "; use .reshape(...) instead");
  Tensor out = view_of(*this, shape, st, offset());
  record_reshape(*this, out);
  return out;
}

Tensor Tensor::reshape(const Shape& s) const {
  Shape shape = infer_shape(s, numel());
  Shape st;
  if (view_strides(this->shape(), strides(), shape, st)) {
    Tensor out = view_of(*this, shape, st, offset());
    record_reshape(*this, out);
    return out;
  }
  return contiguous().view(shape);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = wrap_dim(start, dim());
  end = wrap_dim(end, dim());
  EMBER_CHECK(start <= end, ValueError, "flatten() has invalid args: start_dim (", start, ") cannot come after end_dim (",
              end, ")");
  Shape s(shape().begin(), shape().begin() + start);
  int64_t p = 1;
  for (int64_t d = start; d <= end; ++d) p *= shape()[d];
  s.push_back(p);
  s.insert(s.end(), shape().begin() + end + 1, shape().end());
  return reshape(s);
}

Tensor Tensor::permute(const Shape& dims) const {
  EMBER_CHECK(static_cast<int64_t>(dims.size()) == dim(), ValueError, "permute: number of dims ", dims.size(),
              " doesn't match the tensor's ", dim(), " dims");
  Shape shape(dims.size()), st(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], dim());
    EMBER_CHECK(!seen[d], ValueError, "permute: repeated dim ", d, " in ", dims);
    seen[d] = true;
    shape[i] = this->shape()[d];
    st[i] = strides()[d];
    inverse[d] = static_cast<int64_t>(i);
  }
  Tensor out = view_of(*this, shape, st, offset());
  record("PermuteBackward", {this}, {&out}, [inverse](const Node&, TensorList& g) {
    return TensorList{g[0].permute(inverse)};
  });
  return out;
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  if (dim() == 0) return *this;
  d0 = wrap_dim(d0, dim());
  d1 = wrap_dim(d1, dim());
  Shape p(dim());
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[d0], p[d1]);
  return permute(p);
}

Tensor Tensor::t() const {
  EMBER_CHECK(dim() <= 2, ValueError, "t() expects a tensor with <= 2 dimensions, but self is ", dim(), "D");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::squeeze() const {
  Shape s;
  for (int64_t v : shape())
    if (v != 1) s.push_back(v);
  return reshape(s);  // a view that records its backward, even when nothing is squeezed
}

Tensor Tensor::squeeze(int64_t d) const {
  if (dim() == 0) return reshape({});
  d = wrap_dim(d, dim());
  if (shape()[d] != 1) return reshape(shape());
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  Tensor out = view_of(*this, s, st, offset());
  record_reshape(*this, out);
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1);
  Shape s = shape(), st = strides();
  int64_t stride = d < dim() ? st[d] * s[d] : 1;
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, stride);
  Tensor out = view_of(*this, s, st, offset());
  record_reshape(*this, out);
  return out;
}

Tensor Tensor::expand(const Shape& target) const {
  EMBER_CHECK(target.size() >= shape().size(), ValueError, "expand: the number of sizes provided (", target.size(),
              ") must be greater or equal to the number of dimensions in the tensor (", dim(), ")");
  const size_t lead = target.size() - shape().size();
  Shape s(target.size()), st(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (i < lead) {
      EMBER_CHECK(target[i] >= 0, ValueError, "expand: -1 not allowed in a leading, non-existing dimension ", i);
      s[i] = target[i];
      st[i] = 0;
      continue;
    }
    int64_t have = shape()[i - lead];
    int64_t want = target[i] == -1 ? have : target[i];
    EMBER_CHECK(want >= 0, ValueError, "expand: invalid size ", target[i], " at dimension ", i, " in ", target);
    EMBER_CHECK(have == want || have == 1, ValueError, "expand: the expanded size of the tensor (", want,
                ") must match the existing size (", have, ") at non-singleton dimension ", i, ". Target sizes: ",
                target, ". Tensor sizes: ", shape());
    s[i] = want;
    st[i] = have == want ? strides()[i - lead] : 0;
  }
  Tensor out = view_of(*this, s, st, offset());
  Shape in_shape = shape();
  record("ExpandBackward", {this}, {&out}, [in_shape](const Node&, TensorList& g) {
    return TensorList{sum_to(g[0], in_shape)};
  });
  return out;
}

Tensor broadcast_to(const Tensor& a, const Shape& shape) { return a.expand(shape); }

Tensor Tensor::select(int64_t d, int64_t index) const {
  EMBER_CHECK(dim() > 0, IndexError, "select() cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim());
  int64_t n = shape()[d];
  EMBER_CHECK(index >= -n && index < n, IndexError, "index ", index, " is out of bounds for dimension ", d,
              " with size ", n);
  if (index < 0) index += n;
  Shape s = shape(), st = strides();
  int64_t off = offset() + index * st[d];
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  Tensor out = view_of(*this, s, st, off);
  Shape in_shape = shape();
  DType dt = dtype();
  record("SelectBackward", {this}, {&out}, [in_shape, dt, d, index](const Node&, TensorList& g) {
    Tensor gin = zeros(in_shape, dt);
    gin.select(d, index).copy_(g[0]);
    return TensorList{gin};
  });
  return out;
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t stop, int64_t step) const {
  EMBER_CHECK(dim() > 0, IndexError, "slice() cannot be applied to a 0-dim tensor");
  EMBER_CHECK(step > 0, ValueError, "slice step must be positive, got ", step);
  d = wrap_dim(d, dim());
  int64_t n = shape()[d];
  // Written so that no extreme start/stop/step (e.g. t[::2**63-1]) overflows int64.
  if (start < 0) start = start < -n ? 0 : start + n;
  if (stop < 0) stop = stop < -n ? 0 : stop + n;
  start = std::clamp<int64_t>(start, 0, n);
  stop = std::clamp<int64_t>(stop, start, n);
  Shape s = shape(), st = strides();
  s[d] = stop == start ? 0 : (stop - start - 1) / step + 1;
  if (s[d] > 1) st[d] *= step;  // step < n here; with one element the stride is never used
  Tensor out = view_of(*this, s, st, offset() + start * strides()[d]);
  Shape in_shape = shape();
  DType dt = dtype();
  record("SliceBackward", {this}, {&out}, [in_shape, dt, d, start, stop, step](const Node&, TensorList& g) {
    Tensor gin = zeros(in_shape, dt);
    gin.slice(d, start, stop, step).copy_(g[0]);
    return TensorList{gin};
  });
  return out;
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  EMBER_CHECK(dim() > 0, IndexError, "narrow() cannot be applied to a 0-dim tensor");
  int64_t n = size(d);
  if (start < 0) start += n;
  // length <= n - start, not start + length <= n: the sum could overflow.
  EMBER_CHECK(start >= 0 && length >= 0 && start <= n && length <= n - start, IndexError, "narrow: start (", start,
              ") + length (", length, ") exceeds dimension size (", n, ")");
  return slice(d, start, start + length, 1);
}

}  // namespace ember
