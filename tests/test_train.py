"""ember.train: fit / evaluate / predict, History, EarlyStopping, ModelCheckpoint (and resuming
from it bit for bit), ReduceLROnPlateau in the loop, grid / random search, progress output.

Everything runs on a tiny three-class problem (Gaussian blobs in 4-d) and a small MLP with
dropout, so each fit takes milliseconds.
"""
from __future__ import annotations

import io
import math
import os
import sys

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.optim as optim
from ember.data import DataLoader, TensorDataset
from ember.io import load_checkpoint
from ember.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from ember.train import Callback, EarlyStopping, History, ModelCheckpoint, evaluate, fit, grid_search, predict, \
    random_search
from ember.train.search import format_table


def blobs(n, seed, spread=1.0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float32)
    y = rng.integers(0, 3, n)
    x = centers[y] + spread * rng.standard_normal((n, 4)).astype(np.float32)
    return x.astype(np.float32), y.astype(np.int64)


TRAIN = blobs(96, 0)
VAL = blobs(48, 1)


def mlp(seed=0, dropout=0.2, hidden=16):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 3))


def snapshot(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


class Snapshots(Callback):
    """Records the weights after every epoch."""

    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, state, record):
        self.by_epoch[record["epoch"]] = snapshot(state.model)


# ---- fit / evaluate / predict ------------------------------------------------------------------------------

def test_fit_returns_history_with_train_and_val_metrics():
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(model, nn.CrossEntropyLoss(), opt, TRAIN, VAL, epochs=4, batch_size=16, verbose=False)
    assert isinstance(history, History) and len(history) == 4
    assert history["epoch"] == [1, 2, 3, 4]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "samples_per_s"):
        assert key in history.keys()
        assert all(isinstance(v, float) and math.isfinite(v) for v in history[key]), key
    assert all(0 <= a <= 1 for a in history["accuracy"] + history["val_accuracy"])
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.8  # the blobs are easy
    assert history["lr"] == [0.1] * 4
    assert not history.stopped_early
    # The last epoch's validation metrics are those of the final model.
    final = evaluate(model, nn.CrossEntropyLoss(), VAL)
    assert final["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)
    assert final["accuracy"] == history["val_accuracy"][-1]
    assert model.training  # fit leaves the model in training mode


def test_fit_without_val_data_has_only_train_metrics():
    model = mlp()
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), 1e-2), TRAIN, epochs=2,
                  verbose=False)
    assert not any(k.startswith("val_") for k in history.keys())
    assert len(history["loss"]) == 2


def test_fit_equals_the_hand_written_loop():
    """fit is the loop a user would write: same batches (global generator), same steps, same bits."""
    x, y = TRAIN
    model = mlp(seed=3)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    ember.manual_seed(42)
    history = fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=3, batch_size=10, verbose=False)

    ref = mlp(seed=3)
    ref_opt = optim.Adam(ref.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    ember.manual_seed(42)
    loader = DataLoader(TensorDataset(x, y), batch_size=10, shuffle=True)
    losses = []
    for _ in range(3):
        total = 0.0
        for xb, yb in loader:
            loss = loss_fn(ref(xb), yb)
            ref_opt.zero_grad()
            loss.backward()
            ref_opt.step()
            total += loss.item() * xb.shape[0]
        losses.append(total / len(x))
    assert_same_weights(snapshot(model), snapshot(ref))
    assert history["loss"] == losses


def test_fit_accepts_dataloaders_datasets_and_tensors():
    x, y = TRAIN
    loss_fn = nn.CrossEntropyLoss()
    for train in (DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0), TensorDataset(x, y),
                  (ember.tensor(x), ember.tensor(y)), [x, y]):
        model = mlp()
        history = fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), train, VAL, epochs=1, verbose=False)
        assert len(history) == 1 and "val_accuracy" in history.keys()


def test_regression_has_loss_but_no_accuracy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)
    ember.manual_seed(0)
    model = nn.Linear(3, 1)
    history = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), (x, y), epochs=20,
                  verbose=False)
    assert "accuracy" not in history.keys() and "val_accuracy" not in history.keys()
    assert history["val_loss"][-1] < 1e-2
    assert set(evaluate(model, nn.MSELoss(), (x, y))) == {"loss"}


