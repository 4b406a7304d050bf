"""Benchmarks: run with `make bench` (or `python -m tests.benchmarks`); never pass/fail tests.

`bench_wall` measures the video wall against a bare PyAV decode of the same streams, and
prints a table and writes bench-results/wall.json.

`bench_caller` measures a phone's camera (headless Chromium) into the wall through the
caller gateway: Agree to first frame painted, glass-to-glass delay, and CPU per caller
stream against a bare aiortc receiver of the same 720p stream; it prints tables and writes
bench-results/caller-<timestamp>.json.
"""
