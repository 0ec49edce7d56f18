"""ember.linalg: solve, inv and det for small (batched) square matrices.

The normal equation of linear regression is one line:
    theta = ember.linalg.inv(X.T @ X) @ X.T @ y      # or ember.linalg.solve(X.T @ X, X.T @ y)
"""
from ._C import det, inv, solve

__all__ = ["solve", "inv", "det"]