def test_evaluate_matches_numpy_and_keeps_the_mode():
    x, y = VAL
    model = mlp(dropout=0.5)
    model.train()
    result = evaluate(model, nn.CrossEntropyLoss(), (x, y), batch_size=7)
    assert model.training
    model.eval()
    logits = model(ember.tensor(x)).detach().numpy().astype(np.float64)
    shifted = logits - logits.max(1, keepdims=True)
    nll = -(shifted[np.arange(len(y)), y] - np.log(np.exp(shifted).sum(1)))
    assert result["loss"] == pytest.approx(nll.mean(), rel=1e-5)
    assert result["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))
    assert set(evaluate(model, None, (x, y))) == {"accuracy"}
    assert ember.is_grad_enabled()


def test_predict_concatenates_outputs_in_eval_mode():
    x, y = VAL
    model = mlp(dropout=0.5)
    model.eval()
    expected = model(ember.tensor(x)).detach().numpy()
    model.train()
    for data in (x, ember.tensor(x), TensorDataset(x, y), DataLoader(TensorDataset(x, y), batch_size=5)):
        out = predict(model, data, batch_size=9)
        assert tuple(out.shape) == (48, 3) and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), expected)  # dropout off: the same bits every time
    assert model.training


def test_fit_argument_errors():
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, nn.CrossEntropyLoss(), opt, TRAIN, epochs=-1, verbose=False)
    with pytest.raises(TypeError, match="DataLoader, a Dataset or an \\(inputs, targets\\) pair"):
        fit(model, nn.CrossEntropyLoss(), opt, "data.csv", verbose=False)
    with pytest.raises(TypeError, match="pair"):
        fit(model, nn.CrossEntropyLoss(), opt, TRAIN, val_data=(VAL[0],), verbose=False)


def test_history_indexing_and_json(tmp_path):
    model = mlp()
    history = History()
    returned = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, VAL, epochs=2,
                   verbose=False, history=history)
    assert returned is history, "fit must fill the History it was given, even an empty one"
    assert history["val_loss"] == [e["val_loss"] for e in history.epochs]
    assert history["missing"] == [None, None]
    path = tmp_path / "history.json"
    history.save(path)
    import json

    saved = json.loads(path.read_text())
    assert saved["epochs"] == history.epochs
    again = History.from_dict(saved)
    assert again.epochs == history.epochs and again.best_epoch == history.best_epoch
    assert "2 epochs" in repr(history)


# ---- EarlyStopping -----------------------------------------------------------------------------------------

