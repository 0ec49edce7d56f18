"""Semi-supervised node classification on Zachary's karate club (shipped with networkx): a
two-layer GCN sees the whole graph but the labels (which of the two clubs each member joined
after the split) of only two members per club, and predicts the club of all 34.

    python examples/karate_club_gcn.py [--epochs 200] [--labelled 2]

Typically reaches 90-100% accuracy on the unlabelled members in about a second.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
import ember.optim as optim


def load_karate():
    """(edge_index int64 [2, 2*78] both directions, labels int64 [34]: 0 = Mr. Hi, 1 = Officer)."""
    import networkx as nx

    g = nx.karate_club_graph()
    edges = np.array(list(g.edges()), dtype=np.int64).T
    edge_index = np.concatenate([edges, edges[::-1]], axis=1)  # undirected: both directions
    labels = np.array([0 if g.nodes[i]["club"] == "Mr. Hi" else 1 for i in range(g.number_of_nodes())])
    return edge_index, labels


class GCN(nn.Module):
    def __init__(self, in_channels, hidden, classes, dropout=0.5):
        super().__init__()
        self.conv1 = nn.GCNConv(in_channels, hidden)
        self.conv2 = nn.GCNConv(hidden, classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, edge_index):
        h = self.dropout(F.relu(self.conv1(x, edge_index)))
        return self.conv2(h, edge_index)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--labelled", type=int, default=2, help="labelled members per club")
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    ember.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    edge_index, labels = load_karate()
    n = len(labels)
    # the two leaders (0: Mr. Hi, 33: the officer) plus random members of each club
    train = [0, 33]
    for c in (0, 1):
        pool = [i for i in np.nonzero(labels == c)[0] if i not in (0, 33)]
        train += list(rng.choice(pool, args.labelled - 1, replace=False))
    test = np.array([i for i in range(n) if i not in train])
    x = ember.eye(n)  # no node features: each member is a one-hot identity
    ei, y = ember.tensor(edge_index), ember.tensor(labels)
    train_idx = ember.tensor(np.array(train, dtype=np.int64))

    model = GCN(n, args.hidden, 2)
    opt = optim.Adam(model.parameters(), lr=args.lr, weight_decay=5e-4)
    for epoch in range(args.epochs):
        model.train()
        loss = F.cross_entropy(model(x, ei)[train_idx], y[train_idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if epoch % 50 == 49:
            print(f"epoch {epoch + 1:3d}  loss {loss.item():.4f}")
    model.eval()
    with ember.no_grad():
        pred = model(x, ei).argmax(1).numpy()
    acc = float((pred[test] == labels[test]).mean())
    print(f"labelled members: {sorted(int(i) for i in train)}")
    print(f"accuracy on the {len(test)} unlabelled members: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main(sys.argv[1:])
