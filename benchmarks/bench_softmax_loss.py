"""cross_entropy and log_softmax, forward + backward, ember vs torch on the same float32 data.

    python benchmarks/bench_softmax_loss.py [--repeats 7] [--threads N]

ember and torch each run in their own worker process (two OpenMP runtimes in one process fight
over the cores), and the parent interleaves them: repeat r times ember, then torch, then the next
repeat, so both see the same machine load. Each timing is a loop of calls (one call = forward,
then backward into a leaf; or forward only under no_grad); the table shows the median over the
repeats and ratio = ember / torch (below 1: ember is faster). Goal (issue 4): <= 1 for the
fwd+bwd rows at (64, 10) and (256, 1000).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

SHAPES = [(64, 10), (256, 1000)]
CASES = ["cross_entropy fwd+bwd", "log_softmax fwd+bwd", "cross_entropy fwd", "log_softmax fwd"]


def _number(n, c):
    return 2000 if n * c < 10_000 else 200


def worker(lib_name, threads):
    """Reads 'shape_index case_index' lines, answers seconds per call."""
    import numpy as np

    if lib_name == "ember":
        import ember as lib
        import ember.nn.functional as F
    else:
        import torch as lib
        import torch.nn.functional as F
    if threads:
        lib.set_num_threads(threads)
    rng = np.random.default_rng(0)
    fns = []
    for n, c in SHAPES:
        x = lib.tensor(rng.standard_normal((n, c)).astype(np.float32), requires_grad=True)
        y = lib.tensor(rng.integers(0, c, size=n).astype(np.int64))
        g = lib.tensor(rng.standard_normal((n, c)).astype(np.float32))

        def ce_fb(x=x, y=y):
            x.grad = None
            F.cross_entropy(x, y).backward()

        def lsm_fb(x=x, g=g):
            x.grad = None
            F.log_softmax(x, 1).backward(g)

        def ce_f(x=x, y=y):
            with lib.no_grad():
                F.cross_entropy(x, y)

        def lsm_f(x=x):
            with lib.no_grad():
                F.log_softmax(x, 1)

        fns.append([ce_fb, lsm_fb, ce_f, lsm_f])
    print(f"ready {lib.get_num_threads()}", flush=True)
    for line in sys.stdin:
        si, ci = map(int, line.split())
        fn, number = fns[si][ci], _number(*SHAPES[si])
        for _ in range(max(2, number // 10)):  # warm up caches and the allocator
            fn()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        print((time.perf_counter() - t0) / number, flush=True)


class Worker:
    def __init__(self, lib_name, threads):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python") + os.pathsep + \
            env.get("PYTHONPATH", "")
        self.p = subprocess.Popen([sys.executable, __file__, "--worker", lib_name, "--threads", str(threads)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.threads = self.p.stdout.readline().split()[1]

    def time(self, si, ci):
        self.p.stdin.write(f"{si} {ci}\n")
        self.p.stdin.flush()
        return float(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="threads for both libraries (0 = their default)")
    ap.add_argument("--worker", choices=["ember", "torch"])
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.threads)
    repeats = max(5, args.repeats)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed: nothing to compare against")
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import print_table

    ew, tw = Worker("ember", args.threads), Worker("torch", args.threads)
    rows = []
    try:
        for si, (n, c) in enumerate(SHAPES):
            for ci, name in enumerate(CASES):
                te, tt = [], []
                for _ in range(repeats):
                    te.append(ew.time(si, ci))
                    tt.append(tw.time(si, ci))
                me, mt = statistics.median(te), statistics.median(tt)
                rows.append([f"({n}, {c})", name, f"{me * 1e6:.1f} us", f"{mt * 1e6:.1f} us", f"{me / mt:.3f}"])
    finally:
        ew.close()
        tw.close()
    print_table(f"float32, median of {repeats} interleaved repeats; ratio = ember / torch (lower is better); "
                f"threads: ember {ew.threads}, torch {tw.threads}; OMP_WAIT_POLICY="
                f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}", ["shape", "what", "ember", "torch", "ratio"], rows)


if __name__ == "__main__":
    main()
