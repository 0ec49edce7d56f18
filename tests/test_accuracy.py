"""The main job's acceptance figures, trained through `ember train` (fixed seeds, official test splits).

Printed with: python -m pytest tests/test_accuracy.py -s"""
import json

import pytest

from ember import cli, datasets


def _test_accuracy(tmp_path, *args):
    out = tmp_path / "run"
    assert cli.main(["train", "--out", str(out), "--quiet", *args]) == 0
    acc = json.loads((out / "metrics.json").read_text())["test_accuracy"]
    print(f"\n{' '.join(args)}: test accuracy {acc:.4f}")
    return acc


def _needs(name):
    try:
        datasets.load(name)
    except datasets.DatasetNotFoundError as e:
        pytest.fail(str(e))  # CI installs every data set: a missing one is a failure, not a skip


def test_digits_mlp(tmp_path):
    assert _test_accuracy(tmp_path, "--data", "digits", "--model", "mlp") >= 0.97


def test_two_spirals_mlp(tmp_path):
    assert _test_accuracy(tmp_path, "--data", "spirals", "--model", "mlp") >= 0.99


def test_mnist_5k_lenet5(tmp_path):
    _needs("mnist-5k")
    assert _test_accuracy(tmp_path, "--data", "mnist-5k", "--model", "lenet5") >= 0.96


def test_fashion_mnist_mlp(tmp_path):
    _needs("fashion-mnist")
    assert _test_accuracy(tmp_path, "--data", "fashion-mnist", "--model", "mlp", "--epochs", "15",
                          "--dropout", "0.2", "--schedule", "cosine", "--batch-size", "128") >= 0.89


def test_fashion_mnist_cnn(tmp_path):
    _needs("fashion-mnist")
    assert _test_accuracy(tmp_path, "--data", "fashion-mnist", "--model", "cnn", "--epochs", "15") >= 0.925
