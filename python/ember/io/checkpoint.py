"""Training checkpoints in one safetensors file: model and optimizer tensors, and in the
metadata (JSON) the optimizer's hyperparameters, the scheduler, the epoch, the history and the
random generator's state, so a resumed run continues exactly where it stopped."""
from __future__ import annotations

import json

from .. import _C
from .._C import Tensor
from .safetensors import load, save

_KEY = "ember_checkpoint"


def _split_state(state, prefix, tensors):
    """Moves the tensors of a nested state dict into `tensors`, leaving references in JSON."""
    if isinstance(state, Tensor):
        tensors[prefix] = state
        return {"__tensor__": prefix}
    if isinstance(state, dict):
        return {str(k): _split_state(v, f"{prefix}.{k}", tensors) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [_split_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(state)]
    return state


def _join_state(state, tensors):
    if isinstance(state, dict):
        if set(state) == {"__tensor__"}:
            return tensors[state["__tensor__"]]
        return {k: _join_state(v, tensors) for k, v in state.items()}
    if isinstance(state, list):
        return [_join_state(v, tensors) for v in state]
    return state


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, history=None, extra=None):
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    meta = {
        "epoch": epoch,
        "rng_state": [str(v) for v in _C.get_rng_state()],  # uint64 words: JSON numbers would round them
        "optimizer": _split_state(optimizer.state_dict(), "optim", tensors) if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "history": history.to_dict() if history is not None else None,
        "extra": extra,
    }
    save(tensors, path, metadata={_KEY: json.dumps(meta)})


def load_checkpoint(path, model, optimizer=None, scheduler=None):
    """Restores model, optimizer, scheduler and the RNG; returns (epoch, history_dict, extra).

    To resume a fit() run exactly (same batches, dropout masks and steps as if never stopped):
        epoch, hist, _ = load_checkpoint(path, model, optimizer, scheduler)
        fit(model, loss_fn, optimizer, data, val, epochs=N, scheduler=scheduler, seed=same_seed,
            initial_epoch=epoch, history=History.from_dict(hist))
    """
    tensors, metadata = load(path, with_metadata=True)
    if _KEY not in metadata:
        raise ValueError(f"{path} is a safetensors file but not an ember checkpoint (no '{_KEY}' metadata)")
    meta = json.loads(metadata[_KEY])
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    if optimizer is not None and meta.get("optimizer") is not None:
        optimizer.load_state_dict(_join_state(meta["optimizer"], tensors))
    if scheduler is not None and meta.get("scheduler") is not None:
        scheduler.load_state_dict(meta["scheduler"])
    _C.set_rng_state([int(v) for v in meta["rng_state"]])
    return meta["epoch"], meta.get("history"), meta.get("extra")
