"""Kept for older benchmark scripts; the helpers live in _common.py."""
from _common import median_time, print_table, try_import_torch  # noqa: F401
