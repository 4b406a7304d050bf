"""Fixtures shared by the whole suite.

Qt runs on the offscreen platform (set before any Qt import); pytest-qt supplies one
session-wide QApplication, and Qt warnings fail tests (pyproject.toml lists the ignored ones).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary folder with a short path: a Unix socket path must stay under 104 bytes."""
    path = Path(tempfile.mkdtemp(prefix="vigil-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
