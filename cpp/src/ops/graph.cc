// Graph ops: argument checks, then the segment kernels of kernels/cpu/graph.h for scatter and
// message passing with their backward nodes; GCN normalisation and readouts are compositions.
#include "ember/graph.h"

#include <algorithm>

#include "ember/ops.h"
#include "kernels/cpu/graph.h"
#include "ops/record.h"

namespace ember::functional {

using autograd::Node;
using kernels::GraphReduce;
using ops::SavedTensor;
using ops::TensorList;

namespace {

GraphReduce parse_reduce(const std::string& r, const char* op) {
  if (r == "sum" || r == "add") return GraphReduce::Sum;
  if (r == "mean") return GraphReduce::Mean;
  if (r == "max" || r == "amax") return GraphReduce::Max;
  throw ValueError(str(op, ": reduce must be 'sum', 'mean' or 'max', got '", r, "'"));
}

// Checks an int64 index vector's values lie in [0, n); returns it contiguous.
Tensor check_index(const Tensor& index, int64_t n, const char* op, const char* what) {
  Tensor idx = index.contiguous();
  const int64_t* p = idx.data<int64_t>();
  for (int64_t e = 0; e < idx.numel(); ++e)
    EMBER_CHECK(p[e] >= 0 && p[e] < n, IndexError, op, ": ", what, " holds ", p[e], " at position ", e,
                ", outside [0, ", n, ")");
  return idx;
}

int64_t max_plus_one(const Tensor& index) {
  Tensor idx = index.contiguous();
  const int64_t* p = idx.data<int64_t>();
  int64_t m = -1;
  for (int64_t e = 0; e < idx.numel(); ++e) m = std::max(m, p[e]);
  return m + 1;
}

// Features per row: the product of the dims after the first.
int64_t row_width(const Tensor& t) {
  int64_t f = 1;
  for (int64_t d = 1; d < t.dim(); ++d) f *= t.size(d);
  return f;
}

struct Csr {
  Tensor rowptr, perm;
};

Csr make_csr(const Tensor& index, int64_t n) {
  Csr c{empty({n + 1}, DType::Int64), empty({index.numel()}, DType::Int64)};
  kernels::build_csr(index.numel(), index.data<int64_t>(), n, c.rowptr.data<int64_t>(), c.perm.data<int64_t>());
  return c;
}

// 1 / (size of the group of edge e), for the mean's backward.
template <typename T>
Tensor inverse_group_sizes(const Csr& c, const Tensor& index) {
  const int64_t E = index.numel();
  Tensor s = empty({E}, dtype_of<T>::value);
  const int64_t* rp = c.rowptr.data<int64_t>();
  const int64_t* ix = index.data<int64_t>();
  T* o = s.data<T>();
  for (int64_t e = 0; e < E; ++e) o[e] = T(1) / T(rp[ix[e] + 1] - rp[ix[e]]);
  return s;
}

void check_src(const Tensor& src, const char* op) {
  EMBER_CHECK(src.defined(), ValueError, op, ": src must be a tensor");
  EMBER_CHECK(is_floating(src.dtype()), TypeError, op, ": expected a floating-point tensor, got ",
              dtype_name(src.dtype()));
  EMBER_CHECK(src.dim() >= 1, ValueError, op, ": expected at least 1 dimension, got a 0-d tensor");
}

std::pair<Tensor, Tensor> scatter_impl(const Tensor& src, const Tensor& index_in, int64_t dim_size,
                                       GraphReduce reduce, const char* op) {
  check_src(src, op);
  EMBER_CHECK(index_in.defined() && index_in.dtype() == DType::Int64, TypeError, op,
              ": index must be an int64 tensor");
  EMBER_CHECK(index_in.dim() == 1 && index_in.size(0) == src.size(0), ValueError, op,
              ": expected index of shape [", src.size(0), "] for src of shape ", src.shape(), ", got ",
              index_in.shape());
  if (dim_size < 0) dim_size = max_plus_one(index_in);
  const Tensor index = check_index(index_in, dim_size, op, "index");
  const int64_t E = src.size(0), F = row_width(src);
  Tensor x = src.contiguous();
  Shape out_shape = src.shape();
  out_shape[0] = dim_size;
  Tensor out = empty(out_shape, src.dtype());
  Tensor arg = reduce == GraphReduce::Max ? empty(out_shape, DType::Int64) : Tensor();
  const Csr csr = make_csr(index, dim_size);
  dispatch_floating(src.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::segment_reduce<T>(dim_size, F, csr.rowptr.data<int64_t>(), csr.perm.data<int64_t>(), nullptr, nullptr,
                               x.data<T>(), reduce, out.data<T>(), arg.defined() ? arg.data<int64_t>() : nullptr);
  });
  const Shape src_shape = src.shape();
  ops::record(op, {&src}, {&out}, [=](const Node&, TensorList& g) {
    Tensor go = g[0].contiguous();
    Tensor r = empty(src_shape, go.dtype());
    dispatch_floating(go.dtype(), "scatter backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor scale = reduce == GraphReduce::Mean ? inverse_group_sizes<T>(csr, index) : Tensor();
      kernels::scatter_backward<T>(E, F, index.data<int64_t>(), scale.defined() ? scale.data<T>() : nullptr,
                                   go.data<T>(), arg.defined() ? arg.data<int64_t>() : nullptr, r.data<T>());
    });
    return TensorList{r};
  });
  return {out, arg};
}

}  // namespace

