// Indexing: basic indices (ints, slices, None, ...) become views; advanced indices (int64 index
// tensors, bool masks) gather into a new tensor, numpy style. Assignment writes through the same
// machinery and records autograd by rebasing the target's history.
#include <cstring>

#include "ops/elementwise_iter.h"
#include "ops/record.h"

namespace ember {

using autograd::Node;
using ops::TensorList;

Tensor nonzero(const Tensor& a) {
  EMBER_CHECK(a.defined(), ValueError, "nonzero: undefined tensor");
  Tensor m = ops::as_dtype(a, DType::Bool).contiguous();
  const bool* p = m.data<bool>();
  const int64_t n = m.numel(), nd = m.dim();
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += p[i];
  Tensor out = empty({count, nd}, DType::Int64);
  int64_t* o = out.data<int64_t>();
  Shape st = contiguous_strides(m.shape());
  for (int64_t i = 0; i < n; ++i) {
    if (!p[i]) continue;
    int64_t rem = i;
    for (int64_t d = 0; d < nd; ++d) {
      *o++ = rem / st[d];
      rem %= st[d];
    }
  }
  return out;
}

namespace {

struct Advanced {
  std::vector<int64_t> dims;    // positions in the basic-indexed view
  std::vector<Tensor> indices;  // int64, one per dim
};

// Applies the basic indices (a view of self) and collects the advanced ones.
Tensor apply_basic(const Tensor& self, const std::vector<TensorIndex>& indices, Advanced& adv) {
  int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& ix : indices) {
    switch (ix.kind) {
      case TensorIndex::Kind::Integer:
      case TensorIndex::Kind::Slice: consumed += 1; break;
      case TensorIndex::Kind::Tensor:
        EMBER_CHECK(ix.tensor.defined(), ValueError, "index: undefined index tensor");
        consumed += ix.tensor.dtype() == DType::Bool ? std::max<int64_t>(ix.tensor.dim(), 0) : 1;
        break;
      case TensorIndex::Kind::Ellipsis: ++ellipses; break;
      case TensorIndex::Kind::None: break;
    }
  }
  EMBER_CHECK(ellipses <= 1, IndexError, "an index can only have a single ellipsis ('...')");
  EMBER_CHECK(consumed <= self.dim(), IndexError, "too many indices for tensor of dimension ", self.dim(),
              " (got ", consumed, ")");
  Tensor r = self;
  int64_t d = 0;
  for (const TensorIndex& ix : indices) {
    switch (ix.kind) {
      case TensorIndex::Kind::Integer: {
        int64_t n = r.size(d);
        EMBER_CHECK(ix.integer >= -n && ix.integer < n, IndexError, "index ", ix.integer,
                    " is out of bounds for dimension ", d, " with size ", n);
        r = r.select(d, ix.integer);
        break;
      }
      case TensorIndex::Kind::Slice: {
        EMBER_CHECK(ix.step > 0, ValueError, "step must be greater than zero (negative slice steps are not supported; "
                    "use flip)");
        int64_t n = r.size(d);
        int64_t start = ix.start.value_or(0), stop = ix.stop.value_or(n);
        if (start < 0) start = std::max<int64_t>(start + n, 0);
        if (stop < 0) stop = std::max<int64_t>(stop + n, 0);
        start = std::min(start, n);
        stop = std::min(std::max(stop, start), n);
        if (!(start == 0 && stop == n && ix.step == 1)) r = r.slice(d, start, stop, ix.step);
        ++d;
        break;
      }
      case TensorIndex::Kind::None: r = r.unsqueeze(d); ++d; break;
      case TensorIndex::Kind::Ellipsis: d += self.dim() - consumed; break;
      case TensorIndex::Kind::Tensor: {
        const Tensor& t = ix.tensor;
        if (t.dtype() == DType::Bool) {
          EMBER_CHECK(t.dim() > 0, NotImplementedError, "indexing with a 0-dim bool tensor is not supported");
          for (int64_t k = 0; k < t.dim(); ++k)
            EMBER_CHECK(t.size(k) == r.size(d + k), IndexError, "The shape of the mask ", t.shape(), " at index ", k,
                        " does not match the shape of the indexed tensor ", r.shape(), " at index ", d + k);
          Tensor nz = nonzero(t);
          for (int64_t k = 0; k < t.dim(); ++k) {
            adv.dims.push_back(d + k);
            adv.indices.push_back(nz.select(1, k).contiguous());
          }
          d += t.dim();
        } else {
          EMBER_CHECK(t.dtype() == DType::Int64, IndexError, "tensors used as indices must be int64 or bool, got ",
                      dtype_name(t.dtype()));
          adv.dims.push_back(d);
          adv.indices.push_back(t);
          ++d;
        }
        break;
      }
    }
  }
  return r;
}

// Where advanced indexing reads or writes: one base element offset per index combination and
// one offset per element of the remaining (non-indexed) dims.
struct Gather {
  Shape out_shape;                 // broadcast index shape followed by the remaining dims
  std::vector<int64_t> base;       // element offsets into src storage, one per index combination
  std::vector<int64_t> rest;       // element offsets of the remaining dims
  bool rest_contiguous = false;
  std::vector<int64_t> permutation;  // result dims -> numpy placement (empty: identity)
};

Gather plan_gather(const Tensor& src, const Advanced& adv) {
  Gather g;
  Shape bshape;
  for (const Tensor& t : adv.indices) bshape = broadcast_shapes(bshape, t.shape());
  int64_t nb = 1;
  for (int64_t s : bshape) nb *= s;
  bool adjacent = true;
  for (size_t i = 1; i < adv.dims.size(); ++i) adjacent = adjacent && adv.dims[i] == adv.dims[i - 1] + 1;

  Shape rest_shape, rest_strides;
  std::vector<bool> is_adv(src.dim(), false);
  for (int64_t d : adv.dims) is_adv[d] = true;
  for (int64_t d = 0; d < src.dim(); ++d)
    if (!is_adv[d]) {
      rest_shape.push_back(src.size(d));
      rest_strides.push_back(src.stride(d));
    }
  g.out_shape = bshape;
  g.out_shape.insert(g.out_shape.end(), rest_shape.begin(), rest_shape.end());

  g.base.assign(nb, src.offset());
  for (size_t k = 0; k < adv.indices.size(); ++k) {
    Tensor idx = adv.indices[k].expand(bshape).contiguous();
    const int64_t* p = idx.data<int64_t>();
    const int64_t size = src.size(adv.dims[k]), stride = src.stride(adv.dims[k]);
    for (int64_t b = 0; b < nb; ++b) {
      int64_t v = p[b];
      EMBER_CHECK(v >= -size && v < size, IndexError, "index ", v, " is out of bounds for dimension ", adv.dims[k],
                  " with size ", size);
      g.base[b] += (v < 0 ? v + size : v) * stride;
    }
  }
  int64_t nr = 1;
  for (int64_t s : rest_shape) nr *= s;
  g.rest.assign(nr, 0);
  Shape cst = contiguous_strides(rest_shape);
  for (int64_t r = 0; r < nr; ++r) {
    int64_t rem = r, off = 0;
    for (size_t d = 0; d < rest_shape.size(); ++d) {
      off += (rem / cst[d]) * rest_strides[d];
      rem %= cst[d];
    }
    g.rest[r] = off;
  }
  g.rest_contiguous = true;
  for (int64_t r = 0; r < nr; ++r) g.rest_contiguous = g.rest_contiguous && g.rest[r] == r;

  // numpy: adjacent advanced dims stay in place; otherwise the index dims go first.
  const int64_t first = adv.dims.front();
  if (adjacent && first > 0) {
    const int64_t nbd = static_cast<int64_t>(bshape.size());
    for (int64_t i = 0; i < first; ++i) g.permutation.push_back(nbd + i);
    for (int64_t i = 0; i < nbd; ++i) g.permutation.push_back(i);
    for (int64_t i = nbd + first; i < static_cast<int64_t>(g.out_shape.size()); ++i) g.permutation.push_back(i);
  }
  return g;
}

Tensor gather_raw(const Tensor& src, const Gather& g) {
  Tensor out = empty(g.out_shape, src.dtype());
  const int64_t nb = static_cast<int64_t>(g.base.size()), nr = static_cast<int64_t>(g.rest.size());
  const size_t isz = src.itemsize();
  const char* s = static_cast<const char*>(src.get()->storage->data);
  char* o = static_cast<char*>(out.raw_data());
  for (int64_t b = 0; b < nb; ++b) {
    if (g.rest_contiguous) {
      std::memcpy(o + b * nr * isz, s + g.base[b] * isz, nr * isz);
    } else {
      for (int64_t r = 0; r < nr; ++r) std::memcpy(o + (b * nr + r) * isz, s + (g.base[b] + g.rest[r]) * isz, isz);
    }
  }
  return out;
}

// dst[positions] (+)= values, where values has the gather's out_shape (contiguous).
void scatter_raw(const Tensor& dst, const Gather& g, const Tensor& values, bool accumulate) {
  const int64_t nb = static_cast<int64_t>(g.base.size()), nr = static_cast<int64_t>(g.rest.size());
  dispatch_all(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* d = static_cast<T*>(dst.get()->storage->data);
    const T* v = values.data<T>();
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t r = 0; r < nr; ++r) {
        T& x = d[g.base[b] + g.rest[r]];
        if constexpr (std::is_same_v<T, bool>)
          x = accumulate ? (x || v[b * nr + r]) : v[b * nr + r];
        else
          x = accumulate ? x + v[b * nr + r] : v[b * nr + r];
      }
  });
}

