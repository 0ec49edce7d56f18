"""Graph ops: scatter / message passing (sum, mean, max) and their gradients against dense-matrix
references, GCNConv and SAGEConv against their dense formulas, readouts, gradcheck in float64,
torch.scatter_reduce where torch is installed, argument errors, thread-count determinism."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.autograd import gradcheck
from ember.nn import graph as G
from conftest import load_example


def T(a, grad=False):
    return ember.tensor(np.asarray(a), requires_grad=grad)


def npy(t):
    return t.detach().numpy()


def random_graph(rng, n, e, loops=False):
    src = rng.integers(0, n, e)
    dst = rng.integers(0, n, e)
    if not loops:
        dst = np.where(src == dst, (dst + 1) % n, dst)
    return np.stack([src, dst]).astype(np.int64)


def dense_reduce(x, src, dst, w, n_out, reduce):
    """Reference: out[i] = reduce over edges (src -> i) of w * x[src], by explicit loops."""
    F = x.shape[1:]
    out = np.zeros((n_out,) + F)
    groups = [[] for _ in range(n_out)]
    for e, (s, d) in enumerate(zip(src, dst)):
        groups[d].append(w[e] * x[s])
    for i, g in enumerate(groups):
        if g:
            out[i] = {"sum": np.sum, "mean": np.mean, "max": np.max}[reduce](np.stack(g), axis=0)
    return out


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@pytest.mark.parametrize("trial", range(3))
def test_scatter_matches_reference(reduce, trial):
    rng = np.random.default_rng(trial)
    E, n = int(rng.integers(1, 40)), int(rng.integers(1, 12))
    src = rng.standard_normal((E, 3, 2))
    index = rng.integers(0, n, E)
    out = G.scatter(T(src), T(index), n + 2, reduce)  # two extra, empty groups
    ref = dense_reduce(src, np.arange(E), index, np.ones(E), n + 2, reduce)
    np.testing.assert_allclose(npy(out), ref, rtol=1e-12, atol=1e-12)
    assert tuple(out.shape) == (n + 2, 3, 2)
    # dim_size defaults to max(index) + 1
    assert G.scatter(T(src), T(index), reduce=reduce).shape[0] == index.max() + 1


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_scatter_gradient(reduce, rng):
    E, n, F = 30, 7, 4
    src = rng.standard_normal((E, F))
    index = rng.integers(0, n, E)
    g = rng.standard_normal((n, F))
    s = T(src, True)
    (G.scatter(s, T(index), n, reduce) * T(g)).sum().backward()
    counts = np.bincount(index, minlength=n)
    if reduce == "sum":
        ref = g[index]
    elif reduce == "mean":
        ref = g[index] / counts[index][:, None]
    else:
        ref = np.zeros_like(src)
        for i in range(n):
            members = np.nonzero(index == i)[0]
            if len(members):
                for f in range(F):
                    ref[members[np.argmax(src[members, f])], f] = g[i, f]
    np.testing.assert_allclose(npy(s.grad), ref, rtol=1e-12, atol=1e-12)


def test_scatter_max_argmax_ties_empty_and_nan():
    src = T(np.array([[1.0], [3.0], [3.0], [np.nan], [2.0]]))
    index = T(np.array([0, 0, 0, 2, 2]))
    vals, arg = G.scatter_max(src, index, 4)
    v = npy(vals)[:, 0]
    assert v[0] == 3.0 and v[1] == 0.0 and np.isnan(v[2]) and v[3] == 0.0
    assert npy(arg)[:, 0].tolist() == [1, -1, 3, -1]  # first of the tie, -1 for empty groups


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@pytest.mark.parametrize("weighted", [False, True])
def test_propagate_matches_dense(reduce, weighted, rng):
    n, E, F = 9, 25, 5
    ei = random_graph(rng, n, E)
    x = rng.standard_normal((n, F))
    w = rng.uniform(0.5, 2.0, E) if weighted else np.ones(E)
    xt, wt = T(x, True), (T(w, True) if weighted else None)
    out = G.propagate(xt, T(ei), wt, reduce=reduce)
    ref = dense_reduce(x, ei[0], ei[1], w, n, reduce)
    np.testing.assert_allclose(npy(out), ref, rtol=1e-12, atol=1e-12)
    if reduce == "sum":  # the dense adjacency form: out = A X, A[i, j] = sum of w over edges j -> i
        A = np.zeros((n, n))
        np.add.at(A, (ei[1], ei[0]), w)
        np.testing.assert_allclose(npy(out), A @ x, rtol=1e-12, atol=1e-12)
        g = rng.standard_normal((n, F))
        (out * T(g)).sum().backward()
        np.testing.assert_allclose(npy(xt.grad), A.T @ g, rtol=1e-12, atol=1e-12)
        if weighted:
            np.testing.assert_allclose(npy(wt.grad), np.einsum("ef,ef->e", g[ei[1]], x[ei[0]]), rtol=1e-12)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_gradcheck_propagate_and_scatter(reduce, rng):
    n, E = 5, 9
    ei = T(random_graph(rng, n, E))
    x = ember.tensor(rng.standard_normal((n, 3)), requires_grad=True)
    w = ember.tensor(rng.uniform(0.5, 2.0, E), requires_grad=True)
    assert gradcheck(lambda x, w: G.propagate(x, ei, w, reduce=reduce), (x, w))
    src = ember.tensor(rng.standard_normal((E, 2)), requires_grad=True)
    index = T(rng.integers(0, 4, E))
    assert gradcheck(lambda s: G.scatter(s, index, 5, reduce), (src,))


def dense_gcn(x, ei, n, w=None):
    A = np.zeros((n, n))
    w = np.ones(ei.shape[1]) if w is None else w
    for e, (s, d) in enumerate(ei.T):
        if s != d:
            A[d, s] += w[e]
    loops = np.ones(n)
    for e, (s, d) in enumerate(ei.T):
        if s == d:
            loops[s] = 0
    for e, (s, d) in enumerate(ei.T):
        if s == d:
            loops[s] += w[e]
    A += np.diag(loops)
    deg = A.sum(1)
    dinv = np.where(deg > 0, deg ** -0.5, 0)
    return dinv[:, None] * A * dinv[None, :]


@pytest.mark.parametrize("with_loops", [False, True])
def test_gcnconv_matches_dense_formula(with_loops, rng):
    n, E = 8, 20
    ei = random_graph(rng, n, E, loops=with_loops)
    if with_loops:
        ei[:, :2] = [[3, 5], [3, 5]]  # two existing self loops keep their weight
    x = rng.standard_normal((n, 4)).astype(np.float32)
    conv = nn.GCNConv(4, 6)
    with ember.no_grad():
        conv.bias.copy_(ember.randn(6))
    out = conv(T(x), T(ei))
    An = dense_gcn(x, ei, n)
    ref = An @ x @ npy(conv.lin.weight).T + npy(conv.bias)
    np.testing.assert_allclose(npy(out), ref, rtol=1e-5, atol=1e-5)
    # normalized adjacency itself
    ei2, norm = G.gcn_norm(T(ei), num_nodes=n)
    dense = np.zeros((n, n))
    np.add.at(dense, (npy(ei2)[1], npy(ei2)[0]), npy(norm))
    np.testing.assert_allclose(dense, An, rtol=1e-6, atol=1e-7)
    # gradients of weight and bias
    g = rng.standard_normal((n, 6)).astype(np.float32)
    (out * T(g)).sum().backward()
    np.testing.assert_allclose(npy(conv.lin.weight.grad), g.T @ (An @ x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(conv.bias.grad), g.sum(0), rtol=1e-5, atol=1e-5)


def test_gcn_weighted_and_gradcheck(rng):
    n, E = 6, 10
    ei = random_graph(rng, n, E)
    w = rng.uniform(0.5, 2.0, E)
    ei2, norm = G.gcn_norm(T(ei), T(w), n)
    dense = np.zeros((n, n))
    np.add.at(dense, (npy(ei2)[1], npy(ei2)[0]), npy(norm))
    np.testing.assert_allclose(dense, dense_gcn(None, ei, n, w), rtol=1e-12, atol=1e-12)
    wt = ember.tensor(w, requires_grad=True)
    assert gradcheck(lambda w: G.gcn_norm(T(ei), w, n)[1], (wt,))
    conv = nn.GCNConv(3, 2, dtype=ember.float64)
    x = ember.tensor(rng.standard_normal((n, 3)), requires_grad=True)
    assert gradcheck(lambda x, w: conv(x, T(ei), w), (x, wt))


@pytest.mark.parametrize("aggr", ["mean", "sum", "max"])
def test_sageconv_matches_dense(aggr, rng):
    n, E = 7, 18
    ei = random_graph(rng, n, E)
    x = rng.standard_normal((n, 3))
    conv = nn.SAGEConv(3, 5, aggr=aggr, dtype=ember.float64)
    out = conv(T(x), T(ei))
    agg = dense_reduce(x, ei[0], ei[1], np.ones(E), n, aggr)
    ref = agg @ npy(conv.lin_l.weight).T + npy(conv.lin_l.bias) + x @ npy(conv.lin_r.weight).T
    np.testing.assert_allclose(npy(out), ref, rtol=1e-12, atol=1e-12)
    xt = ember.tensor(x, requires_grad=True)
    assert gradcheck(lambda x: conv(x, T(ei)), (xt,))
    normed = nn.SAGEConv(3, 5, normalize=True)(T(x.astype(np.float32)), T(ei))
    np.testing.assert_allclose(np.linalg.norm(npy(normed), axis=1), 1.0, rtol=1e-5)


def test_global_pools(rng):
    x = rng.standard_normal((10, 3))
    batch = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    for fn, red in ((G.global_add_pool, np.sum), (G.global_mean_pool, np.mean), (G.global_max_pool, np.max)):
        out = fn(T(x), T(batch))
        ref = np.stack([red(x[batch == b], axis=0) for b in range(3)])
        np.testing.assert_allclose(npy(out), ref, rtol=1e-12)
        assert tuple(fn(T(x), T(batch), size=5).shape) == (5, 3)
    xt = ember.tensor(x, requires_grad=True)
    for fn in (G.global_add_pool, G.global_mean_pool, G.global_max_pool):
        assert gradcheck(lambda x: fn(x, T(batch)), (xt,))


def test_scatter_matches_torch(torch, rng):
    E, n, F = 50, 8, 3
    src = rng.standard_normal((E, F))
    index = rng.integers(0, n, E)
    for red, tred in (("sum", "sum"), ("mean", "mean"), ("max", "amax")):
        ts = torch.tensor(src, requires_grad=True)
        es = ember.tensor(src, requires_grad=True)
        tidx = torch.tensor(index)[:, None].expand(E, F)
        tout = torch.zeros(n, F, dtype=torch.float64).scatter_reduce(0, tidx, ts, tred, include_self=False)
        eout = G.scatter(es, T(index), n, red)
        np.testing.assert_allclose(npy(eout), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
        g = rng.standard_normal((n, F))
        (tout * torch.tensor(g)).sum().backward()
        (eout * T(g)).sum().backward()
        np.testing.assert_allclose(npy(es.grad), ts.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_errors():
    x = ember.randn(4, 2)
    with pytest.raises(IndexError):
        G.propagate(x, T(np.array([[0, 5], [1, 2]])))
    with pytest.raises(IndexError):
        G.scatter(x, T(np.array([0, 1, -1, 2])), 3)
    with pytest.raises(ValueError):
        G.scatter(x, T(np.array([0, 1])), 3)
    with pytest.raises(ValueError, match="reduce"):
        G.scatter(x, T(np.array([0, 1, 1, 2])), 3, "median")
    with pytest.raises(TypeError):
        G.scatter(x, T(np.array([0.0, 1, 1, 2])), 3)
    with pytest.raises(ValueError):
        G.propagate(x, T(np.array([0, 1, 2])))
    with pytest.raises(TypeError):
        G.propagate(x, T(np.array([[0, 1], [1, 2]])), ember.ones(2, dtype=ember.float64))
    with pytest.raises(ValueError):
        nn.SAGEConv(2, 2, aggr="median")


def test_same_bits_for_any_thread_count(rng):
    n, E, F = 500, 20000, 16
    ei = T(random_graph(rng, n, E))
    x_np = rng.standard_normal((n, F)).astype(np.float32)
    w_np = rng.uniform(0.1, 1.0, E).astype(np.float32)
    before = ember.get_num_threads()
    res = []
    try:
        for nt in (1, 2):
            ember.set_num_threads(nt)
            x, w = ember.tensor(x_np, requires_grad=True), ember.tensor(w_np, requires_grad=True)
            outs = [G.propagate(x, ei, w, reduce=r) for r in ("sum", "mean", "max")]
            sum(o.sum() for o in outs).backward()
            res.append([npy(o) for o in outs] + [npy(x.grad), npy(w.grad)])
    finally:
        ember.set_num_threads(before)
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


# ---- examples (small settings) -------------------------------------------------------------------

def test_example_karate_club(capsys):
    pytest.importorskip("networkx")
    acc = load_example("karate_club_gcn").main(["--epochs", "100"])
    assert acc >= 0.8, capsys.readouterr().out


def test_example_graph_classification(capsys):
    acc = load_example("graph_classification").main(["--graphs", "240", "--epochs", "12"])
    assert acc >= 0.75, capsys.readouterr().out