class InjectScore(Callback):
    """Puts a scripted metric into each epoch's record, ahead of the callbacks that read it."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_end(self, state, record):
        record["score"] = self.scores[record["epoch"] - 1]


@pytest.mark.parametrize("mode, scores, patience, best, last", [
    ("min", [5, 3, 4, 2, 2.5, 2.6, 2.7, 1, 1], 3, 4, 7),
    ("max", [1, 3, 2, 4, 3, 3, 3, 9, 9], 2, 4, 6),
    ("min", [5, 4, 3, 2, 1, 0.5, 0.4, 0.3, 0.2], 2, 9, 9),  # never stops: best is the last epoch
    ("min", [1, 2, 3, 4, 5, 6, 7, 8, 9], 0, 1, 2),
])
def test_early_stopping_stops_and_restores_the_best_weights(mode, scores, patience, best, last):
    model = mlp()
    snaps = Snapshots()
    stopper = EarlyStopping(monitor="score", patience=patience, mode=mode, restore_best_weights=True)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.2, momentum=0.9), TRAIN, VAL,
                  epochs=len(scores), batch_size=16, callbacks=[snaps, InjectScore(scores), stopper],
                  verbose=False)
    assert len(history) == last
    assert history.stopped_early == (last < len(scores))
    assert history.best_epoch == best
    assert_same_weights(snapshot(model), snaps.by_epoch[best])
    if best != last:
        with pytest.raises(AssertionError):
            assert_same_weights(snapshot(model), snaps.by_epoch[last])


def test_early_stopping_on_val_loss_restores_the_best_epoch():
    # A large learning rate makes the validation loss bounce; the model must end at its minimum.
    model = mlp(dropout=0.0)
    snaps = Snapshots()
    stopper = EarlyStopping(monitor="val_loss", patience=3)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1.5, momentum=0.9), TRAIN, VAL,
                  epochs=15, batch_size=8, callbacks=[snaps, stopper], verbose=False)
    best = int(np.argmin(history["val_loss"])) + 1
    assert history.best_epoch == best
    assert_same_weights(snapshot(model), snaps.by_epoch[best])
    assert evaluate(model, nn.CrossEntropyLoss(), VAL)["loss"] == pytest.approx(min(history["val_loss"]), rel=1e-6)


def test_early_stopping_without_restore_keeps_the_last_weights():
    model = mlp()
    snaps = Snapshots()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, VAL, epochs=5,
        callbacks=[snaps, InjectScore([1, 2, 3, 4, 5]), EarlyStopping("score", patience=1,
                                                                     restore_best_weights=False)], verbose=False)
    assert_same_weights(snapshot(model), snaps.by_epoch[2])


def test_early_stopping_errors():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")
    model = mlp()
    with pytest.raises(KeyError, match="val_loss.*pass val_data"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, epochs=2,
            callbacks=[EarlyStopping()], verbose=False)


# ---- ModelCheckpoint and resuming --------------------------------------------------------------------------

class Interrupt(Exception):
    pass


class InterruptAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, state, record):
        if record["epoch"] == self.epoch:
            raise Interrupt


def training_setup(seed):
    model = mlp(seed=seed, dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


@pytest.mark.parametrize("loader_seed", [None, 17])
def test_resumed_run_equals_the_uninterrupted_run(tmp_path, loader_seed):
    """model + optimizer + scheduler + RNG (shuffling order and dropout masks) all resume exactly."""
    epochs, cut = 6, 3
    loss_fn = nn.CrossEntropyLoss()

    model, opt, sched = training_setup(0)
    ember.manual_seed(100)
    full = fit(model, loss_fn, opt, TRAIN, VAL, epochs=epochs, batch_size=10, scheduler=sched, seed=loader_seed,
               verbose=False)
    expected = snapshot(model)
    expected_opt = {k: v.numpy().copy() for k, v in opt.state_dict()["state"][0].items()
                    if isinstance(v, ember.Tensor)}

    path = tmp_path / "ckpt.safetensors"
    model, opt, sched = training_setup(0)
    ember.manual_seed(100)
    with pytest.raises(Interrupt):
        fit(model, loss_fn, opt, TRAIN, VAL, epochs=epochs, batch_size=10, scheduler=sched, seed=loader_seed,
            callbacks=[ModelCheckpoint(path), InterruptAfter(cut)], verbose=False)

    # A new process, in effect: other weights, another RNG state, fresh optimizer and schedule.
    model, opt, sched = training_setup(99)
    ember.manual_seed(12345)
    ember.randn(1000)
    epoch, saved_history, _ = load_checkpoint(path, model, opt, sched)
    assert epoch == cut
    assert opt.param_groups[0]["lr"] == full["lr"][cut]
    resumed = fit(model, loss_fn, opt, TRAIN, VAL, epochs=epochs, batch_size=10, scheduler=sched, seed=loader_seed,
                  initial_epoch=epoch, history=History.from_dict(saved_history), verbose=False)

    assert_same_weights(snapshot(model), expected)
    for k, v in opt.state_dict()["state"][0].items():
        if isinstance(v, ember.Tensor):
            np.testing.assert_array_equal(v.numpy(), expected_opt[k])
    assert resumed["epoch"] == list(range(1, epochs + 1))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert resumed[key] == full[key], key


def test_resuming_without_the_rng_state_would_differ(tmp_path):
    """The control for the test above: dropout and shuffling really depend on the RNG state."""
    loss_fn = nn.CrossEntropyLoss()
    model, opt, sched = training_setup(0)
    ember.manual_seed(100)
    fit(model, loss_fn, opt, TRAIN, epochs=2, batch_size=10, scheduler=sched, verbose=False)
    a = snapshot(model)
    model, opt, sched = training_setup(0)
    ember.manual_seed(101)
    fit(model, loss_fn, opt, TRAIN, epochs=2, batch_size=10, scheduler=sched, verbose=False)
    with pytest.raises(AssertionError):
        assert_same_weights(a, snapshot(model))


def test_model_checkpoint_writes_every_epoch_atomically(tmp_path):
    path = tmp_path / "run" / "last.safetensors"
    path.parent.mkdir()

    class CheckFile(Callback):
        def __init__(self):
            self.epochs = []

        def on_epoch_end(self, state, record):
            probe, _, _ = training_setup(5)
            epoch, hist, _ = load_checkpoint(path, probe)
            assert_same_weights(snapshot(probe), snapshot(state.model))
            self.epochs.append(epoch)
            assert os.listdir(path.parent) == ["last.safetensors"]  # no temp file left behind

    model, opt, sched = training_setup(0)
    check = CheckFile()
    fit(model, nn.CrossEntropyLoss(), opt, TRAIN, VAL, epochs=3, scheduler=sched,
        callbacks=[ModelCheckpoint(path), check], verbose=False)
    assert check.epochs == [1, 2, 3]


def test_model_checkpoint_save_best_only(tmp_path):
    path = tmp_path / "best.safetensors"
    model, opt, _ = training_setup(0)
    snaps = Snapshots()
    scores = [3, 1, 2, 0.5, 4]
    fit(model, nn.CrossEntropyLoss(), opt, TRAIN, epochs=5, verbose=False,
        callbacks=[snaps, InjectScore(scores), ModelCheckpoint(path, monitor="score", save_best_only=True)])
    probe, _, _ = training_setup(1)
    epoch, _, _ = load_checkpoint(path, probe)
    assert epoch == 4
    assert_same_weights(snapshot(probe), snaps.by_epoch[4])


def test_model_checkpoint_save_best_only_needs_its_metric(tmp_path):
    model, opt, _ = training_setup(0)
    with pytest.raises(KeyError, match="val_loss.*pass val_data"):
        fit(model, nn.CrossEntropyLoss(), opt, TRAIN, epochs=1, verbose=False,
            callbacks=[ModelCheckpoint(tmp_path / "c.safetensors", save_best_only=True)])


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched = training_setup(0)
    snaps = Snapshots()
    fit(model, nn.CrossEntropyLoss(), opt, TRAIN, epochs=1, scheduler=sched, callbacks=[snaps, ModelCheckpoint(path)],
        verbose=False)
    before = path.read_bytes()

    from ember import _C

    real = _C._io.save_safetensors

    def failing(p, tensors, metadata):  # the disk fills up while the file is written
        real(p, tensors[:1] + [("big", ember.zeros(1 << 20))], metadata)

    import resource
    import signal

    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 4096, old_limit[1]))
    monkeypatch.setattr(_C._io, "save_safetensors", failing)
    try:
        with pytest.raises((OSError, RuntimeError), match="File too large"):
            fit(model, nn.CrossEntropyLoss(), opt, TRAIN, epochs=2, initial_epoch=1, scheduler=sched,
                callbacks=[ModelCheckpoint(path)], verbose=False)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


OPTIMIZERS = {
    "sgd_nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam_amsgrad": lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2, betas=(0.8, 0.99)),
    "rmsprop_centered": lambda ps: optim.RMSprop(ps, lr=1e-3, momentum=0.5, centered=True),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1),
    "two_groups": lambda ps: optim.SGD([{"params": ps[:2], "lr": 0.1}, {"params": ps[2:]}], lr=0.01, momentum=0.9),
}

SCHEDULERS = {
    "none": lambda o: None,
    "step": lambda o: optim.lr_scheduler.StepLR(o, 2, gamma=0.5),
    "multistep": lambda o: optim.lr_scheduler.MultiStepLR(o, [1, 4], gamma=0.3),
    "exponential": lambda o: optim.lr_scheduler.ExponentialLR(o, 0.9),
    "cosine": lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=1e-4),
    "linear": lambda o: optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
    "inverse_time": lambda o: optim.lr_scheduler.InverseTimeLR(o, 0.5),
    "inverse_sqrt": lambda o: optim.lr_scheduler.InverseSqrtLR(o, warmup=2),
    "lambda": lambda o: optim.lr_scheduler.LambdaLR(o, lambda e: 1.0 / (1 + e)),
    "plateau": lambda o: ReduceLROnPlateau(o, factor=0.5, patience=0, threshold=0.5),
}


def train_steps(model, opt, sched, steps, x, y):
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if isinstance(sched, ReduceLROnPlateau):
            sched.step(loss.item())
        elif sched is not None:
            sched.step()


@pytest.mark.parametrize("opt_name, sched_name", [(o, "step") for o in OPTIMIZERS] + [
    ("sgd_nesterov", s) for s in SCHEDULERS if s != "step"])
def test_checkpoint_round_trip_continues_exactly(tmp_path, opt_name, sched_name):
    from ember.io import save_checkpoint

    x, y = ember.tensor(TRAIN[0][:32]), ember.tensor(TRAIN[1][:32])

    def setup(seed):
        model = mlp(seed=seed, dropout=0.25)
        opt = OPTIMIZERS[opt_name](list(model.parameters()))
        return model, opt, SCHEDULERS[sched_name](opt)

    model, opt, sched = setup(0)
    ember.manual_seed(7)
    train_steps(model, opt, sched, 3, x, y)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, opt, sched, epoch=3, extra={"note": "three steps"})
    train_steps(model, opt, sched, 4, x, y)
    expected, expected_lrs = snapshot(model), [g["lr"] for g in opt.param_groups]

    other, other_opt, other_sched = setup(1)
    ember.manual_seed(8)
    epoch, history, extra = load_checkpoint(path, other, other_opt, other_sched)
    assert (epoch, history, extra) == (3, None, {"note": "three steps"})
    train_steps(other, other_opt, other_sched, 4, x, y)
    assert_same_weights(snapshot(other), expected)
    assert [g["lr"] for g in other_opt.param_groups] == expected_lrs


def test_load_checkpoint_rejects_plain_safetensors(tmp_path):
    path = tmp_path / "weights.safetensors"
    model = mlp()
    ember.save(model.state_dict(), path)
    with pytest.raises(ValueError, match="not an ember checkpoint"):
        load_checkpoint(path, mlp())


# ---- ReduceLROnPlateau in the loop -------------------------------------------------------------------------

class SpyPlateau(ReduceLROnPlateau):
    """A subclass, as users write them: fit must still pass it the metric."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def step(self, metrics):
        self.seen.append(metrics)
        super().step(metrics)


