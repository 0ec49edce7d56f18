"""Many-to-one sequence classification: each 8x8 handwritten digit (scikit-learn's digits, read
from the package's bundled CSV) is read as a sequence of 8 rows of 8 pixels by an LSTM, whose
last hidden state is classified into 10 digits.

    python examples/sequence_classification.py [--epochs 15] [--hidden 64] [--cell lstm|gru|rnn]
        [--onnx row_reader.onnx]

Typically reaches ~97% test accuracy in a few seconds.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
import ember.optim as optim


class RowReader(nn.Module):
    def __init__(self, cell="lstm", hidden=64, classes=10):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(8, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):  # x [N, 8 rows, 8 pixels]
        out, _ = self.rnn(x)
        return self.head(out[:, -1])  # many-to-one: the state after the last row

    def onnx_export(self, g, x, prefix):
        """forward() in ONNX, for ember.onnx.export: the exporter runs only Sequential containers by
        itself, and this model picks one time step out of the recurrent layer's (output, h_n)."""
        out, _ = g.emit(self.rnn, x, prefix + "rnn.")
        last = g.op("Gather", [out, g.const(np.array(-1, np.int64))], axis=1)  # out[:, -1]
        return g.emit(self.head, last, prefix + "head.")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--onnx", metavar="PATH", help="also export the trained model as ONNX (needs the onnx package)")
    args = ap.parse_args(argv)

    ember.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, y_test = ember.datasets.load_digits()
    x_train, x_test = x_train.reshape(-1, 8, 8), x_test.reshape(-1, 8, 8)
    model = RowReader(args.cell, args.hidden)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = F.cross_entropy(model(ember.tensor(x_train[idx])), ember.tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1:2d}  train loss {total / len(x_train):.4f}")
    model.eval()
    with ember.no_grad():
        pred = model(ember.tensor(x_test)).argmax(1).numpy()
    acc = float((pred == y_test).mean())
    print(f"test accuracy {acc:.4f} ({args.cell}, {time.perf_counter() - t0:.1f} s)")
    if args.onnx:  # input [batch, 8 rows, 8 pixels]; the batch is dynamic
        ember.onnx.export(model, ember.tensor(x_test[:1]), args.onnx)
        print(f"wrote {args.onnx}")
    return acc


if __name__ == "__main__":
    main(sys.argv[1:])
