"""Grid and random hyperparameter search over a dict of ranges, returning a table of results."""
from __future__ import annotations

import itertools
import random


def _run(build, params, train_data, val_data, epochs, batch_size, monitor):
    from .loop import evaluate, fit

    built = build(**params)
    if isinstance(built, dict):
        model, loss_fn, optimizer = built["model"], built["loss_fn"], built["optimizer"]
    else:
        model, loss_fn, optimizer = built
    history = fit(model, loss_fn, optimizer, train_data, val_data, epochs=epochs, batch_size=batch_size,
                  verbose=False)
    result = evaluate(model, loss_fn, val_data) if val_data is not None else {}
    row = dict(params)
    row.update({f"val_{k}": v for k, v in result.items()})
    row["train_loss"] = history["loss"][-1] if len(history) else None
    return row


def _sort(rows, monitor):
    maximize = "acc" in monitor
    return sorted(rows, key=lambda r: r.get(monitor, float("-inf") if maximize else float("inf")),
                  reverse=maximize)


def grid_search(build, param_grid, train_data, val_data, epochs=5, batch_size=32, monitor="val_accuracy"):
    """Tries every combination in param_grid ({name: [values]}). `build(**params)` returns
    (model, loss_fn, optimizer). Returns rows (dicts) sorted best first by `monitor`."""
    if not param_grid or not all(isinstance(v, (list, tuple)) and v for v in param_grid.values()):
        raise ValueError("param_grid must map names to non-empty lists of values")
    names = list(param_grid)
    rows = [_run(build, dict(zip(names, combo)), train_data, val_data, epochs, batch_size, monitor)
            for combo in itertools.product(*(param_grid[n] for n in names))]
    return _sort(rows, monitor)


def random_search(build, param_distributions, train_data, val_data, n_iter=10, epochs=5, batch_size=32,
                  monitor="val_accuracy", seed=0):
    """Samples n_iter settings: a list picks uniformly, a (low, high) tuple of floats samples
    log-uniformly when both are positive (learning rates), a (low, high) tuple of ints uniformly."""
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}")
    rng = random.Random(seed)

    def sample(spec):
        if isinstance(spec, list):
            return rng.choice(spec)
        if isinstance(spec, tuple) and len(spec) == 2:
            lo, hi = spec
            if isinstance(lo, int) and isinstance(hi, int):
                return rng.randint(lo, hi)
            if lo > 0 and hi > 0:
                import math

                return math.exp(rng.uniform(math.log(lo), math.log(hi)))
            return rng.uniform(lo, hi)
        if callable(spec):
            return spec(rng)
        raise ValueError(f"cannot sample from {spec!r}: use a list, a (low, high) tuple or a callable")

    rows = [_run(build, {k: sample(v) for k, v in param_distributions.items()}, train_data, val_data, epochs,
                 batch_size, monitor) for _ in range(n_iter)]
    return _sort(rows, monitor)


def format_table(rows):
    """Rows as an aligned text table."""
    if not rows:
        return "(no results)"
    keys = list(rows[0])
    cells = [[f"{r.get(k):.4g}" if isinstance(r.get(k), float) else str(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.rjust(w) for k, w in zip(keys, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
