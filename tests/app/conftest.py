"""Fixtures the app tests share: the instance's real SQLite database in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from app.database import open_database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "vigil.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite_utils.Database]:
    """The database as `open_database` makes it: WAL, every table, the append-only triggers."""
    database = open_database(db_path)
    yield database
    database.close()