Tensor scatter(const Tensor& src, const Tensor& index, int64_t dim_size, const std::string& reduce) {
  return scatter_impl(src, index, dim_size, parse_reduce(reduce, "scatter"), "scatter").first;
}

std::pair<Tensor, Tensor> scatter_max(const Tensor& src, const Tensor& index, int64_t dim_size) {
  return scatter_impl(src, index, dim_size, GraphReduce::Max, "scatter_max");
}

Tensor propagate(const Tensor& x_in, const Tensor& edge_index, const Tensor& edge_weight, int64_t num_nodes,
                 const std::string& reduce_name) {
  const char* op = "propagate";
  const GraphReduce reduce = parse_reduce(reduce_name, op);
  check_src(x_in, op);
  EMBER_CHECK(edge_index.defined() && edge_index.dtype() == DType::Int64, TypeError, op,
              ": edge_index must be an int64 tensor");
  EMBER_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2, ValueError, op,
              ": expected edge_index of shape [2, E], got ", edge_index.shape());
  const int64_t N = x_in.size(0), E = edge_index.size(1), F = row_width(x_in);
  if (num_nodes < 0) num_nodes = N;
  const Tensor src = check_index(edge_index.select(0, 0), N, op, "edge_index[0] (source nodes)");
  const Tensor dst = check_index(edge_index.select(0, 1), num_nodes, op, "edge_index[1] (target nodes)");
  if (edge_weight.defined()) {
    EMBER_CHECK(edge_weight.dtype() == x_in.dtype(), TypeError, op, ": edge_weight has dtype ",
                dtype_name(edge_weight.dtype()), " but x has dtype ", dtype_name(x_in.dtype()));
    EMBER_CHECK(edge_weight.dim() == 1 && edge_weight.size(0) == E, ValueError, op,
                ": expected edge_weight of shape [", E, "], got ", edge_weight.shape());
  }
  Tensor x = x_in.contiguous(), w = edge_weight.defined() ? edge_weight.contiguous() : Tensor();
  Shape out_shape = x_in.shape();
  out_shape[0] = num_nodes;
  Tensor out = empty(out_shape, x.dtype());
  Tensor arg = reduce == GraphReduce::Max ? empty(out_shape, DType::Int64) : Tensor();
  const Csr by_dst = make_csr(dst, num_nodes);
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::segment_reduce<T>(num_nodes, F, by_dst.rowptr.data<int64_t>(), by_dst.perm.data<int64_t>(),
                               src.data<int64_t>(), w.defined() ? w.data<T>() : nullptr, x.data<T>(), reduce,
                               out.data<T>(), arg.defined() ? arg.data<int64_t>() : nullptr);
  });
  if (!autograd::any_requires_grad({&x_in, &edge_weight})) return out;
  const bool need_x = x_in.requires_grad(), need_w = edge_weight.defined() && edge_weight.requires_grad();
  SavedTensor sx(need_w ? x : Tensor()), sw(need_x ? w : Tensor());
  const Shape x_shape = x_in.shape();
  ops::record(reduce == GraphReduce::Max ? "PropagateMaxBackward" : "PropagateBackward", {&x_in, &edge_weight},
              {&out}, [=](const Node& n, TensorList& g) {
    Tensor go = g[0].contiguous();
    TensorList r(2);
    dispatch_floating(go.dtype(), "propagate backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const int64_t* a = arg.defined() ? arg.data<int64_t>() : nullptr;
      Tensor scale = reduce == GraphReduce::Mean ? inverse_group_sizes<T>(by_dst, dst) : Tensor();
      if (need_x) {
        // per-edge coefficient of the message: weight (and 1 / in-degree for the mean)
        Tensor wu = sw.unpack(&n);
        Tensor coef;
        if (scale.defined() && wu.defined()) coef = mul(scale, wu);
        else coef = scale.defined() ? scale : wu;
        const Csr by_src = make_csr(src, N);
        r[0] = empty(x_shape, go.dtype());
        kernels::segment_sum_masked<T>(N, F, by_src.rowptr.data<int64_t>(), by_src.perm.data<int64_t>(),
                                       dst.data<int64_t>(), coef.defined() ? coef.data<T>() : nullptr, go.data<T>(),
                                       a, r[0].data<T>());
      }
      if (need_w) {
        Tensor xs = sx.unpack(&n);
        r[1] = empty({E}, go.dtype());
        kernels::edge_weight_backward<T>(E, F, src.data<int64_t>(), dst.data<int64_t>(),
                                         scale.defined() ? scale.data<T>() : nullptr, go.data<T>(), xs.data<T>(), a,
                                         r[1].data<T>());
      }
    });
    return r;
  });
  return out;
}

