"""nn.init and the layers' default initialisation: the distributions torch uses, checked
statistically (bounds, mean, standard deviation, quantiles) on large tensors."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import init
from layer_helpers import np_of


def assert_uniform(values, bound, center=0.0):
    v = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = center - bound, center + bound
    assert v.min() >= lo and v.max() <= hi, (v.min(), v.max(), lo, hi)
    n = v.size
    # the extremes come close to the bounds, the quartiles sit where a uniform puts them
    assert v.min() < lo + 20 * (2 * bound) / n and v.max() > hi - 20 * (2 * bound) / n
    # tolerances: 6 standard errors of each statistic for n uniform draws
    se = 2 * bound / math.sqrt(12 * n)
    assert abs(v.mean() - center) < 6 * se
    assert abs(v.std() - bound / math.sqrt(3)) < 6 * 0.45 / math.sqrt(n) * bound / math.sqrt(3)
    q1, q3 = np.quantile(v, [0.25, 0.75])
    tol_q = 6 * 0.87 * bound / math.sqrt(n)
    assert abs(q1 - (center - bound / 2)) < tol_q and abs(q3 - (center + bound / 2)) < tol_q


def assert_normal(values, std, mean=0.0):
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    assert abs(v.mean() - mean) < 6 * std / math.sqrt(n)
    assert abs(v.std() - std) < 6 / math.sqrt(2 * n) * std
    within = np.mean(np.abs(v - mean) < std)
    assert abs(within - 0.6827) < 6 * 0.47 / math.sqrt(n)
    if n > 10_000:
        assert np.abs(v - mean).max() > 3 * std  # tails present (a uniform would stop at 1.73 std)


# --- layers' defaults --------------------------------------------------------------------------------
@pytest.mark.parametrize("in_f,out_f", [(784, 256), (300, 1000)])
def test_linear_default_init(in_f, out_f):
    ember.manual_seed(0)
    m = nn.Linear(in_f, out_f)
    bound = 1 / math.sqrt(in_f)  # kaiming_uniform(a=sqrt(5)) reduces to this
    assert_uniform(np_of(m.weight), bound)
    b = np_of(m.bias)
    assert np.all(np.abs(b) <= bound) and b.std() > 0.4 * bound


@pytest.mark.parametrize("cin,cout,k,groups", [(16, 32, 5, 1), (8, 64, 3, 8), (64, 128, 3, 2)])
def test_conv2d_default_init(cin, cout, k, groups):
    ember.manual_seed(1)
    m = nn.Conv2d(cin, cout, k, groups=groups)
    bound = 1 / math.sqrt(cin // groups * k * k)
    assert_uniform(np_of(m.weight), bound)
    assert np.all(np.abs(np_of(m.bias)) <= bound)


def test_conv1d_default_init():
    ember.manual_seed(2)
    m = nn.Conv1d(32, 256, 7)
    assert_uniform(np_of(m.weight), 1 / math.sqrt(32 * 7))


def test_embedding_default_init():
    ember.manual_seed(3)
    m = nn.Embedding(2000, 64, padding_idx=5)
    w = np_of(m.weight)
    np.testing.assert_array_equal(w[5], 0)
    assert_normal(np.delete(w, 5, axis=0), 1.0)


def test_norm_layers_default_init():
    bn, ln = nn.BatchNorm2d(7), nn.LayerNorm((3, 4))
    for w, b in ((bn.weight, bn.bias), (ln.weight, ln.bias)):
        np.testing.assert_array_equal(np_of(w), 1)
        np.testing.assert_array_equal(np_of(b), 0)
    np.testing.assert_array_equal(np_of(bn.running_mean), 0)
    np.testing.assert_array_equal(np_of(bn.running_var), 1)
    assert bn.num_batches_tracked.dtype == ember.int64 and bn.num_batches_tracked.item() == 0
    with ember.no_grad():
        ln.weight.fill_(3.0)
    ln.reset_parameters()
    np.testing.assert_array_equal(np_of(ln.weight), 1)


def test_default_init_matches_torch_statistics(torch):
    torch.manual_seed(0)
    ember.manual_seed(0)
    for e, t in [(nn.Linear(500, 400), torch.nn.Linear(500, 400)),
                 (nn.Conv2d(12, 48, 3), torch.nn.Conv2d(12, 48, 3)),
                 (nn.Embedding(500, 100), torch.nn.Embedding(500, 100))]:
        for name, tp in t.named_parameters():
            ev, tv = np_of(dict(e.named_parameters())[name]), tp.detach().numpy()
            assert ev.shape == tv.shape
            rel = 8 / math.sqrt(tv.size)  # both are samples: a few standard errors of their difference
            assert abs(ev.std() - tv.std()) < rel * tv.std(), name
            if name != "weight" or not isinstance(e, nn.Embedding):  # uniform: the same bound
                assert abs(np.abs(ev).max() - np.abs(tv).max()) < 20 * np.abs(tv).max() / tv.size, name


def test_init_is_repeatable_with_manual_seed():
    ember.manual_seed(42)
    a = np_of(nn.Linear(10, 10).weight).copy()
    ember.manual_seed(42)
    np.testing.assert_array_equal(np_of(nn.Linear(10, 10).weight), a)


# --- nn.init functions --------------------------------------------------------------------------------
def test_uniform_normal_constant():
    ember.manual_seed(4)
    t = ember.empty(400, 500)
    assert init.uniform_(t, -2.0, 3.0) is t
    assert_uniform(np_of(t), 2.5, center=0.5)
    init.normal_(t, 1.5, 0.2)
    assert_normal(np_of(t), 0.2, mean=1.5)
    init.constant_(t, 0.25)
    np.testing.assert_array_equal(np_of(t), 0.25)
    init.zeros_(t)
    np.testing.assert_array_equal(np_of(t), 0)
    init.ones_(t)
    np.testing.assert_array_equal(np_of(t), 1)
    init.eye_(t)
    np.testing.assert_array_equal(np_of(t), np.eye(400, 500))
    d = ember.empty(1000, 100, dtype=ember.float64)
    init.normal_(d)
    assert d.dtype == ember.float64
    assert_normal(np_of(d), 1.0)


@pytest.mark.parametrize("shape", [(300, 500), (64, 32, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(shape, gain):
    ember.manual_seed(5)
    fan_in = shape[1] * int(np.prod(shape[2:]))
    fan_out = shape[0] * int(np.prod(shape[2:]))
    t = ember.empty(*shape)
    init.xavier_uniform_(t, gain)
    assert_uniform(np_of(t), gain * math.sqrt(6 / (fan_in + fan_out)))
    init.xavier_normal_(t, gain=gain)
    assert_normal(np_of(t), gain * math.sqrt(2 / (fan_in + fan_out)))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0), ("leaky_relu", 0.2), ("tanh", 0),
                                            ("linear", 0)])
def test_kaiming(mode, nonlinearity, a):
    ember.manual_seed(6)
    t = ember.empty(200, 80, 3, 3)
    fan = 80 * 9 if mode == "fan_in" else 200 * 9
    gain = init.calculate_gain(nonlinearity, a)
    init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    assert_uniform(np_of(t), math.sqrt(3) * gain / math.sqrt(fan))
    init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    assert_normal(np_of(t), gain / math.sqrt(fan))


def test_calculate_gain_values():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "big")


def test_calculate_gain_equals_torch(torch):
    for name, param in [("linear", None), ("conv1d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None), ("conv_transpose2d", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_init_records_no_gradient():
    m = nn.Linear(4, 3)
    init.xavier_uniform_(m.weight)
    init.normal_(m.bias)
    assert m.weight.is_leaf and m.weight.requires_grad and m.weight.grad_fn is None
    m(ember.ones(2, 4)).sum().backward()
    np.testing.assert_allclose(np_of(m.bias.grad), 2.0)


def test_init_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ember.empty(5))
    with pytest.raises(ValueError, match="Mode"):
        init.kaiming_uniform_(ember.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError):
        init.uniform_(ember.empty(3), 1.0, 0.0)
    with pytest.raises(ValueError):
        init.normal_(ember.empty(3), 0.0, -1.0)
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(ember.empty(2, 2, 2))