def test_reduce_lr_on_plateau_is_stepped_with_the_validation_loss():
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    sched = SpyPlateau(opt, factor=0.5, patience=0, threshold=0.0)
    history = fit(model, nn.CrossEntropyLoss(), opt, TRAIN, VAL, epochs=8, batch_size=8, scheduler=sched,
                  verbose=False)
    assert sched.seen == history["val_loss"]
    # Replay the rule on the recorded losses: the lr halves after each epoch that did not improve.
    lr, best, expected = 0.5, math.inf, []
    for v in history["val_loss"]:
        expected.append(lr)
        if v < best:
            best = v
        else:
            lr *= 0.5
    assert history["lr"] == expected
    assert opt.param_groups[0]["lr"] == lr  # the step after the last epoch counts too
    assert lr < 0.5, "the lr never dropped: the test did not exercise the schedule"


def test_reduce_lr_on_plateau_without_val_data_uses_the_train_loss():
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = SpyPlateau(opt, patience=1)
    history = fit(model, nn.CrossEntropyLoss(), opt, TRAIN, epochs=3, scheduler=sched, verbose=False)
    assert sched.seen == history["loss"]


def test_epoch_schedulers_step_once_per_epoch():
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=1.0)
    history = fit(model, nn.CrossEntropyLoss(), opt, TRAIN, epochs=5, scheduler=StepLR(opt, 2, gamma=0.1),
                  verbose=False)
    np.testing.assert_allclose(history["lr"], [1.0, 1.0, 0.1, 0.1, 0.01])


