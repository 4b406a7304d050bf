"""Ingest, decode and telemetry for Vigil's feeds.

No Qt here: everything runs and tests without a display.
"""
