"""Pooling forward and forward+backward: ember vs torch, float32, 1 and 2 threads.

    PYTHONPATH=python python3 benchmarks/bench_pool.py [--threads 1,2] [--repeats 7]

Cases: max_pool2d 2x2 (the small-CNN one, on 64x32x32x32), max_pool2d 3x3 stride 2 padding 1,
avg_pool2d 2x2, adaptive_avg_pool2d to 1x1 (global average). "fwd" runs under no_grad; "fwd+bwd"
records and runs backward() to the input. Ratios are torch time / ember time: > 1 means ember
is faster.

Target (issue 3): max_pool2d 2x2 forward+backward >= 1.0x torch.
"""
from __future__ import annotations

import _common  # noqa: F401  (first: sets the OpenMP wait policy before ember/torch load)
import numpy as np

import ember
import ember.nn.functional as F
from _common import (base_parser, print_environment, print_table, ratio, thread_counts, threads,
                     time_interleaved, try_import_torch)

SHAPE = (64, 32, 32, 32)

# (name, ember call, torch call) on (input, lib) -> output
CASES = [
    ("max_pool2d 2x2", lambda x: F.max_pool2d(x, 2), lambda x, t: t.nn.functional.max_pool2d(x, 2)),
    ("max_pool2d 3x3 s2 p1", lambda x: F.max_pool2d(x, 3, 2, 1),
     lambda x, t: t.nn.functional.max_pool2d(x, 3, 2, 1)),
    ("avg_pool2d 2x2", lambda x: F.avg_pool2d(x, 2), lambda x, t: t.nn.functional.avg_pool2d(x, 2)),
    ("adaptive_avg_pool2d 1x1", lambda x: F.adaptive_avg_pool2d(x, 1),
     lambda x, t: t.nn.functional.adaptive_avg_pool2d(x, 1)),
]


def make_fns(ecall, tcall, xnp, torch):
    ex = ember.tensor(xnp, requires_grad=True)
    with ember.no_grad():
        egy = ember.tensor(np.ones(ecall(ex).shape, np.float32))

    def e_fwd():
        with ember.no_grad():
            return ecall(ex)

    def e_fb():
        ex.grad = None
        ecall(ex).backward(egy)
        return ex.grad

    fns = {"ef": e_fwd, "eb": e_fb}
    if torch:
        tx = torch.tensor(xnp, requires_grad=True)
        tgy = torch.ones(tuple(egy.shape))

        def t_fwd():
            with torch.no_grad():
                return tcall(tx, torch)

        def t_fb():
            tx.grad = None
            tcall(tx, torch).backward(tgy)
            return tx.grad

        fns.update(tf=t_fwd, tb=t_fb)
        # Agreement first: output and input gradient.
        for a, b in ((e_fwd().numpy(), t_fwd().numpy()), (e_fb().numpy(), t_fb().numpy())):
            if not np.allclose(a, b, rtol=1e-5, atol=1e-6):
                raise AssertionError("ember pooling disagrees with torch")
    return fns


def main():
    args = base_parser(__doc__).parse_args()
    torch = try_import_torch()
    print_environment()
    print(f"input {'x'.join(map(str, SHAPE))} float32; times are medians (us); "
          "ratio = torch time / ember time (> 1: ember faster)")
    rng = np.random.default_rng(0)
    xnp = rng.standard_normal(SHAPE).astype(np.float32)
    header = ["op", "ember fwd", "torch fwd", "fwd ratio", "ember f+b", "torch f+b", "f+b ratio"]
    us = lambda t: "-" if t is None else f"{t * 1e6:.1f}"  # noqa: E731
    for nt in thread_counts(args.threads):
        rows = []
        with threads(nt):
            for name, ecall, tcall in CASES:
                t = time_interleaved(make_fns(ecall, tcall, xnp, torch), repeats=args.repeats)
                rows.append([name, us(t["ef"]), us(t.get("tf")), ratio(t.get("tf"), t["ef"]), us(t["eb"]),
                             us(t.get("tb")), ratio(t.get("tb"), t["eb"])])
        print_table(f"pooling, {nt} thread{'s' if nt > 1 else ''}", header, rows)


if __name__ == "__main__":
    main()
