// Graph neural network ops over edge lists (PyTorch Geometric's conventions): edge_index is an
// int64 [2, E] tensor whose row 0 holds source nodes and row 1 target nodes, so messages flow
// source -> target and node i aggregates over its incoming edges. Reductions: "sum", "mean",
// "max" (empty groups give 0). All results are the same bits for any thread count.
#pragma once

#include <string>
#include <utility>

#include "ember/tensor.h"

namespace ember::functional {

// out[i] = reduce over e with index[e] == i of src[e]; src [E, ...], index int64 [E] with values
// in [0, dim_size); out [dim_size, ...]. dim_size < 0: max(index) + 1.
Tensor scatter(const Tensor& src, const Tensor& index, int64_t dim_size = -1, const std::string& reduce = "sum");
// {values, argmax}: argmax holds, per output element, the index e of the winning entry (the
// first one on ties; -1 for empty groups). The gradient flows to that entry only.
std::pair<Tensor, Tensor> scatter_max(const Tensor& src, const Tensor& index, int64_t dim_size = -1);

// Message passing without materialising the messages:
// out[i] = reduce over edges e with edge_index[1, e] == i of edge_weight[e] * x[edge_index[0, e]].
// x [N, ...]; edge_weight [E] or undefined (all 1); out has num_nodes rows (< 0: N).
// Gradients flow to x and to edge_weight.
Tensor propagate(const Tensor& x, const Tensor& edge_index, const Tensor& edge_weight = Tensor(),
                 int64_t num_nodes = -1, const std::string& reduce = "sum");

// GCN's symmetric normalisation (Kipf & Welling): with add_self_loops, every node gets one self
// loop (of weight fill_value, or the weight of the loop it already had); then
// norm[e] = deg(src)^-1/2 * w[e] * deg(dst)^-1/2 with deg the weighted in-degree (0 where the
// degree is 0). Returns {edge_index with the loops appended, norm}. edge_weight undefined: all
// ones of `dtype`. Differentiable with respect to edge_weight.
std::pair<Tensor, Tensor> gcn_norm(const Tensor& edge_index, const Tensor& edge_weight, int64_t num_nodes,
                                   bool add_self_loops = true, double fill_value = 1.0,
                                   DType dtype = DType::Float32);

// Graph-level readout for a batch of graphs: batch[n] is the graph of node n; out [size, ...]
// (size < 0: max(batch) + 1).
Tensor global_add_pool(const Tensor& x, const Tensor& batch, int64_t size = -1);
Tensor global_mean_pool(const Tensor& x, const Tensor& batch, int64_t size = -1);
Tensor global_max_pool(const Tensor& x, const Tensor& batch, int64_t size = -1);

}  // namespace ember::functional
