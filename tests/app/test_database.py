"""open_database: many openers of one new file at once, as the wall's threads are at start."""

from __future__ import annotations

import threading
from pathlib import Path

from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog


def test_threads_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    """In: six threads open the same not-yet-existing database together and each appends a
    custody entry. Out: no "database is locked" or "table already exists"; six entries in
    one whole chain."""
    path = tmp_path / "vigil.db"
    start = threading.Barrier(6)
    errors: list[Exception] = []

    def open_and_append(i: int) -> None:
        start.wait()
        try:
            db = open_database(path)
            CustodyLog(db).append(CustodyAction.VIEW_OPENED, f"feed {i}")
            db.close()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_append, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    db = open_database(path)
    log = CustodyLog(db)
    assert log.count() == 6
    assert log.verify() is None
