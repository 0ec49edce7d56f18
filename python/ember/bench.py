"""`ember bench`: a quick look at this machine's speed — matmul, conv2d and an MLP training step, ember vs
numpy (matmul) and torch (all three, when it is installed). Medians of several repeats; a ratio > 1
means ember is faster. The full benchmarks live in the repository's benchmarks/ folder."""
from __future__ import annotations

import statistics
import time


def median_seconds(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _mlp_step_ember(batch, sizes):
    import numpy as np

    import ember
    from ember import nn, optim
    from ember.nn import functional as F

    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = ember.tensor(np.random.default_rng(0).standard_normal((batch, sizes[0]), dtype=np.float32))
    y = ember.randint(0, sizes[-1], (batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _mlp_step_torch(torch, batch, sizes):
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], sizes[-1]))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _conv_ember(shape, cout, k):
    import ember
    from ember.nn import functional as F

    x = ember.randn(*shape, requires_grad=True)
    w = ember.randn(cout, shape[1], k, k, requires_grad=True)

    def step():
        F.conv2d(x, w, padding=k // 2).sum().backward()

    return step


def _conv_torch(torch, shape, cout, k):
    x = torch.randn(*shape, requires_grad=True)
    w = torch.randn(cout, shape[1], k, k, requires_grad=True)

    def step():
        torch.nn.functional.conv2d(x, w, padding=k // 2).sum().backward()

    return step


def run(quick=False):
    import numpy as np

    import ember

    repeats = 5 if quick else 15
    torch = _torch()
    n = 256 if quick else 1024
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    ea = ember.from_numpy(a)
    rows = [(f"matmul {n}x{n} float32", median_seconds(lambda: ea @ ea, repeats),
             {"numpy": median_seconds(lambda: a @ a, repeats)})]
    if torch is not None:
        ta = torch.from_numpy(a)
        rows[0][2]["torch"] = median_seconds(lambda: ta @ ta, repeats)
    conv_shape, cout = ((16, 16, 16, 16), 32) if quick else ((64, 32, 16, 16), 64)
    rows.append((f"conv2d {conv_shape}->{cout} k3 fwd+bwd", median_seconds(_conv_ember(conv_shape, cout, 3), repeats),
                 {"torch": median_seconds(_conv_torch(torch, conv_shape, cout, 3), repeats)} if torch else {}))
    sizes, batch = (784, 256, 128, 10), 64
    rows.append((f"MLP 784-256-128-10 train step, batch {batch}", median_seconds(_mlp_step_ember(batch, sizes), repeats),
                 {"torch": median_seconds(_mlp_step_torch(torch, batch, sizes), repeats)} if torch else {}))
    print(f"ember {ember.__version__}, {ember.get_num_threads()} threads; median of {repeats}; "
          "ratio = reference time / ember time (> 1: ember faster)")
    if torch is None:
        print("torch is not installed: showing numpy only")
    for name, t, refs in rows:
        cols = "  ".join(f"{ref} {r * 1e3:8.3f} ms ({r / t:4.2f}x)" for ref, r in refs.items())
        print(f"{name:<42} ember {t * 1e3:8.3f} ms  {cols}")
    return 0