// `values` broadcast to the gathered shape, in numpy placement order -> gather order, contiguous.
Tensor to_gather_layout(const Tensor& values, const Gather& g, DType t) {
  Shape placed = g.out_shape;
  if (!g.permutation.empty())
    for (size_t i = 0; i < g.permutation.size(); ++i) placed[i] = g.out_shape[g.permutation[i]];
  Tensor v = ops::as_dtype(values, t).expand(placed);
  if (!g.permutation.empty()) {
    Shape inverse(g.permutation.size());
    for (size_t i = 0; i < g.permutation.size(); ++i) inverse[g.permutation[i]] = static_cast<int64_t>(i);
    v = v.permute(inverse);
  }
  return v.contiguous();
}

// Advanced-index gather with autograd; src is the basic-indexed view.
Tensor advanced_gather(const Tensor& src, const Advanced& adv) {
  Gather g = plan_gather(src, adv);
  Tensor out = gather_raw(src, g);
  if (!g.permutation.empty()) out = out.permute(g.permutation);
  Shape src_shape = src.shape();
  Shape src_strides = contiguous_strides(src_shape);
  Advanced adv_copy = adv;
  ops::record("IndexBackward", {&src}, {&out}, [adv_copy, src_shape](const Node&, TensorList& grads) {
    Tensor gin = zeros(src_shape, grads[0].dtype());
    Gather gg = plan_gather(gin, adv_copy);
    scatter_raw(gin, gg, to_gather_layout(grads[0], gg, gin.dtype()), true);
    return TensorList{gin};
  });
  return out;
}

}  // namespace

Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices) {
  EMBER_CHECK(self.defined(), ValueError, "index: undefined tensor");
  Advanced adv;
  Tensor basic = apply_basic(self, indices, adv);
  if (adv.indices.empty()) return basic;
  return advanced_gather(basic, adv);
}

