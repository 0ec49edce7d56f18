"""nn.functional.linear, forward and forward + backward (dX, dW, db), ember vs torch, float32, on the
layer shapes of an MNIST MLP (784 -> 256 -> 128 -> 10) at batch 64 and 256, 1 and 2 threads.

    PYTHONPATH=python python3 benchmarks/bench_linear.py [--threads 1,2] [--repeats 7]

A step is `linear(x, W, b).backward(g)` with a fixed upstream gradient g and the three .grad
fields reset to None first, so both libraries do the same three GEMMs and one column sum and no
gradient accumulation. ember and torch are timed in alternating rounds (median of >= 5 each).
Ratios are torch time / ember time: > 1 means ember is faster.
"""
from __future__ import annotations

import numpy as np

import ember
import ember.nn.functional as EF
from _common import base_parser, print_environment, print_table, ratio, thread_counts, threads, time_interleaved, \
    try_import_torch

SHAPES = [(64, 784, 256), (64, 256, 128), (64, 128, 10), (256, 784, 256), (256, 256, 128), (256, 128, 10)]


def contenders(F, x, w, b, g):
    def step():
        x.grad = w.grad = b.grad = None
        F.linear(x, w, b).backward(g)

    return (lambda: F.linear(x, w, b)), step


def fmt_us(t):
    return "-" if t is None else f"{t * 1e6:.1f}"


def main():
    args = base_parser(__doc__).parse_args()
    torch = try_import_torch()
    print_environment()
    rng = np.random.default_rng(0)
    rows = []
    for nt in thread_counts(args.threads):
        with threads(nt):
            for m, k, n in SHAPES:
                xs = rng.standard_normal((m, k)).astype(np.float32)
                ws = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
                bs = rng.standard_normal(n).astype(np.float32)
                gs = rng.standard_normal((m, n)).astype(np.float32)
                ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (xs, ws, bs))
                e_fwd, e_step = contenders(EF, ex, ew, eb, ember.tensor(gs))
                fwd, step = {"ember": e_fwd}, {"ember": e_step}
                if torch:
                    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xs, ws, bs))
                    fwd["torch"], step["torch"] = contenders(torch.nn.functional, tx, tw, tb, torch.tensor(gs))
                tf = time_interleaved(fwd, repeats=args.repeats)
                ts = time_interleaved(step, repeats=args.repeats)
                rows.append([nt, f"{m}x{k}->{n}", fmt_us(tf["ember"]), fmt_us(tf.get("torch")),
                             ratio(tf.get("torch"), tf["ember"]), fmt_us(ts["ember"]), fmt_us(ts.get("torch")),
                             ratio(ts.get("torch"), ts["ember"])])
    print_table("linear, float32, us per call (ratio = torch / ember; > 1: ember faster)",
                ["threads", "batch x in -> out", "fwd ember", "fwd torch", "ratio", "f+b ember", "f+b torch",
                 "ratio"], rows)


if __name__ == "__main__":
    main()
