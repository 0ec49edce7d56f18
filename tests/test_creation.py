"""Creation functions and the seeded global generator."""
import numpy as np
import pytest

import ember
from conftest import check


def test_tensor_from_python_data():
    check(ember.tensor([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]]), dtype=ember.int64)
    check(ember.tensor([1.5, 2]), np.array([1.5, 2.0]), dtype=ember.float32)
    check(ember.tensor(3), np.array(3), dtype=ember.int64)
    check(ember.tensor(3.0, dtype=ember.float64), np.array(3.0), dtype=ember.float64)
    check(ember.tensor([[1, 2]], dtype=ember.float32), np.array([[1.0, 2.0]]), dtype=ember.float32)
    check(ember.tensor([]), np.zeros(0), dtype=ember.float32)
    check(ember.tensor((1.0, 2.0)), np.array([1.0, 2.0]))
    t = ember.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None


def test_tensor_from_tensor_copies_and_detaches():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor(x)
    assert not y.requires_grad and y.data_ptr() != x.data_ptr()
    assert ember.as_tensor(x) is x


def test_tensor_rejects_bad_data():
    with pytest.raises(ValueError, match="could not convert"):
        ember.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        ember.tensor("abc")
    with pytest.raises(TypeError):
        ember.tensor([1 + 2j])
    with pytest.raises(TypeError):
        ember.tensor(None)
    with pytest.raises(TypeError, match="dtype must be an ember dtype"):
        ember.tensor([1.0], dtype=np.float32)


@pytest.mark.parametrize("fn, value", [(ember.zeros, 0.0), (ember.ones, 1.0)])
def test_zeros_ones(fn, value):
    for size_args in [(2, 3), ((2, 3),), ([2, 3],), (), (0,), (4,)]:
        t = fn(*size_args)
        shape = size_args[0] if len(size_args) == 1 and isinstance(size_args[0], (tuple, list)) else size_args
        check(t, np.full(tuple(shape), value), dtype=ember.float32)
    for dt in (ember.float64, ember.int64, ember.bool):
        t = fn(3, dtype=dt)
        assert t.dtype == dt and t.tolist() == [type(t.tolist()[0])(value)] * 3
    assert fn(2, requires_grad=True).requires_grad


def test_full_and_like():
    check(ember.full((2, 2), 7.5), np.full((2, 2), 7.5), dtype=ember.float32)
    assert ember.full((2,), 3).dtype == ember.int64  # int fill value -> int64, like torch
    assert ember.full((2,), True).dtype == ember.bool
    check(ember.full(3, -1.0, dtype=ember.float64), np.full(3, -1.0), dtype=ember.float64)
    base = ember.tensor([[1, 2, 3]])
    for fn, expected in [(ember.zeros_like, 0), (ember.ones_like, 1)]:
        t = fn(base)
        check(t, np.full((1, 3), expected), dtype=ember.int64)
    check(ember.full_like(base, 9), np.full((1, 3), 9), dtype=ember.int64)
    assert ember.zeros_like(base, dtype=ember.float64).dtype == ember.float64
    assert ember.empty_like(base).shape == (1, 3)
    f = ember.ones(2, 5, dtype=ember.float64)
    assert ember.rand_like(f).shape == (2, 5) and ember.rand_like(f).dtype == ember.float64
    assert ember.randn_like(f).shape == (2, 5)
    assert ember.empty(2, 3).shape == (2, 3)


def test_arange(torch):
    cases = [(5,), (2, 7), (0, 1, 0.1), (1.0, 2.5, 0.5), (10, 0, -3), (-1.5, 1.5, 0.25), (3, 3), (0, 10, 3)]
    for args in cases:
        e, t = ember.arange(*args), torch.arange(*args)
        assert e.dtype.name == str(t.dtype).replace("torch.", ""), args
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, err_msg=str(args))
    assert ember.arange(4, dtype=ember.float64).dtype == ember.float64
    with pytest.raises(ValueError, match="step must be nonzero"):
        ember.arange(0, 1, 0)
    with pytest.raises(ValueError, match="inconsistent with step sign"):
        ember.arange(0, 5, -1)


def test_linspace_eye(torch):
    for args in [(0, 1, 5), (-2, 3, 11), (1, 1, 1), (0, 1, 0), (5, -5, 4)]:
        e, t = ember.linspace(*args), torch.linspace(*args)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-7, err_msg=str(args))
        if args[2] > 0:
            assert e.tolist()[-1] == pytest.approx(args[1], abs=0) and e.tolist()[0] == args[0]
    check(ember.eye(3), np.eye(3))
    check(ember.eye(2, 4), np.eye(2, 4))
    check(ember.eye(3, dtype=ember.int64), np.eye(3, dtype=np.int64))
    check(ember.eye(0), np.eye(0))
    with pytest.raises(ValueError):
        ember.linspace(0, 1, -1)
    with pytest.raises(ValueError):
        ember.eye(-1)


def test_manual_seed_reproducible():
    ember.manual_seed(42)
    a = [ember.rand(5), ember.randn(3, 3), ember.randint(0, 10, (6,)), ember.randperm(7)]
    ember.manual_seed(42)
    b = [ember.rand(5), ember.randn(3, 3), ember.randint(0, 10, (6,)), ember.randperm(7)]
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    ember.manual_seed(43)
    assert ember.rand(5).tolist() != a[0].tolist()


def test_rng_state_roundtrip():
    ember.manual_seed(0)
    ember.randn(3)  # leaves a cached second normal in the state
    state = ember.get_rng_state()
    x = ember.randn(7).tolist()
    ember.set_rng_state(state)
    assert ember.randn(7).tolist() == x


def test_rand_distribution():
    ember.manual_seed(1)
    for dt in (ember.float32, ember.float64):
        r = ember.rand(100_000, dtype=dt).numpy()
        assert r.dtype == np.dtype(dt.name)
        assert r.min() >= 0.0 and r.max() < 1.0
        assert abs(r.mean() - 0.5) < 0.01 and abs(r.var() - 1 / 12) < 0.01


def test_randn_distribution():
    ember.manual_seed(2)
    for dt in (ember.float32, ember.float64):
        r = ember.randn(200_000, dtype=dt).numpy()
        assert abs(r.mean()) < 0.01 and abs(r.std() - 1.0) < 0.01
        assert 0.30 < np.mean(r > 0.5) < 0.32  # P(Z > 0.5) = 0.3085
    assert ember.randn(2, 3).shape == (2, 3)
    assert ember.randn((2, 3)).shape == (2, 3)


def test_randint_range():
    ember.manual_seed(3)
    r = ember.randint(-3, 4, (50_000,))
    assert r.dtype == ember.int64
    v = r.numpy()
    assert v.min() == -3 and v.max() == 3
    counts = np.bincount(v + 3)
    assert counts.min() > 50_000 / 7 * 0.9
    r = ember.randint(5, size=(1000,))
    assert r.numpy().min() >= 0 and r.numpy().max() <= 4
    big = ember.randint(0, 2**62, (100,)).numpy()
    assert big.min() >= 0 and big.max() > 2**60
    with pytest.raises(ValueError, match="low < high"):
        ember.randint(3, 3, (2,))


def test_randperm():
    ember.manual_seed(4)
    p = ember.randperm(100)
    assert p.dtype == ember.int64 and sorted(p.tolist()) == list(range(100))
    assert ember.randperm(0).shape == (0,)
    with pytest.raises(ValueError):
        ember.randperm(-1)