# ---- hyperparameter search ---------------------------------------------------------------------------------

def build(lr, hidden=8):
    model = mlp(hidden=hidden, dropout=0.0)
    return model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr)


def test_grid_search_tries_every_combination():
    rows = grid_search(build, {"lr": [1e-4, 0.3], "hidden": [4, 8]}, TRAIN, VAL, epochs=2, batch_size=16)
    assert len(rows) == 4
    assert {(r["lr"], r["hidden"]) for r in rows} == {(1e-4, 4), (1e-4, 8), (0.3, 4), (0.3, 8)}
    for r in rows:
        assert set(r) >= {"lr", "hidden", "val_loss", "val_accuracy", "train_loss"}
    accs = [r["val_accuracy"] for r in rows]
    assert accs == sorted(accs, reverse=True)
    assert rows[0]["lr"] == 0.3
    table = format_table(rows)
    lines = table.splitlines()
    assert len(lines) == 5 and lines[0].split() == list(rows[0])
    by_loss = grid_search(build, {"lr": [1e-4, 0.3]}, TRAIN, VAL, epochs=1, monitor="val_loss")
    assert by_loss[0]["val_loss"] <= by_loss[1]["val_loss"]


def test_random_search_samples_the_ranges():
    space = {"lr": (1e-3, 1.0), "hidden": (2, 6), "momentum": [0.0, 0.9]}

    def build_m(lr, hidden, momentum):
        model = mlp(hidden=hidden, dropout=0.0)
        return {"model": model, "loss_fn": nn.CrossEntropyLoss(),
                "optimizer": optim.SGD(model.parameters(), lr=lr, momentum=momentum)}

    rows = random_search(build_m, space, TRAIN, VAL, n_iter=6, epochs=1, seed=3)
    assert len(rows) == 6
    for r in rows:
        assert 1e-3 <= r["lr"] <= 1.0
        assert isinstance(r["hidden"], int) and 2 <= r["hidden"] <= 6
        assert r["momentum"] in (0.0, 0.9)
    accs = [r["val_accuracy"] for r in rows]
    assert accs == sorted(accs, reverse=True)
    again = random_search(build_m, space, TRAIN, VAL, n_iter=6, epochs=1, seed=3)
    assert sorted(r["lr"] for r in rows) == sorted(r["lr"] for r in again)


