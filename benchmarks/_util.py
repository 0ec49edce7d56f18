"""Shared helpers for the Python benchmarks: medians of repeated timings and ratio tables."""
from __future__ import annotations

import statistics
import time


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


def try_import_torch():
    try:
        import torch

        return torch
    except ImportError:
        return None


def print_table(title, header, rows):
    print(f"\n== {title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
