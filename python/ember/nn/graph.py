"""Graph neural networks over edge lists (PyTorch Geometric's conventions: edge_index is an
int64 [2, E] tensor of (source, target) pairs; node i aggregates the messages of its incoming
edges). Aggregation, message passing, GCN normalisation and readouts run in C++
(ember._C._graph); the layers here only hold weights.

- scatter(src, index, dim_size=None, reduce="sum"|"mean"|"max"), scatter_max -> (values, argmax)
- propagate(x, edge_index, edge_weight=None, num_nodes=None, reduce="sum"): aggregated messages
- gcn_norm(edge_index, edge_weight=None, num_nodes=None, add_self_loops=True, ...)
- GCNConv, SAGEConv; global_add_pool / global_mean_pool / global_max_pool(x, batch, size=None)
"""
from __future__ import annotations

import math

from .. import _C
from . import functional as F
from . import init
from .layers import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["scatter", "scatter_max", "propagate", "gcn_norm", "global_add_pool", "global_mean_pool",
           "global_max_pool", "GCNConv", "SAGEConv"]

_graph = _C._graph


def _n(v):
    return -1 if v is None else v


def scatter(src, index, dim_size=None, reduce="sum"):
    """out[i] = reduce of src[e] over the e with index[e] == i (dim 0); empty groups give 0."""
    return _graph.scatter(src, index, _n(dim_size), reduce)


def scatter_max(src, index, dim_size=None):
    """(values, argmax); argmax is the winning position along dim 0 (-1 for empty groups)."""
    return _graph.scatter_max(src, index, _n(dim_size))


def propagate(x, edge_index, edge_weight=None, num_nodes=None, reduce="sum"):
    """out[i] = reduce over edges (j -> i) of edge_weight[e] * x[j], without materialising messages."""
    return _graph.propagate(x, edge_index, edge_weight, _n(num_nodes), reduce)


def gcn_norm(edge_index, edge_weight=None, num_nodes=None, add_self_loops=True, improved=False, dtype=None):
    """(edge_index with self-loops, D^-1/2 (A + I) D^-1/2 edge weights); improved: loops weigh 2."""
    if num_nodes is None:
        num_nodes = int(edge_index.max().item()) + 1 if edge_index.numel() else 0
    return _graph.gcn_norm(edge_index, edge_weight, num_nodes, add_self_loops, 2.0 if improved else 1.0,
                           dtype or _C.dtype.float32)


def global_add_pool(x, batch, size=None):
    return _graph.global_add_pool(x, batch, _n(size))


def global_mean_pool(x, batch, size=None):
    return _graph.global_mean_pool(x, batch, _n(size))


def global_max_pool(x, batch, size=None):
    return _graph.global_max_pool(x, batch, _n(size))


class _Lin(Module):
    """The weight (and bias) of a dense map x Wᵀ + b, under PyG's names (lin.weight, lin_l.bias);
    torch.nn.Linear's default initialisation."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        dt = _dtype(device, dtype)
        self.weight = Parameter(_C.empty((out_features, in_features), dt))
        if bias:
            self.bias = Parameter(_C.empty((out_features,), dt))
        else:
            self.register_parameter("bias", None)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            bound = 1 / math.sqrt(in_features) if in_features else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class GCNConv(Module):
    """Kipf & Welling's graph convolution: D^-1/2 (A + I) D^-1/2 X Wᵀ + b (PyG's parameter names:
    lin.weight, bias; glorot weights, zero bias)."""

    def __init__(self, in_channels, out_channels, improved=False, add_self_loops=True, normalize=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.improved, self.add_self_loops, self.normalize = improved, add_self_loops, normalize
        self.lin = _Lin(in_channels, out_channels, bias=False, device=device, dtype=dtype)
        if bias:
            self.bias = Parameter(_C.zeros((out_channels,), _dtype(device, dtype)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.xavier_uniform_(self.lin.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x, edge_index, edge_weight=None):
        n = x.shape[0]
        h = self.lin(x)
        if self.normalize:
            edge_index, edge_weight = _graph.gcn_norm(edge_index, edge_weight, n, self.add_self_loops,
                                                      2.0 if self.improved else 1.0, x.dtype)
        out = _graph.propagate(h, edge_index, edge_weight, n, "sum")
        return out + self.bias if self.bias is not None else out

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}"


class SAGEConv(Module):
    """GraphSAGE: lin_l(aggr_{j -> i} x_j) + lin_r(x_i) (PyG's names; lin_l carries the bias),
    aggr "mean" (default), "sum" or "max"; normalize scales each output row to unit L2 norm."""

    def __init__(self, in_channels, out_channels, aggr="mean", normalize=False, root_weight=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if aggr not in ("mean", "sum", "add", "max"):
            raise ValueError(f"aggr must be 'mean', 'sum' or 'max', got {aggr!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.aggr, self.normalize, self.root_weight = aggr, normalize, root_weight
        self.lin_l = _Lin(in_channels, out_channels, bias=bias, device=device, dtype=dtype)
        if root_weight:
            self.lin_r = _Lin(in_channels, out_channels, bias=False, device=device, dtype=dtype)

    def forward(self, x, edge_index):
        agg = _graph.propagate(x, edge_index, None, x.shape[0], self.aggr)
        out = self.lin_l(agg)
        if self.root_weight:
            out = out + self.lin_r(x)
        if self.normalize:
            norm = (out * out).sum(-1, keepdim=True).sqrt()
            out = out / _C.maximum(norm, _C.full((), 1e-12, out.dtype))
        return out

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}"
