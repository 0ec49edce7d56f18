"""One optimizer step over 10M float32 parameters, ember vs torch, through the public Python APIs.

    OMP_WAIT_POLICY=passive python benchmarks/bench_optim_step.py [--threads 1 2] [--repeats 7]

Layouts: one tensor of 10M, and 100 tensors of 100k. Optimizers: SGD with momentum 0.9, and
Adam. torch runs three ways: its default on CPU (the for-loop over tensors), foreach=True and
fused=True. Each time is the median of `repeats` steps (after warm-up steps that create the
state). Ratios are torch's time / ember's (> 1: ember is faster); "vs best" takes torch's
fastest variant. Every round times every case once (ember, the torch variants and two bandwidth
yardsticks), so load from other processes hits them alike. Adam moves 28 bytes per parameter
(read param, grad, exp_avg, exp_avg_sq; write param, exp_avg, exp_avg_sq), SGD-momentum 20;
ember's GB/s is that traffic over its time, next to a memory bandwidth measured in the same
rounds: numpy copy (one thread, read 1 + write 1) and torch.add(out=) at the benchmark's thread
count (read 2 + write 1). A streaming step that touches 7 arrays can exceed a 2- or 3-stream
copy's GB/s on machines where more concurrent streams hide more latency.

Goal (issue 5): ember >= 1.0x torch's best.
"""
from __future__ import annotations

import argparse

import numpy as np

from _common import print_table, time_interleaved, try_import_torch

TOTAL = 10_000_000
LAYOUTS = {"1 x 10M": [TOTAL], "100 x 100k": [TOTAL // 100] * 100}
BYTES = {"SGD-momentum": 20, "Adam": 28}


def ember_setup(ember, sizes, kind):
    import ember.optim as optim

    rng = np.random.default_rng(0)
    params = []
    for n in sizes:
        p = ember.tensor(rng.standard_normal(n, dtype=np.float32), requires_grad=True)
        p.grad = ember.tensor(rng.standard_normal(n, dtype=np.float32) * 1e-3)
        params.append(p)
    if kind == "Adam":
        return optim.Adam(params, lr=1e-4)
    return optim.SGD(params, lr=1e-4, momentum=0.9)


def torch_setup(torch, sizes, kind, **variant):
    gen = torch.Generator().manual_seed(0)
    params = []
    for n in sizes:
        p = torch.randn(n, generator=gen).requires_grad_()
        p.grad = torch.randn(n, generator=gen) * 1e-3
        params.append(p)
    if kind == "Adam":
        return torch.optim.Adam(params, lr=1e-4, **variant)
    return torch.optim.SGD(params, lr=1e-4, momentum=0.9, **variant)


def yardsticks(torch):
    """Bandwidth loops over TOTAL float32 elements: name -> (fn, bytes read + written)."""
    a = np.random.default_rng(1).standard_normal(TOTAL, dtype=np.float32)
    b = np.empty_like(a)
    cases = {"numpy copy": (lambda: np.copyto(b, a), 8 * TOTAL)}
    if torch is not None:
        x, y, z = torch.randn(TOTAL), torch.randn(TOTAL), torch.empty(TOTAL)
        cases["torch add"] = (lambda: torch.add(x, y, out=z), 12 * TOTAL)
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    repeats = max(args.repeats, 5)

    import ember

    torch = try_import_torch()
    variants = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}
    sticks = yardsticks(torch)
    summary = []
    for threads in args.threads:
        ember.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        rows, bw = [], {}
        for kind in BYTES:
            for layout, sizes in LAYOUTS.items():
                cases = {"ember": ember_setup(ember, sizes, kind).step}
                if torch is not None:
                    for name, variant in variants.items():
                        cases[name] = torch_setup(torch, sizes, kind, **variant).step
                cases.update({name: fn for name, (fn, _) in sticks.items()})
                t = time_interleaved(cases, repeats=repeats, min_time=0)  # one step per round
                for name, (_, nbytes) in sticks.items():
                    bw.setdefault(name, []).append(nbytes / t[name] / 1e9)
                copy_gbs = sticks["numpy copy"][1] / t["numpy copy"] / 1e9
                add_gbs = sticks["torch add"][1] / t["torch add"] / 1e9 if "torch add" in t else float("nan")
                best = min(t[name] for name in variants) if torch is not None else float("nan")
                gbs = BYTES[kind] * TOTAL / t["ember"] / 1e9
                row = [kind, layout, f"{t['ember'] * 1e3:.2f}"]
                row += [f"{t[name] * 1e3:.2f}" if name in t else "-" for name in variants]
                row += [f"{best / t['ember']:.2f}x", f"{gbs:.1f}", f"{copy_gbs:.1f}", f"{add_gbs:.1f}"]
                rows.append(row)
                summary.append((threads, kind, layout, best / t["ember"]))
                del cases
        print_table(f"optimizer step, 10M float32 parameters, {threads} thread(s), median of {repeats} interleaved "
                    f"rounds", ["optimizer", "layout", "ember ms", "torch default ms", "torch foreach ms",
                                "torch fused ms", "torch best / ember", "ember GB/s", "numpy copy GB/s (1 thr)",
                                "torch add GB/s"], rows)
    if torch is not None:
        worst = min(s[3] for s in summary)
        print(f"\nworst ratio (torch best / ember) over all cases: {worst:.2f}x  (goal >= 1.0x)")


if __name__ == "__main__":
    main()
