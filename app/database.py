"""The instance's SQLite database (sqlite-utils): caller links, consent records, the feeds'
position tracks, and later the evidence ledger and custody log.

One file under the base dir, in WAL mode so `vigil link create` and the running wall can
write at once. `open_database()` creates what is missing; each table's columns are listed
here, in one place, so every module that reads one sees the same shape.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 5000
"""How long a writer waits for another process's write to finish before failing."""

_TABLES: dict[str, tuple[dict[str, type], str, list[str]]] = {
    # name: (columns, primary key, not-null columns)
    "links": (
        {
            "id": str,
            "token_sha256": str,
            "kind": str,
            "name": str,
            "phone": str,
            "incident": str,
            "location_only": int,
            "created_at": float,
            "created_by": str,
            "expires_at": float,
            "valid_for_s": float,
            "opened_at": float,
            "device_sha256": str,
            "state": str,
            "ended_at": float,
            "end_reason": str,
            "sms_sent_at": float,
        },
        "id",
        ["token_sha256", "kind", "name", "created_at", "expires_at", "valid_for_s", "state"],
    ),
    "consents": (
        {
            "id": int,
            "link_id": str,
            "at": float,
            "answer": str,
            "text_sha256": str,
            "user_agent": str,
            "remote_addr": str,
        },
        "id",
        ["link_id", "at", "answer", "text_sha256"],
    ),
    "track_points": (
        {
            "id": int,
            "feed_id": str,
            "feed_name": str,
            "kind": str,
            "at": float,
            "lat": float,
            "lon": float,
            "accuracy_m": float,
            "heading_deg": float,
            "speed_mps": float,
            "altitude_m": float,
            "source": str,
        },
        "id",
        ["feed_id", "feed_name", "kind", "at", "lat", "lon", "source"],
    ),
}


def open_database(path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path`, WAL mode, tables in place."""
    db = sqlite_utils.Database(path)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    db.enable_wal()
    for name, (columns, pk, not_null) in _TABLES.items():
        table = db.table(name)
        if not table.exists():
            table.create(columns, pk=pk, not_null=set(not_null))
    db.table("links").create_index(["token_sha256"], unique=True, if_not_exists=True)
    db.table("consents").create_index(["link_id"], if_not_exists=True)
    # A clip's export asks for one feed's fixes between two times.
    db.table("track_points").create_index(["feed_name", "at"], if_not_exists=True)
    return db
