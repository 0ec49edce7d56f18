"""conv2d forward and forward+backward: ember vs torch, float32, batch 64, 1 and 2 threads.

    PYTHONPATH=python python3 benchmarks/bench_conv.py [--threads 1,2] [--repeats 7] [--batch 64]

The six layers of issue 3 (LeNet's two, then CIFAR-like 3x3 layers), each with a bias. "fwd" runs
under no_grad; "fwd+bwd" is the forward with autograd recording plus backward() to the input,
weight and bias gradients. GFLOP/s counts 2*N*C_out*Ho*Wo*C_in*kH*kW per pass (three passes for
fwd+bwd; the bias work is not counted). Ratios are torch time / ember time: > 1 means ember is
faster.

Targets (issue 3, fwd+bwd): >= 2x torch on the first three layers, >= 1.0x on 32->64, >= 0.9x on
the last two.
"""
from __future__ import annotations

import _common  # noqa: F401  (first: sets the OpenMP wait policy before ember/torch load)
import numpy as np

import ember
import ember.nn.functional as F
from _common import (base_parser, fmt_gflops, fmt_ms, print_environment, print_table, ratio, thread_counts,
                     threads, time_interleaved, try_import_torch)

# (C_in, C_out, kernel, H = W, padding)
LAYERS = [
    (1, 6, 5, 28, 2),
    (6, 16, 5, 14, 0),
    (3, 32, 3, 32, 1),
    (32, 64, 3, 16, 1),
    (64, 64, 3, 32, 1),
    (128, 128, 3, 16, 1),
]


def flops(n, ci, co, k, hw, pad):
    ho = hw + 2 * pad - k + 1
    return 2.0 * n * co * ho * ho * ci * k * k


class Case:
    """One layer's data, shared by both libraries, and the calls to time."""

    def __init__(self, n, ci, co, k, hw, pad, rng, torch):
        self.pad = pad
        x = rng.standard_normal((n, ci, hw, hw)).astype(np.float32)
        w = (rng.standard_normal((co, ci, k, k)) / np.sqrt(ci * k * k)).astype(np.float32)
        b = rng.standard_normal(co).astype(np.float32)
        ho = hw + 2 * pad - k + 1
        gy = rng.standard_normal((n, co, ho, ho)).astype(np.float32)
        self.e = [ember.tensor(a, requires_grad=True) for a in (x, w, b)]
        self.egy = ember.tensor(gy)
        self.torch = torch
        if torch:
            self.t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
            self.tgy = torch.tensor(gy)

    def ember_fwd(self):
        with ember.no_grad():
            return F.conv2d(*self.e, padding=self.pad)

    def ember_fwd_bwd(self):
        for t in self.e:
            t.grad = None
        F.conv2d(*self.e, padding=self.pad).backward(self.egy)

    def torch_fwd(self):
        with self.torch.no_grad():
            return self.torch.nn.functional.conv2d(*self.t, padding=self.pad)

    def torch_fwd_bwd(self):
        for t in self.t:
            t.grad = None
        self.torch.nn.functional.conv2d(*self.t, padding=self.pad).backward(self.tgy)

    def check(self):
        """Forward and all three gradients must agree with torch before the times mean anything."""
        if not self.torch:
            return
        got = [self.ember_fwd().numpy()]
        self.ember_fwd_bwd()
        got += [t.grad.numpy() for t in self.e]
        want = [self.torch_fwd().numpy()]
        self.torch_fwd_bwd()
        want += [t.grad.numpy() for t in self.t]
        for name, g, w in zip(("output", "grad_input", "grad_weight", "grad_bias"), got, want):
            err = np.max(np.abs(g - w)) / max(1.0, np.max(np.abs(w)))
            if err > 1e-3:
                raise AssertionError(f"ember conv2d {name} disagrees with torch: relative error {err:.2e}")


def main():
    p = base_parser(__doc__)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args()
    torch = try_import_torch()
    print_environment()
    print("times are medians (ms); ratio = torch time / ember time (> 1: ember faster)")
    rng = np.random.default_rng(0)
    header = ["layer", "ember fwd", "torch fwd", "fwd ratio", "ember f+b", "torch f+b", "ember GF/s", "torch GF/s",
              "f+b ratio"]
    for nt in thread_counts(args.threads):
        rows = []
        with threads(nt):
            for ci, co, k, hw, pad in LAYERS:
                c = Case(args.batch, ci, co, k, hw, pad, rng, torch)
                c.check()
                fns = {"ef": c.ember_fwd, "eb": c.ember_fwd_bwd}
                if torch:
                    fns.update(tf=c.torch_fwd, tb=c.torch_fwd_bwd)
                t = time_interleaved(fns, repeats=args.repeats)
                fl = flops(args.batch, ci, co, k, hw, pad)
                rows.append([f"{ci}->{co} k{k} {hw}x{hw} p{pad}", fmt_ms(t["ef"]), fmt_ms(t.get("tf")),
                             ratio(t.get("tf"), t["ef"]), fmt_ms(t["eb"]), fmt_ms(t.get("tb")),
                             fmt_gflops(3 * fl, t["eb"]), fmt_gflops(3 * fl, t.get("tb")),
                             ratio(t.get("tb"), t["eb"])])
        print_table(f"conv2d float32, batch {args.batch}, {nt} thread{'s' if nt > 1 else ''}", header, rows)


if __name__ == "__main__":
    main()
