"""The `ember` command end to end: a short training run writes a complete run folder that eval and predict
read back; user mistakes give one-line errors and exit status 2."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ember import cli


def _train(tmp_path, *extra):
    out = tmp_path / "run"
    code = cli.main(["train", "--epochs", "2", "--out", str(out), "--quiet", *extra])
    assert code == 0
    return out


def test_train_writes_run_folder(tmp_path, capsys):
    out = _train(tmp_path)
    text = capsys.readouterr().out
    assert "test accuracy" in text
    for name in ("model.safetensors", "config.json", "history.json", "metrics.json"):
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    assert len(history["epochs"]) == 2 and "val_loss" in history["epochs"][0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.5 < metrics["test_accuracy"] <= 1.0  # two epochs of an MLP on digits already learn a lot


def test_plots_written(tmp_path):
    pytest.importorskip("matplotlib")
    out = _train(tmp_path, "--data", "moons", "--samples", "200")
    for name in ("loss.png", "accuracy.png", "decision_boundary.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_eval_and_predict_read_the_run(tmp_path, capsys):
    out = _train(tmp_path)
    capsys.readouterr()
    trained = json.loads((out / "metrics.json").read_text())["test_accuracy"]
    assert cli.main(["eval", str(out)]) == 0
    assert f"accuracy {trained:.4f}" in capsys.readouterr().out  # the saved model gives the same accuracy
    assert cli.main(["predict", str(out), "--count", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and "true:" in lines[0]
    x = np.random.default_rng(0).random((4, 64), dtype=np.float32)  # flat 8x8 rows, as a CSV holds them
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    assert cli.main(["predict", str(out), "--input", str(tmp_path / "x.csv")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 4


@pytest.mark.parametrize("args, message", [
    (["train", "--model", "resnet"], "unknown model 'resnet'"),
    (["train", "--data", "imagenet"], "unknown data set 'imagenet'"),
    (["train", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "--lr", "-1"], "--lr must be positive"),
    (["train", "--model", "lenet5", "--data", "moons"], "does not fit data set"),
    (["eval", "/nonexistent/run"], "not a run folder"),
])
def test_user_mistakes_are_one_line_errors(args, message, capsys):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_console_entry_point_runs_as_module(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ember", "train", "--help"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert r.returncode == 0 and "--optimizer" in r.stdout
