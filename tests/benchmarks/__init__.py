"""Benchmarks: run with `make bench` (or `python -m tests.benchmarks`); never pass/fail tests.

`bench_wall` measures the video wall against a bare PyAV decode of the same streams, and
prints a table and writes bench-results/wall.json.
"""
