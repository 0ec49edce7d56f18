// Scatter / segment reductions over edge lists for graph neural networks, over raw arrays.
//
// An edge list of E entries is grouped by a target index with a stable counting sort (CSR:
// rowptr[n + 1], perm[E] = edge ids grouped by target, each group in edge order). Every output
// row is then reduced by one thread over its own edges in edge order, so results are the same
// bits for any thread count and there are no atomics.
//
// Feature rows are contiguous with F values each. "gather" maps an edge to the row of x it
// reads (the source node of a message); null means edge e reads row e (plain scatter).
#pragma once

#include <cstdint>

namespace ember::kernels {

enum class GraphReduce { Sum, Mean, Max };

// Fills rowptr (n + 1) and perm (E); index values must lie in [0, n) (checked by the caller).
void build_csr(int64_t E, const int64_t* index, int64_t n, int64_t* rowptr, int64_t* perm);

// out[i, :] = reduce over edges e of group i of w[e] * x[gather[e], :] (w null: 1). Empty groups
// give 0. Mean divides by the number of edges of the group. Max keeps NaN and, on ties, the
// first edge; arg[i, f] = the winning edge id (-1 for an empty group); arg may be null for
// Sum / Mean.
template <typename T>
void segment_reduce(int64_t n, int64_t F, const int64_t* rowptr, const int64_t* perm, const int64_t* gather,
                    const T* w, const T* x, GraphReduce reduce, T* out, int64_t* arg);

// Backward of a segment reduction towards the rows of x: for each row j of the result,
// out[j, :] = sum over edges e of group j (a CSR over the gather index) of
// w[e] * g[dst[e], :], counting feature f only where arg is null or arg[dst[e], f] == e.
template <typename T>
void segment_sum_masked(int64_t n, int64_t F, const int64_t* rowptr, const int64_t* perm, const int64_t* dst,
                        const T* w, const T* g, const int64_t* arg, T* out);

// Per-edge gradient of a plain scatter: out[e, :] = scale[e] * g[index[e], :] (scale null: 1),
// only where arg is null or arg[index[e], f] == e (else 0).
template <typename T>
void scatter_backward(int64_t E, int64_t F, const int64_t* index, const T* scale, const T* g, const int64_t* arg,
                      T* out);

// Gradient of the message weights: dw[e] = scale[e] * sum_f g[dst[e], f] * x[src[e], f] over
// the features f where arg is null or arg[dst[e], f] == e (scale null: 1).
template <typename T>
void edge_weight_backward(int64_t E, int64_t F, const int64_t* src, const int64_t* dst, const T* scale, const T* g,
                          const T* x, const int64_t* arg, T* dw);

}  // namespace ember::kernels
