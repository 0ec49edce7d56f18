"""Matrix multiply: ember.matmul vs numpy (OpenBLAS) vs torch, float32 and float64, 1 and 2 threads.

    PYTHONPATH=python python3 benchmarks/bench_gemm.py [--threads 1,2] [--repeats 7] [--dtype float32,float64]
                                                       [--quick]

Shapes: squares 256..2048, and the products of an MLP's two hidden layers at batch 64 (forward
X.W, weight gradient X^T.dY, input gradient dY.W^T), the transposed operands passed as views the
way autograd passes them. Ratios are reference time / ember time: > 1 means ember is faster.

Targets (issue 3): float32 squares >= 0.9x numpy, MLP shapes >= 1.0x torch.
"""
from __future__ import annotations

import _common  # noqa: F401  (first: sets the OpenMP wait policy before ember/torch load)
import numpy as np

import ember
from _common import (base_parser, fmt_gflops, print_environment, print_table, ratio, thread_counts, threads,
                     time_interleaved, try_import_torch)

# (name, M, N, K, A stored transposed, B stored transposed)
SQUARES = [(f"square {n}", n, n, n, False, False) for n in (256, 512, 1024, 2048)]
MLP = [
    ("fc1 X.W       64x784.784x256", 64, 256, 784, False, False),
    ("fc1 dW=X^T.dY 784x64.64x256", 784, 256, 64, True, False),
    ("fc1 dX=dY.W^T 64x256.256x784", 64, 784, 256, False, True),
    ("fc2 H.W       64x256.256x128", 64, 128, 256, False, False),
    ("fc2 dW=H^T.dY 256x64.64x128", 256, 128, 64, True, False),
    ("fc2 dX=dY.W^T 64x128.128x256", 64, 256, 128, False, True),
]


def operands(M, N, K, ta, tb, dtype, rng):
    """op(A) (M x K) and op(B) (K x N) as numpy arrays; a stored-transposed operand is a .T view."""
    a = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    return a, b


def contenders(a, b, ta, tb, torch):
    ea, eb = ember.from_numpy(a), ember.from_numpy(b)
    ea, eb = (ea.t() if ta else ea), (eb.t() if tb else eb)
    na, nb = (a.T if ta else a), (b.T if tb else b)
    fns = {"ember": lambda: ember.matmul(ea, eb), "numpy": lambda: na @ nb}
    if torch:
        xa, xb = torch.from_numpy(a), torch.from_numpy(b)
        xa, xb = (xa.t() if ta else xa), (xb.t() if tb else xb)
        fns["torch"] = lambda: torch.matmul(xa, xb)
    return fns


def check(fns):
    """The contenders must agree before their times mean anything."""
    ref = fns["numpy"]()
    got = fns["ember"]().numpy()
    tol = 1e-3 if ref.dtype == np.float32 else 1e-10
    err = np.max(np.abs(got - ref)) / max(1.0, np.max(np.abs(ref)))
    if err > tol:
        raise AssertionError(f"ember.matmul disagrees with numpy: relative error {err:.2e}")


def run(shapes, dtype, nthreads, repeats, torch, rng):
    rows = []
    with threads(nthreads):
        for name, M, N, K, ta, tb in shapes:
            a, b = operands(M, N, K, ta, tb, dtype, rng)
            fns = contenders(a, b, ta, tb, torch)
            check(fns)
            t = time_interleaved(fns, repeats=repeats)
            flop = 2.0 * M * N * K
            rows.append([name, fmt_gflops(flop, t["ember"]), fmt_gflops(flop, t["numpy"]),
                         fmt_gflops(flop, t.get("torch")), ratio(t["numpy"], t["ember"]),
                         ratio(t.get("torch"), t["ember"])])
    return rows


def main():
    p = base_parser(__doc__)
    p.add_argument("--dtype", default="float32,float64")
    p.add_argument("--quick", action="store_true", help="skip 2048 and float64 2048")
    args = p.parse_args()
    torch = try_import_torch()
    print_environment()
    print("GFLOP/s = 2MNK / median time; ratio = reference time / ember time (> 1: ember faster)")
    rng = np.random.default_rng(0)
    header = ["shape", "ember GF/s", "numpy GF/s", "torch GF/s", "vs numpy", "vs torch"]
    for dt in args.dtype.split(","):
        dtype = np.dtype(dt)
        squares = [s for s in SQUARES if not (args.quick and s[1] > 1024)]
        for nt in thread_counts(args.threads):
            rows = run(squares + MLP, dtype, nt, args.repeats, torch, rng)
            print_table(f"matmul {dt}, {nt} thread{'s' if nt > 1 else ''}", header, rows)


if __name__ == "__main__":
    main()