def test_search_errors():
    with pytest.raises(ValueError, match="param_grid"):
        grid_search(build, {}, TRAIN, VAL)
    with pytest.raises(ValueError, match="param_grid"):
        grid_search(build, {"lr": []}, TRAIN, VAL)
    with pytest.raises(ValueError, match="cannot sample"):
        random_search(build, {"lr": 0.1}, TRAIN, VAL, n_iter=1)
    with pytest.raises(ValueError, match="n_iter"):
        random_search(build, {"lr": [0.1]}, TRAIN, VAL, n_iter=0)


# ---- progress output ---------------------------------------------------------------------------------------

def test_plain_lines_when_not_a_terminal(capsys):
    model = mlp()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, VAL, epochs=3, verbose=True)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines, 1):
        assert line.startswith(f"epoch {i}/3  loss ")
        for word in ("accuracy", "val_loss", "val_accuracy", "samples/s"):
            assert word in line
    assert "\r" not in out and err == ""


def test_early_stop_is_reported(capsys):
    model = mlp()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, epochs=5,
        callbacks=[InjectScore([1, 2, 3, 4, 5]), EarlyStopping("score", patience=1)])
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "early stopping after epoch 2"


def test_verbose_false_is_silent(capsys):
    model = mlp()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, VAL, epochs=2, verbose=False)
    assert capsys.readouterr() == ("", "")


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    model = mlp()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, VAL, epochs=2, batch_size=16,
        verbose=True)
    bar = term.getvalue()
    assert "epoch 1/2" in bar and "epoch 2/2" in bar
    assert "val_accuracy" in bar and "samples/s" in bar
    assert capsys.readouterr().out == ""  # no duplicate plain lines
