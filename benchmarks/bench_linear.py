"""nn.functional.linear forward + backward (dX, dW, db), ember vs torch, on the layer shapes of
an MNIST MLP (784 -> 256 -> 128 -> 10) at batch 64 and 256, with 1 and 2 threads.

    PYTHONPATH=python python benchmarks/bench_linear.py [--repeats 7]

Each timing is the median of `repeats` runs of `number` calls; ratio = ember / torch (lower is
better). The gradient of the output is fixed and grads are reset to None each step, so both
libraries do the same three GEMMs and one column sum per step, nothing else.
"""
from __future__ import annotations

import argparse

import numpy as np

from _util import median_time, print_table, try_import_torch

SHAPES = [(64, 784, 256), (64, 256, 128), (64, 128, 10), (256, 784, 256), (256, 256, 128), (256, 128, 10)]


def step_fn(F, x, w, b, gy):
    def step():
        w.grad = None
        b.grad = None
        x.grad = None
        F.linear(x, w, b).backward(gy)

    return step


def forward_fn(F, x, w, b):
    return lambda: F.linear(x, w, b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    import ember
    import ember.nn.functional as EF

    torch = try_import_torch()
    rng = np.random.default_rng(0)
    rows = []
    for threads in (1, 2):
        ember.set_num_threads(threads)
        if torch:
            torch.set_num_threads(threads)
        for (m, k, n) in SHAPES:
            xs = rng.standard_normal((m, k)).astype(np.float32)
            ws = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
            bs = rng.standard_normal(n).astype(np.float32)
            gs = rng.standard_normal((m, n)).astype(np.float32)
            ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (xs, ws, bs))
            eg = ember.tensor(gs)
            flops = 2 * m * k * n
            number = max(1, int(2e8 // (3 * flops)))
            te_f = median_time(forward_fn(EF, ex, ew, eb), repeats=args.repeats, number=number)
            te = median_time(step_fn(EF, ex, ew, eb, eg), repeats=args.repeats, number=number)
            if torch:
                tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xs, ws, bs))
                tg = torch.tensor(gs)
                tt_f = median_time(forward_fn(torch.nn.functional, tx, tw, tb), repeats=args.repeats, number=number)
                tt = median_time(step_fn(torch.nn.functional, tx, tw, tb, tg), repeats=args.repeats, number=number)
            else:
                tt_f = tt = float("nan")
            rows.append([threads, f"{m}x{k}->{n}", f"{te_f * 1e6:.1f}", f"{tt_f * 1e6:.1f}", f"{te_f / tt_f:.2f}",
                         f"{te * 1e6:.1f}", f"{tt * 1e6:.1f}", f"{te / tt:.2f}"])
    print_table("linear forward and forward+backward, float32 (us per call; ratio = ember / torch)",
                ["threads", "shape", "fwd ember", "fwd torch", "ratio", "f+b ember", "f+b torch", "ratio"], rows)


if __name__ == "__main__":
    main()
