"""History: per-epoch metrics of a fit() run, saved as JSON."""
from __future__ import annotations

import json


class History:
    def __init__(self):
        self.epochs = []  # one dict per epoch: {"epoch": 1, "loss": ..., "accuracy": ..., "val_loss": ...}
        self.stopped_early = False
        self.best_epoch = None

    def append(self, record):
        self.epochs.append(dict(record))

    def __getitem__(self, key):
        """history["val_loss"] -> list over epochs."""
        return [e.get(key) for e in self.epochs]

    def __len__(self):
        return len(self.epochs)

    def keys(self):
        keys = []
        for e in self.epochs:
            keys += [k for k in e if k not in keys]
        return keys

    def to_dict(self):
        return {"epochs": self.epochs, "stopped_early": self.stopped_early, "best_epoch": self.best_epoch}

    @classmethod
    def from_dict(cls, d):
        """The inverse of to_dict() (e.g. the history load_checkpoint returns, to resume a run)."""
        h = cls()
        for record in (d or {}).get("epochs", []):
            h.append(record)
        h.stopped_early = bool((d or {}).get("stopped_early", False))
        h.best_epoch = (d or {}).get("best_epoch")
        return h

    def save(self, path):
        from ..io.files import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2))

    def __repr__(self):
        last = self.epochs[-1] if self.epochs else {}
        return f"History({len(self)} epochs, last={last})"