void index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value) {
  EMBER_CHECK(self.defined() && value.defined(), ValueError, "index_put_: undefined tensor");
  autograd::check_inplace(self, "index_put_ (tensor[...] = value)");
  EMBER_CHECK(promote(self.dtype(), value.dtype()) == self.dtype() || is_floating(self.dtype()), TypeError,
              "index_put_: cannot assign a ", dtype_name(value.dtype()), " value to a ", dtype_name(self.dtype()),
              " tensor");
  Tensor v = value.get()->storage == self.get()->storage ? value.detach().clone() : value.detach();
  {
    autograd::NoGradGuard no_grad;
    Advanced adv;
    Tensor target = apply_basic(self.detach(), indices, adv);
    if (adv.indices.empty()) {
      ops::check_no_internal_overlap(target, "index_put_ (tensor[...] = value)");
      ops::copy_into(target, v);
    } else {
      Gather g = plan_gather(target, adv);
      scatter_raw(target, g, to_gather_layout(v, g, self.dtype()), false);
    }
  }
  self.bump_version();
  std::vector<TensorIndex> idx = indices;
  Shape vshape = value.shape();
  DType vdtype = value.dtype();
  ops::record_inplace("IndexPutBackward", self, {&value}, [idx, vshape, vdtype](const Node&, TensorList& g) {
    Tensor g_self = g[0].clone();
    index_put_(g_self, idx, zeros({}, g_self.dtype()));
    Tensor g_value = ops::reduce_grad(index(g[0], idx), vshape, vdtype);
    return TensorList{g_self, g_value};
  });
}

Tensor index_select(const Tensor& self, int64_t dim, const Tensor& index_tensor) {
  EMBER_CHECK(self.defined() && index_tensor.defined(), ValueError, "index_select: undefined tensor");
  EMBER_CHECK(index_tensor.dim() <= 1, IndexError, "index_select(): Index is supposed to be a vector, got shape ",
              index_tensor.shape());
  int64_t d = wrap_dim(dim, self.dim());
  std::vector<TensorIndex> idx(d, TensorIndex::Slice(std::nullopt, std::nullopt));
  idx.push_back(TensorIndex::Tensor(index_tensor.reshape({-1})));
  return index(self, idx);
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
  return where(mask, full({}, value, a.dtype()), a);
}

}  // namespace ember
