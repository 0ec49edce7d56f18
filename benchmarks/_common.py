"""Shared helpers for the Python benchmarks: thread control, interleaved median timing, tables.

Every benchmark here compares ember with a reference (numpy's OpenBLAS, torch) in the same
process. On a shared machine absolute times drift from minute to minute, so the contenders are
timed in alternating rounds (ember, numpy, torch, ember, ...): a slow patch of the machine hits
all of them alike, and the median of each one's rounds is what the table reports.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time


def _default_wait_policy():
    """Choose how idle OpenMP workers wait, before ember or torch load libgomp (read once).

    Spinning workers (libgomp's default) fork and join in ~0.5 us, but on a busy shared machine a
    spinning worker that shares a core with the one doing the work, or that was preempted, stalls
    a 2-thread run for a scheduler slice (measured: 2-thread conv at 0.3-0.4x of 1 thread). Sleeping
    workers (PASSIVE) avoid that, but waking one on this VM takes 40-80 us (a GEMM of 4M
    multiply-adds ran at 0.1x). So: PASSIVE only when the load average exceeds the core count.
    An explicit OMP_WAIT_POLICY is left alone. Every benchmark imports this module first; ember
    and torch share one libgomp in a process, so both get the same policy.
    """
    if "OMP_WAIT_POLICY" in os.environ:
        return os.environ["OMP_WAIT_POLICY"]
    try:
        busy = os.getloadavg()[0] > (os.cpu_count() or 1)
    except OSError:
        busy = False
    if busy:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        return "PASSIVE (set by the benchmark: load average above the core count)"
    return "(unset: libgomp spins, then sleeps)"


WAIT_POLICY = _default_wait_policy()

# OpenBLAS's idle workers spin for 2^28 cycles (~0.1 s) after numpy's last call, so the round
# timed right after numpy's ran with a core taken (measured: ember's 2-thread 64x256.256x784
# matmul at 40 instead of 210 GFLOP/s). 2^16 cycles is still far longer than the gap between
# numpy's own back-to-back calls (its timings did not change). Read when numpy loads OpenBLAS.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "16")


def try_import_torch():
    try:
        import torch

        return torch
    except ImportError:
        return None


def _threadpoolctl():
    try:
        import threadpoolctl

        return threadpoolctl
    except ImportError:
        return None


def numpy_thread_note():
    """One line saying how numpy's BLAS threads are controlled in this run."""
    tpc = _threadpoolctl()
    if tpc is None:
        return "numpy: threadpoolctl not installed, BLAS uses its default thread count in every row"
    blas = [i for i in tpc.threadpool_info() if i.get("user_api") == "blas"]
    if not blas:
        return "numpy: no BLAS found by threadpoolctl"
    b = blas[0]
    return f"numpy: {b.get('internal_api')} {b.get('version')} ({b.get('architecture')} kernels), threads via threadpoolctl"


@contextlib.contextmanager
def threads(n):
    """Run the block with n threads in ember, torch and numpy's BLAS (where controllable)."""
    import ember

    torch = try_import_torch()
    old_e = ember.get_num_threads()
    old_t = torch.get_num_threads() if torch else None
    tpc = _threadpoolctl()
    limiter = tpc.threadpool_limits(limits=n, user_api="blas") if tpc else contextlib.nullcontext()
    ember.set_num_threads(n)
    if torch:
        torch.set_num_threads(n)
    try:
        with limiter:
            yield
    finally:
        ember.set_num_threads(old_e)
        if torch:
            torch.set_num_threads(old_t)


def _calls_for(fn, min_time):
    """How many back-to-back calls make one timed round last at least min_time seconds."""
    t0 = time.perf_counter()
    fn()
    t = time.perf_counter() - t0
    return max(1, min(10000, int(min_time / max(t, 1e-7)) + 1))


def time_interleaved(fns, repeats=7, warmup=2, min_time=0.05):
    """Median seconds per call for each fn in the dict `fns`, timed in alternating rounds.

    Each fn is called `warmup` times first (scratch buffers, thread start-up, page faults);
    then `repeats` rounds, each timing every fn over enough calls to last >= min_time.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    number = {k: _calls_for(fn, min_time) for k, fn in fns.items()}
    times = {k: [] for k in fns}
    keys = list(fns)
    for r in range(max(5, repeats)):
        # Rotate the order each round so no contender always follows the same neighbour.
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            fn, n = fns[k], number[k]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            times[k].append((time.perf_counter() - t0) / n)
    return {k: statistics.median(v) for k, v in times.items()}


def median_time(fn, repeats=7, warmup=2, number=1):
    """Median seconds per call of fn() over `repeats` timings of `number` calls each."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def ratio(t_ref, t_ember):
    """Speed of ember relative to the reference: > 1 means ember is faster."""
    if t_ref is None or t_ember is None or t_ember <= 0:
        return "-"
    return f"{t_ref / t_ember:.2f}"


def fmt_ms(t):
    return "-" if t is None else f"{t * 1e3:.3f}"


def fmt_gflops(flop, t):
    return "-" if t is None else f"{flop / t * 1e-9:.1f}"


def print_table(title, header, rows):
    print(f"\n== {title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    sys.stdout.flush()


def base_parser(doc):
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--repeats", type=int, default=7, help="timed rounds per contender, median reported (>= 5)")
    return p


def thread_counts(arg):
    return [int(t) for t in arg.split(",") if t]


def print_environment():
    import ember

    torch = try_import_torch()
    import numpy

    isa = ember._C._cpu_isa() if hasattr(ember._C, "_cpu_isa") else "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"ember {getattr(ember, '__version__', '?')} ({isa} kernels), numpy {numpy.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}; cpus={os.cpu_count()}, "
          f"load average {load:.1f}; OMP_WAIT_POLICY={WAIT_POLICY}")
    print(numpy_thread_note())
    if load > (os.cpu_count() or 1):
        print("note: the machine is busy; 2-thread rows depend on when the second core was free")
