"""Benchmarks: countyflow against the I/O limit (B0), the usual first attempt (B1) and its own
pure functions without Prefect (B2), side by side in one run. See BENCHMARKS.md.

Run: `uv run python -m benchmarks --scale 10 --backend duckdb,postgresql`.
Not a test suite: nothing here asserts a time (tests/benchmarks only checks the harness runs).
"""
