"""matmul (1-D, 2-D, batched with broadcast batch dims, transposed and strided operands) and
ember.linalg.solve / inv / det, including the normal equation of linear regression."""
import numpy as np
import pytest

import ember
from conftest import check, make

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((1, 1), (1, 1)),
    ((5, 3), (3, 1)),
    ((4, 2, 3), (3, 5)),
    ((3,), (4, 3, 2)),
    ((4, 2, 3), (3,)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((1, 4, 3), (2, 1, 3, 5)),
    ((0, 3), (3, 4)),
    ((2, 0), (0, 3)),
    ((2, 3), (3, 0)),
    ((0, 2, 3), (3, 2)),
    ((17, 33), (33, 9)),
]


@pytest.mark.parametrize("case", range(len(MATMUL_SHAPES)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_matches_numpy(case, dtype, rng):
    sa, sb = MATMUL_SHAPES[case]
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    expected = np.matmul(a, b)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for nc_a, nc_b in [(False, False), (True, False), (False, True), (True, True)]:
        out = ember.matmul(make(a, nc_a), make(b, nc_b))
        check(out, expected, rtol=tol, atol=tol)
    check(ember.tensor(a) @ ember.tensor(b), expected, rtol=tol, atol=tol)


def test_matmul_transposed_operands(rng):
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((6, 5))
    ta, tb = ember.tensor(a), ember.tensor(b)
    check(ta.t() @ tb.t(), a.T @ b.T, rtol=1e-12)
    check(ta.T @ ember.tensor(b.T.copy()), a.T @ b.T, rtol=1e-12)
    batch = rng.standard_normal((3, 4, 5))
    tbatch = ember.tensor(batch)
    check(tbatch.transpose(1, 2) @ tbatch, batch.transpose(0, 2, 1) @ batch, rtol=1e-12)
    check(tbatch.permute(2, 0, 1)[1:3] @ ember.tensor(a[:3, :4]).t().unsqueeze(0),
          batch.transpose(2, 0, 1)[1:3] @ a[:3, :4].T[None], rtol=1e-12)
    big = rng.standard_normal((8, 9))
    check(ember.tensor(big)[::2, 1::3] @ ember.tensor(big)[1::3, ::2], big[::2, 1::3] @ big[1::3, ::2], rtol=1e-12)
    # a broadcast (stride-0) operand
    row = rng.standard_normal((1, 5))
    check(ember.tensor(row).expand(4, 5) @ ember.tensor(a), np.broadcast_to(row, (4, 5)) @ a, rtol=1e-12)


def test_matmul_dtypes():
    i = ember.tensor([[1, 2], [3, 4]])
    check(i @ i, np.array([[7, 10], [15, 22]]), dtype=ember.int64)
    f = ember.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=ember.float64)
    assert (ember.tensor([[1.0, 2.0]]) @ f).dtype == ember.float64
    with pytest.raises(TypeError, match="bool"):
        ember.tensor([[True]]) @ ember.tensor([[True]])


def test_matmul_errors():
    with pytest.raises(ValueError, match="cannot be multiplied"):
        ember.zeros(2, 3) @ ember.zeros(4, 5)
    with pytest.raises(ValueError, match="same number of elements"):
        ember.zeros(3) @ ember.zeros(4)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        ember.tensor(1.0) @ ember.zeros(3)
    with pytest.raises(ValueError, match="broadcast"):
        ember.zeros(2, 2, 3) @ ember.zeros(3, 3, 2)


# --- linalg ------------------------------------------------------------------------------------
def _well_conditioned(rng, shape):
    n = shape[-1]
    return rng.standard_normal(shape) + n * np.eye(n)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (5, 5), (2, 4, 4), (2, 3, 2, 2)])
def test_solve_inv_det(shape, rng):
    A = _well_conditioned(rng, shape)
    B = rng.standard_normal(shape[:-1] + (3,))
    b = rng.standard_normal(shape[:-1])
    tA = ember.tensor(A)
    check(ember.linalg.solve(tA, ember.tensor(B)), np.linalg.solve(A, B), rtol=1e-10, atol=1e-12)
    check(ember.linalg.solve(tA, ember.tensor(b)), np.linalg.solve(A, b[..., None])[..., 0], rtol=1e-10, atol=1e-12)
    check(ember.linalg.inv(tA), np.linalg.inv(A), rtol=1e-10, atol=1e-12)
    check(ember.linalg.det(tA), np.linalg.det(A), rtol=1e-10)
    # non-contiguous input
    check(ember.linalg.inv(tA.transpose(-1, -2)), np.linalg.inv(np.swapaxes(A, -1, -2)), rtol=1e-10, atol=1e-12)


def test_det_values():
    check(ember.linalg.det(ember.tensor([[1.0, 2.0], [3.0, 4.0]])), -2.0)
    check(ember.linalg.det(ember.tensor([[0.0, 1.0], [1.0, 0.0]])), -1.0)  # one row swap
    check(ember.linalg.det(ember.tensor([[1.0, 2.0], [2.0, 4.0]])), 0.0)  # singular: 0, no error
    check(ember.linalg.det(ember.eye(4, dtype=ember.float64) * 2), 16.0)


def test_linear_regression_normal_equation(rng):
    n, true_theta = 200, np.array([[2.0], [-3.0], [0.5]])
    X = np.hstack([np.ones((n, 1)), rng.standard_normal((n, 2))])
    y = X @ true_theta + 0.01 * rng.standard_normal((n, 1))
    tX, ty = ember.tensor(X), ember.tensor(y)
    theta = ember.linalg.inv(tX.T @ tX) @ tX.T @ ty
    np.testing.assert_allclose(theta.numpy(), true_theta, atol=0.01)
    theta2 = ember.linalg.solve(tX.T @ tX, tX.T @ ty)
    np.testing.assert_allclose(theta2.numpy(), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-9)
    # float32 too
    theta32 = ember.linalg.solve(tX.float().T @ tX.float(), tX.float().T @ ty.float())
    np.testing.assert_allclose(theta32.numpy(), true_theta, atol=0.02)


def test_linalg_errors():
    with pytest.raises(ValueError, match="singular"):
        ember.linalg.inv(ember.tensor([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(ValueError, match="singular"):
        ember.linalg.solve(ember.zeros(3, 3), ember.ones(3))
    with pytest.raises(ValueError, match="square"):
        ember.linalg.inv(ember.zeros(2, 3))
    with pytest.raises(ValueError, match="square"):
        ember.linalg.det(ember.zeros(3))
    with pytest.raises(TypeError, match="float32 or float64"):
        ember.linalg.inv(ember.tensor([[1, 0], [0, 1]]))
    with pytest.raises(ValueError, match="incompatible shapes"):
        ember.linalg.solve(ember.eye(3), ember.ones(4))
    with pytest.raises(ValueError, match="batch dims"):
        ember.linalg.solve(ember.eye(2).expand(3, 2, 2), ember.ones(4, 2, 1))
    check(ember.linalg.inv(ember.zeros(0, 0)), np.zeros((0, 0)))
