"""Callbacks: early stopping on a monitored metric, and atomic model checkpoints."""
from __future__ import annotations

import math
import os


class Callback:
    def on_train_begin(self, state):
        pass

    def on_epoch_end(self, state, record):
        """Return True to stop training."""
        return False

    def on_train_end(self, state):
        pass


def _better(mode, value, best, min_delta):
    return value < best - min_delta if mode == "min" else value > best + min_delta


class EarlyStopping(Callback):
    """Stops when `monitor` has not improved by `min_delta` for `patience` epochs; with
    restore_best_weights, the model ends with the weights of its best epoch."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto", restore_best_weights=True):
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, state):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.wait, self.best_state = None, 0, None

    def on_epoch_end(self, state, record):
        if self.monitor not in record:
            raise KeyError(f"EarlyStopping monitors '{self.monitor}', but the epoch only has {sorted(record)} "
                           "(pass val_data to fit() to get val_* metrics)")
        value = record[self.monitor]
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, record["epoch"], 0
            if self.restore_best_weights:
                self.best_state = {k: v.clone() for k, v in state.model.state_dict().items()}
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_train_end(self, state):
        state.history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.best_state is not None:
            state.model.load_state_dict(self.best_state)


class ModelCheckpoint(Callback):
    """Writes a full training checkpoint (model, optimizer, scheduler, epoch, RNG state) after each
    epoch (or only when `monitor` improves with save_best_only). Writes are atomic."""

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=False):
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.path, self.monitor, self.mode, self.save_best_only = os.fspath(path), monitor, mode, save_best_only
        self.best = math.inf if mode == "min" else -math.inf

    def on_epoch_end(self, state, record):
        if self.save_best_only:
            if self.monitor not in record:  # otherwise no checkpoint would ever be written, silently
                raise KeyError(f"ModelCheckpoint monitors '{self.monitor}', but the epoch only has "
                               f"{sorted(record)} (pass val_data to fit() to get val_* metrics)")
            value = record[self.monitor]
            if not _better(self.mode, value, self.best, 0.0):
                return False
            self.best = value
        from ..io.checkpoint import save_checkpoint

        save_checkpoint(self.path, model=state.model, optimizer=state.optimizer, scheduler=state.scheduler,
                        epoch=record["epoch"], history=state.history)
        return False
