"""cross_entropy and log_softmax, forward + backward, ember vs torch on the same float32 data.

    python benchmarks/bench_softmax_loss.py [--repeats 7]

Each timing is the median of >= 5 repeats of a loop of calls (one call = forward, then backward
into a leaf). Ratio = ember time / torch time: below 1 means ember is faster. Goal (issue 4):
<= 1 for (64, 10) and (256, 1000).
"""
from __future__ import annotations

import argparse

import numpy as np

from _util import median_time, print_table, try_import_torch

SHAPES = [(64, 10), (256, 1000)]


def cases(lib, F, x, y, g):
    """name -> zero-argument callable running one forward + backward (or forward only)."""
    def ce_fb():
        x.grad = None
        F.cross_entropy(x, y).backward()

    def lsm_fb():
        x.grad = None
        F.log_softmax(x, 1).backward(g)

    def ce_f():
        with lib.no_grad():
            F.cross_entropy(x, y)

    def lsm_f():
        with lib.no_grad():
            F.log_softmax(x, 1)

    return {"cross_entropy fwd+bwd": ce_fb, "log_softmax fwd+bwd": lsm_fb, "cross_entropy fwd": ce_f,
            "log_softmax fwd": lsm_f}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    repeats = max(5, args.repeats)

    import ember
    import ember.nn.functional as eF

    torch = try_import_torch()
    rng = np.random.default_rng(0)
    rows = []
    for n, c in SHAPES:
        xn = rng.standard_normal((n, c)).astype(np.float32)
        yn = rng.integers(0, c, size=n).astype(np.int64)
        gn = rng.standard_normal((n, c)).astype(np.float32)
        number = max(20, 200_000 // (n * c) * 10) if n * c < 10_000 else 300
        ex = ember.tensor(xn, requires_grad=True)
        e_cases = cases(ember, eF, ex, ember.tensor(yn), ember.tensor(gn))
        t_cases = None
        if torch is not None:
            import torch.nn.functional as tF

            tx = torch.tensor(xn, requires_grad=True)
            t_cases = cases(torch, tF, tx, torch.tensor(yn), torch.tensor(gn))
        for name, fn in e_cases.items():
            te = median_time(fn, repeats=repeats, number=number)
            tt = median_time(t_cases[name], repeats=repeats, number=number) if t_cases else float("nan")
            rows.append([f"({n}, {c})", name, f"{te * 1e6:.1f} us", f"{tt * 1e6:.1f} us", f"{te / tt:.3f}"])
    threads = f"ember threads={ember.get_num_threads()}" + (f", torch threads={torch.get_num_threads()}" if torch else "")
    print_table(f"softmax / loss, float32 (median of {repeats}; ratio = ember / torch, lower is better; {threads})",
                ["shape", "what", "ember", "torch", "ratio"], rows)


if __name__ == "__main__":
    main()
