"""Graph classification on a generated set: tell apart random graphs from three generative
models with the same average degree (4) - Erdos-Renyi, Barabasi-Albert (preferential
attachment: a few hubs) and Watts-Strogatz (a rewired ring lattice: near-regular, clustered).
Nodes carry no features (a constant 1), so the network has to read the structure: GraphSAGE
layers with sum aggregation, then mean and max readouts per graph of a mini-batch.

    python examples/graph_classification.py [--graphs 600] [--epochs 30]

Typically reaches ~95% test accuracy in a few seconds.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
import ember.optim as optim

CLASSES = ("erdos-renyi", "barabasi-albert", "watts-strogatz")


def _undirected(edges, n):
    e = {(min(a, b), max(a, b)) for a, b in edges if a != b}
    return np.array(sorted(e), dtype=np.int64).reshape(-1, 2)


def erdos_renyi(n, rng, degree=4):
    p = degree / (n - 1)
    iu = np.triu_indices(n, 1)
    keep = rng.random(len(iu[0])) < p
    return _undirected(zip(iu[0][keep], iu[1][keep]), n)


def barabasi_albert(n, rng, m=2):
    edges, targets, repeated = [], list(range(m)), []
    for v in range(m, n):
        edges += [(v, t) for t in set(targets)]
        repeated += list(targets) + [v] * m
        targets = list(rng.choice(repeated, m))  # attach in proportion to the degree
    return _undirected(edges, n)


def watts_strogatz(n, rng, k=4, p=0.1):
    edges = []
    for v in range(n):
        for j in range(1, k // 2 + 1):
            w = (v + j) % n
            if rng.random() < p:
                w = int(rng.integers(n))
            edges.append((v, w))
    return _undirected(edges, n)


def make_dataset(count, rng):
    graphs, labels = [], []
    for i in range(count):
        c = i % 3
        n = int(rng.integers(16, 32))
        edges = (erdos_renyi, barabasi_albert, watts_strogatz)[c](n, rng)
        graphs.append((n, edges))
        labels.append(c)
    return graphs, np.array(labels, dtype=np.int64)


def collate(graphs):
    """One disconnected graph: (x [N, 1], edge_index [2, E] both directions, batch [N])."""
    edges, batch, offset = [], [], 0
    for g, (n, e) in enumerate(graphs):
        edges.append(e.T + offset)
        edges.append(e.T[::-1] + offset)
        batch.append(np.full(n, g, dtype=np.int64))
        offset += n
    x = np.ones((offset, 1), dtype=np.float32)
    return ember.tensor(x), ember.tensor(np.concatenate(edges, axis=1)), ember.tensor(np.concatenate(batch))


class GraphNet(nn.Module):
    def __init__(self, hidden=32, classes=3, layers=3):
        super().__init__()
        dims = [1] + [hidden] * layers
        self.convs = nn.ModuleList([nn.SAGEConv(a, b, aggr="sum") for a, b in zip(dims, dims[1:])])
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x, edge_index, batch, num_graphs):
        for conv in self.convs:
            x = F.relu(conv(x, edge_index))
        pooled = ember.cat([nn.global_mean_pool(x, batch, num_graphs), nn.global_max_pool(x, batch, num_graphs)], 1)
        return self.head(pooled)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, default=600)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    ember.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    graphs, labels = make_dataset(args.graphs, rng)
    order = rng.permutation(len(graphs))
    n_test = len(graphs) // 5
    test, train = order[:n_test], order[n_test:]

    model = GraphNet(args.hidden)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        model.train()
        perm = rng.permutation(train)
        total = 0.0
        for i in range(0, len(perm), args.batch_size):
            idx = perm[i:i + args.batch_size]
            x, ei, batch = collate([graphs[j] for j in idx])
            loss = F.cross_entropy(model(x, ei, batch, len(idx)), ember.tensor(labels[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 5 == 4:
            print(f"epoch {epoch + 1:3d}  train loss {total / len(train):.4f}")
    model.eval()
    with ember.no_grad():
        x, ei, batch = collate([graphs[j] for j in test])
        pred = model(x, ei, batch, len(test)).argmax(1).numpy()
    acc = float((pred == labels[test]).mean())
    print(f"test accuracy {acc:.4f} on {len(test)} graphs ({', '.join(CLASSES)})")
    return acc


if __name__ == "__main__":
    main(sys.argv[1:])
