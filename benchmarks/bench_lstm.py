"""LSTM training step, ember vs torch in one run: forward + backward of nn.LSTM(128, 256,
batch_first=True) on a [32, 100, 128] batch (the issue-7 target: ember at least as fast).

    python benchmarks/bench_lstm.py [--repeats 7] [--threads 1 2]

Prints the median time per step for each thread count and ratio = torch time / ember time
(higher is better for ember; goal >= 1.0). The two alternate step by step, so a machine shared
with other work slows both alike.
"""
from __future__ import annotations

import argparse

import numpy as np

from _common import print_table, time_interleaved, try_import_torch

INPUT, HIDDEN, BATCH, SEQ = 128, 256, 32, 100


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    import ember

    torch = try_import_torch()
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((BATCH, SEQ, INPUT)).astype(np.float32)

    em = ember.nn.LSTM(INPUT, HIDDEN, batch_first=True)
    ex = ember.tensor(x_np, requires_grad=True)

    def ember_step():
        out, _ = em(ex)
        out.sum().backward()

    if torch:
        tm = torch.nn.LSTM(INPUT, HIDDEN, batch_first=True)
        tx = torch.tensor(x_np, requires_grad=True)

        def torch_step():
            out, _ = tm(tx)
            out.sum().backward()

    rows = []
    for nt in args.threads:
        ember.set_num_threads(nt)
        if torch:
            torch.set_num_threads(nt)
        # Alternating rounds, so that both see the same load when the machine is shared.
        t = time_interleaved({"ember": ember_step, **({"torch": torch_step} if torch else {})},
                             repeats=args.repeats, min_time=0)
        te, tt = t["ember"], t.get("torch", float("nan"))
        rows.append([nt, f"{te * 1e3:.1f} ms", f"{tt * 1e3:.1f} ms", f"{tt / te:.2f}x"])
    print_table(f"LSTM({INPUT}, {HIDDEN}) batch {BATCH} seq {SEQ} batch_first, forward+backward "
                "(ratio = torch / ember; >= 1.0 means ember is as fast or faster)",
                ["threads", "ember", "torch", "ratio"], rows)


if __name__ == "__main__":
    main()
