"""ember.metrics: accuracy / zero_one_error / confusion_matrix against numpy references, for
scores, probabilities, labels, binary scores, one-hot targets and bad input."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import metrics


def _cm_ref(t, p, k):
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def test_metrics_is_a_lazy_submodule():
    assert ember.metrics is metrics
    assert set(metrics.__all__) == {"accuracy", "zero_one_error", "confusion_matrix"}


def test_accuracy_from_scores_probabilities_and_labels(rng):
    logits = rng.standard_normal((50, 7))
    y = rng.integers(0, 7, 50)
    want = float((logits.argmax(1) == y).mean())
    x = ember.tensor(logits, requires_grad=True)
    assert metrics.accuracy(x, ember.tensor(y)) == pytest.approx(want)
    probs = ember.nn.functional.softmax(ember.tensor(logits), dim=1)
    assert metrics.accuracy(probs, ember.tensor(y)) == pytest.approx(want)
    assert metrics.accuracy(ember.tensor(logits.argmax(1)), ember.tensor(y)) == pytest.approx(want)
    assert metrics.zero_one_error(x, ember.tensor(y)) == pytest.approx(1 - want)
    assert x.grad is None


def test_accuracy_binary_one_hot_and_dense(rng):
    p = rng.uniform(0, 1, 40)
    y = rng.integers(0, 2, 40)
    assert metrics.accuracy(ember.tensor(p), ember.tensor(y)) == pytest.approx(((p >= 0.5) == y).mean())
    logit = np.log(p / (1 - p))
    assert metrics.accuracy(ember.tensor(logit), ember.tensor(y), threshold=0.0) == pytest.approx(
        ((p >= 0.5) == y).mean())
    assert metrics.accuracy(ember.tensor(p), ember.tensor(y.astype(np.float32))) == pytest.approx(
        ((p >= 0.5) == y).mean())
    scores = rng.standard_normal((30, 4))
    labels = rng.integers(0, 4, 30)
    onehot = np.eye(4)[labels]
    assert metrics.accuracy(ember.tensor(scores), ember.tensor(onehot)) == pytest.approx(
        (scores.argmax(1) == labels).mean())
    seg = rng.standard_normal((2, 3, 4, 5))
    segy = rng.integers(0, 3, (2, 4, 5))
    assert metrics.accuracy(ember.tensor(seg), ember.tensor(segy)) == pytest.approx((seg.argmax(1) == segy).mean())
    single = rng.standard_normal(5)
    assert metrics.accuracy(ember.tensor(single), ember.tensor(int(single.argmax()))) == 1.0


def test_accuracy_empty_is_nan():
    assert np.isnan(metrics.accuracy(ember.zeros(0, 3), ember.zeros(0, dtype=ember.int64)))


def test_confusion_matrix_matches_numpy(rng):
    for k, n in [(3, 20), (10, 1000), (1, 5)]:
        t = rng.integers(0, k, n)
        p = rng.integers(0, k, n)
        cm = metrics.confusion_matrix(ember.tensor(p), ember.tensor(t), num_classes=k)
        assert cm.dtype == ember.int64
        np.testing.assert_array_equal(cm.numpy(), _cm_ref(t, p, k))
    scores = rng.standard_normal((60, 5))
    t = rng.integers(0, 5, 60)
    cm = metrics.confusion_matrix(ember.tensor(scores), ember.tensor(t), 5)
    np.testing.assert_array_equal(cm.numpy(), _cm_ref(t, scores.argmax(1), 5))
    assert cm.numpy().sum() == 60
    # num_classes inferred from the largest label
    cm = metrics.confusion_matrix(ember.tensor([0, 2]), ember.tensor([1, 2]))
    np.testing.assert_array_equal(cm.numpy(), [[0, 0, 0], [1, 0, 0], [0, 0, 1]])


def test_confusion_matrix_diagonal_is_accuracy(rng):
    scores = ember.tensor(rng.standard_normal((200, 6)))
    y = ember.tensor(rng.integers(0, 6, 200))
    cm = metrics.confusion_matrix(scores, y, 6).numpy()
    assert np.trace(cm) / cm.sum() == pytest.approx(metrics.accuracy(scores, y))


def test_bad_input():
    with pytest.raises(ValueError, match="not match"):
        metrics.accuracy(ember.randn(4, 3), ember.tensor([0, 1]))
    with pytest.raises(ValueError, match="not match"):
        metrics.accuracy(ember.randn(4, 3), ember.tensor([[0, 1]]))
    with pytest.raises(TypeError, match="ember.Tensor"):
        metrics.accuracy([0.1, 0.9], ember.tensor([1, 0]))
    with pytest.raises(ValueError, match="outside"):
        metrics.confusion_matrix(ember.tensor([0, 3]), ember.tensor([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match="target label -1"):
        metrics.confusion_matrix(ember.tensor([0, 1]), ember.tensor([0, -1]), num_classes=3)
    with pytest.raises(ValueError, match="non-negative"):
        metrics.confusion_matrix(ember.tensor([0]), ember.tensor([0]), num_classes=-2)
