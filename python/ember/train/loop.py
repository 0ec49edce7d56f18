"""fit / evaluate / predict. The loop is short on purpose: what a user writes by hand, plus a
progress bar with live loss, accuracy and throughput."""
from __future__ import annotations

import sys
import time

from .. import _C
from .._C import Tensor
from ..autograd import no_grad
from ..optim.lr_scheduler import ReduceLROnPlateau
from .history import History


class _State:
    def __init__(self, model, optimizer, scheduler, history):
        self.model, self.optimizer, self.scheduler, self.history = model, optimizer, scheduler, history


def _loader(data, batch_size, shuffle, seed=None):
    from ..data import DataLoader, Dataset, TensorDataset

    if data is None or isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return DataLoader(TensorDataset(*data), batch_size=batch_size, shuffle=shuffle, seed=seed)
    raise TypeError("data must be a DataLoader, a Dataset or an (inputs, targets) pair, got "
                    f"{type(data).__name__}")


def _is_classification(out, target):
    return out.ndim >= 2 and target.dtype == _C.dtype.int64 and target.ndim == out.ndim - 1


def _correct(out, target):
    if not _is_classification(out, target):
        return None
    return int((_C.argmax(out, 1, False) == target).sum().item())


def _progress(total, desc, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, desc=desc, unit="batch", leave=True, dynamic_ncols=True, file=sys.stderr)


def _run_epoch(model, loss_fn, loader, optimizer, bar):
    total_loss, total_correct, seen, classified = 0.0, 0, 0, True
    start = time.perf_counter()
    for step, (xb, yb) in enumerate(loader):
        out = model(xb)
        loss = loss_fn(out, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n = xb.shape[0]
        total_loss += loss.item() * n
        seen += n
        with no_grad():
            c = _correct(out.detach(), yb)
        if c is None:
            classified = False
        else:
            total_correct += c
        if bar is not None and (step % 10 == 0 or step + 1 == len(loader)):
            rate = seen / max(time.perf_counter() - start, 1e-9)
            post = {"loss": f"{total_loss / seen:.4f}"}
            if classified:
                post["acc"] = f"{total_correct / seen:.4f}"
            post["samples/s"] = f"{rate:,.0f}"
            bar.set_postfix(post, refresh=False)
            bar.update(step + 1 - bar.n)
    record = {"loss": total_loss / max(seen, 1)}
    if classified and seen:
        record["accuracy"] = total_correct / seen
    record["samples_per_s"] = seen / max(time.perf_counter() - start, 1e-9)
    return record


def fit(model, loss_fn, optimizer, train_data, val_data=None, epochs=1, batch_size=32, shuffle=True, scheduler=None,
        callbacks=(), verbose=True, initial_epoch=0, seed=None, history=None):
    """Trains `model` and returns a History with per-epoch loss/accuracy (and val_* metrics).

    train_data / val_data: a DataLoader, a Dataset or an (inputs, targets) pair of tensors/arrays.
    scheduler.step() runs after each epoch (ReduceLROnPlateau gets the validation loss).
    Callbacks may stop training early; see EarlyStopping and ModelCheckpoint.
    """
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    train_loader = _loader(train_data, batch_size, shuffle, seed)
    val_loader = _loader(val_data, batch_size, False)
    history = history if history is not None else History()
    state = _State(model, optimizer, scheduler, history)
    for cb in callbacks:
        cb.on_train_begin(state)
    interactive = verbose and sys.stderr.isatty()
    for epoch in range(initial_epoch + 1, epochs + 1):
        model.train()
        if hasattr(train_loader, "set_epoch"):  # a seeded shuffle depends on the epoch, so resuming repeats it
            train_loader.set_epoch(epoch - 1)
        bar = _progress(len(train_loader), f"epoch {epoch}/{epochs}", interactive)
        record = {"epoch": epoch, **_run_epoch(model, loss_fn, train_loader, optimizer, bar)}
        if val_loader is not None:
            record.update({f"val_{k}": v for k, v in evaluate(model, loss_fn, val_loader).items()})
        record["lr"] = optimizer.param_groups[0]["lr"]
        if scheduler is not None:
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(record.get("val_loss", record["loss"]))
            else:
                scheduler.step()
        history.append(record)
        line = _format_record(record)
        if bar is not None:
            bar.set_postfix_str(line, refresh=True)
            bar.close()
        elif verbose:
            print(f"epoch {epoch}/{epochs}  {line}", flush=True)
        stop = False
        for cb in callbacks:
            stop = bool(cb.on_epoch_end(state, record)) or stop
        if stop:
            history.stopped_early = True
            if verbose:
                print(f"early stopping after epoch {epoch}", flush=True)
            break
    for cb in callbacks:
        cb.on_train_end(state)
    return history


def _format_record(r):
    parts = []
    for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if k in r:
            parts.append(f"{k} {r[k]:.4f}")
    if "samples_per_s" in r:
        parts.append(f"{r['samples_per_s']:,.0f} samples/s")
    return "  ".join(parts)


def evaluate(model, loss_fn, data, batch_size=256):
    """Mean loss (and accuracy for classification) over `data`, in eval mode without gradients."""
    loader = _loader(data, batch_size, False)
    was_training = model.training
    model.eval()
    total_loss, total_correct, seen, classified = 0.0, 0, 0, True
    with no_grad():
        for xb, yb in loader:
            out = model(xb)
            n = xb.shape[0]
            if loss_fn is not None:
                total_loss += loss_fn(out, yb).item() * n
            c = _correct(out, yb)
            classified = classified and c is not None
            total_correct += c or 0
            seen += n
    model.train(was_training)
    result = {}
    if loss_fn is not None:
        result["loss"] = total_loss / max(seen, 1)
    if classified and seen:
        result["accuracy"] = total_correct / seen
    return result


def predict(model, data, batch_size=256):
    """Model outputs for `data` (a tensor/array of inputs, a Dataset or a DataLoader), concatenated."""
    from .. import cat

    if isinstance(data, Tensor) or hasattr(data, "__array_interface__"):
        from ..data import TensorDataset

        data = TensorDataset(data)
    loader = _loader(data, batch_size, False)
    was_training = model.training
    model.eval()
    outs = []
    with no_grad():
        for batch in loader:
            outs.append(model(batch[0]))
    model.train(was_training)
    return cat(outs, 0)