std::pair<Tensor, Tensor> gcn_norm(const Tensor& edge_index, const Tensor& edge_weight, int64_t num_nodes,
                                   bool add_self_loops, double fill_value, DType dtype) {
  const char* op = "gcn_norm";
  EMBER_CHECK(edge_index.defined() && edge_index.dtype() == DType::Int64, TypeError, op,
              ": edge_index must be an int64 tensor");
  EMBER_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2, ValueError, op,
              ": expected edge_index of shape [2, E], got ", edge_index.shape());
  EMBER_CHECK(num_nodes >= 0, ValueError, op, ": num_nodes must be non-negative, got ", num_nodes);
  const int64_t E = edge_index.size(1);
  if (edge_weight.defined()) {
    EMBER_CHECK(is_floating(edge_weight.dtype()), TypeError, op, ": edge_weight must be floating point");
    EMBER_CHECK(edge_weight.dim() == 1 && edge_weight.size(0) == E, ValueError, op,
                ": expected edge_weight of shape [", E, "], got ", edge_weight.shape());
    dtype = edge_weight.dtype();
  }
  EMBER_CHECK(is_floating(dtype), TypeError, op, ": dtype must be floating point");
  Tensor src = check_index(edge_index.select(0, 0), num_nodes, op, "edge_index[0]");
  Tensor dst = check_index(edge_index.select(0, 1), num_nodes, op, "edge_index[1]");
  Tensor w = edge_weight.defined() ? edge_weight : ones({E}, dtype);
  if (add_self_loops) {
    // Drop the existing loops, then give every node one loop carrying the weight of the loop it
    // had (summed if several) or fill_value.
    Tensor is_loop = compare(src, dst, CompareOp::Eq);
    Tensor keep = nonzero(logical_not(is_loop)).reshape({-1});
    Tensor loop_w = scatter(mul(w, is_loop.to(dtype)), src, num_nodes, "sum");
    Tensor had = scatter(is_loop.to(dtype), src, num_nodes, "sum");
    loop_w = where(compare(had, zeros({}, dtype), CompareOp::Gt), loop_w, full({}, fill_value, dtype));
    Tensor nodes = arange(0, double(num_nodes), 1.0, DType::Int64);
    src = cat({index_select(src, 0, keep), nodes});
    dst = cat({index_select(dst, 0, keep), nodes});
    w = cat({index_select(w, 0, keep), loop_w});
  }
  Tensor deg = scatter(w, dst, num_nodes, "sum");
  Tensor pos = compare(deg, zeros({}, dtype), CompareOp::Gt);
  // pow on a safe value where deg <= 0, so the unused branch has a finite gradient
  Tensor dinv = where(pos, pow(where(pos, deg, ones({}, dtype)), -0.5), zeros({}, dtype));
  Tensor norm = mul(mul(index_select(dinv, 0, src), w), index_select(dinv, 0, dst));
  return {stack({src, dst}, 0), norm};
}

Tensor global_add_pool(const Tensor& x, const Tensor& batch, int64_t size) { return scatter(x, batch, size, "sum"); }

Tensor global_mean_pool(const Tensor& x, const Tensor& batch, int64_t size) {
  return scatter(x, batch, size, "mean");
}

Tensor global_max_pool(const Tensor& x, const Tensor& batch, int64_t size) {
  return scatter_max(x, batch, size).first;
}

}  // namespace ember::functional
