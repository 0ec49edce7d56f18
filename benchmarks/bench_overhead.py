"""Framework overhead: `import ember` vs `import torch` process time, and the per-call cost of a
tiny op (add of two 10-element tensors, with and without requires_grad), ember vs torch.

    python benchmarks/bench_overhead.py

Goals (issue 2): import ember <= 0.1x torch's import time; small-op call <= 0.5x torch's.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _common import median_time, print_table, try_import_torch


def import_time(module, repeats=5):
    """Median wall time of a fresh interpreter that imports `module`, minus a bare interpreter."""
    def run(code):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t0

    base = statistics.median(run("pass") for _ in range(repeats))
    return statistics.median(run(f"import {module}") for _ in range(repeats)) - base


def per_call(add, a, b, number=20000):
    return median_time(lambda: add(a, b), repeats=7, number=number)


def main():
    import ember

    torch = try_import_torch()
    rows = []
    t_ember = import_time("ember")
    t_torch = import_time("torch") if torch else float("nan")
    rows.append(["import", f"{t_ember * 1e3:.1f} ms", f"{t_torch * 1e3:.1f} ms", f"{t_ember / t_torch:.3f}"])

    for grad in (False, True):
        ea = ember.randn(10, requires_grad=grad)
        eb = ember.randn(10, requires_grad=grad)
        te = per_call(lambda x, y: x + y, ea, eb)
        if torch:
            ta = torch.randn(10, requires_grad=grad)
            tb = torch.randn(10, requires_grad=grad)
            tt = per_call(lambda x, y: x + y, ta, tb)
        else:
            tt = float("nan")
        rows.append([f"add 10 elems, requires_grad={grad}", f"{te * 1e6:.2f} us", f"{tt * 1e6:.2f} us",
                     f"{te / tt:.3f}"])
    print_table("framework overhead (ratio = ember / torch; lower is better)",
                ["what", "ember", "torch", "ratio"], rows)


if __name__ == "__main__":
    main()
