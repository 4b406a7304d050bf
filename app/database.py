"""The instance's SQLite database (sqlite-utils): caller links, consent records, the feeds'
position tracks, and later the evidence ledger and custody log.

One file under the base dir, in WAL mode so `vigil link create` and the running wall can
write at once. `open_database()` creates what is missing; each table's columns are listed
here, in one place, so every module that reads one sees the same shape.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
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
            "feeds": str,
            # A viewer link's feed names, a JSON list (app/callers/links.py); NULL for others.
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
    # The evidence ledger (app/evidence/ledger.py): one hash-chained row per closed segment file.
    "segments": (
        {
            "id": int,
            "feed_name": str,
            "seq": int,
            "path": str,
            "start_utc": str,
            "end_utc": str,
            "duration_s": float,
            "bytes": int,
            "sha256": str,
            "prev_hash": str,
            "entry_hash": str,
            "clock_sync": str,
            "recorded_at": str,
            "note": str,
        },
        "id",
        [
            "feed_name",
            "seq",
            "path",
            "start_utc",
            "end_utc",
            "bytes",
            "sha256",
            "prev_hash",
            "entry_hash",
            "clock_sync",
            "recorded_at",
        ],
    ),
    # The custody log (app/evidence/custody.py): one hash-chained row per action on the evidence.
    "custody": (
        {
            "id": int,
            "at": str,
            "actor": str,
            "action": str,
            "subject": str,
            "details": str,
            "prev_hash": str,
            "entry_hash": str,
        },
        "id",
        ["at", "actor", "action", "subject", "details", "prev_hash", "entry_hash"],
    ),
    # Tagged clips (app/evidence/clips.py): a feed's time range with tags, a note and the incident.
    # Times are Unix floats (UTC); tags a JSON array of text.
    "clips": (
        {
            "id": str,
            "feed_name": str,
            "feed_kind": str,
            "start_utc": float,
            "end_utc": float,
            "tags": str,
            "note": str,
            "incident": str,
            "created_by": str,
            "created_at": float,
            "locked": int,
            "locked_by": str,
            "locked_at": float,
            "lock_reason": str,
            "withdrawn_by": str,
            "withdrawn_at": float,
            "withdrawn_reason": str,
        },
        "id",
        ["feed_name", "start_utc", "end_utc", "tags", "created_by", "created_at", "locked"],
    ),
    # Vigil accounts (app/access/accounts.py): a user name (the operating-system user's, where
    # Vigil takes the person from the OS session), a role, a scrypt hash or null.
    "accounts": (
        {
            "user": str,
            "display": str,
            "role": str,
            "password_hash": str,
            "disabled": int,
            "created_by": str,
            "created_at": float,
            "disabled_by": str,
            "disabled_at": float,
            "disabled_reason": str,
        },
        "user",
        ["display", "role", "disabled", "created_by", "created_at"],
    ),
    # Desks signed in to the room server (app/room/desk_api.py): only the token's hash is
    # kept, so a desk stays signed in across the server's restart and a copy of the
    # database signs no one in.
    "desk_sessions": (
        {
            "token_sha256": str,
            "user": str,
            "signed_in_at": float,
            "expires_at": float,
            "address": str,
        },
        "token_sha256",
        ["user", "signed_in_at", "expires_at"],
    ),
    # What the room server answered each desk request that carried an Idempotency-Key
    # (app/room/desk_evidence.py): a desk delivering again what it kept while cut off is
    # answered the same, and nothing is done twice.
    # On a room's desk (app/room/outbox.py): what it sends the room server, kept until the
    # server has answered, so a desk cut off loses no tag and no custody entry. The token
    # of whoever made it travels with it, and is cleared once delivered.
    "room_outbox": (
        {
            "seq": int,
            "key": str,
            "method": str,
            "path": str,
            "body": str,
            "token": str,
            "made_at": float,
            "state": str,
            "status": int,
            "answer": str,
            "error": str,
            "done_at": float,
        },
        "seq",
        ["key", "method", "path", "body", "made_at", "state"],
    ),
    "desk_requests": (
        {"key": str, "user": str, "path": str, "status": int, "body": str, "at": float},
        "key",
        ["user", "path", "status", "body", "at"],
    ),
}

_APPEND_ONLY = ("segments", "custody")
"""Tables whose rows are never changed or removed once written. Triggers refuse it, so a
slip in code or a casual edit fails loudly; someone who drops the triggers is still caught
by the hash chains (`vigil audit verify`)."""


_CLIP_TRIGGERS = (
    # What was tagged, and who tagged it when, is fixed once written: only the tags, the
    # note, the incident, the lock and the withdrawal change, each change in the custody
    # log with its old and new value. A different range is a new clip.
    "CREATE TRIGGER IF NOT EXISTS clips_fixed_columns "
    "BEFORE UPDATE OF id, feed_name, feed_kind, start_utc, end_utc, created_by, created_at "
    "ON clips BEGIN SELECT RAISE(ABORT, 'a clip''s feed, times and maker are fixed'); END",
    # A lock is never lifted or rewritten, and a locked clip is never withdrawn: retention
    # and a slip in code alike fail here rather than lose evidence.
    "CREATE TRIGGER IF NOT EXISTS clips_lock_kept "
    "BEFORE UPDATE OF locked, locked_by, locked_at, lock_reason, withdrawn_by, withdrawn_at, "
    "withdrawn_reason ON clips WHEN OLD.locked = 1 AND ("
    "NEW.locked IS NOT OLD.locked OR NEW.locked_by IS NOT OLD.locked_by "
    "OR NEW.locked_at IS NOT OLD.locked_at OR NEW.lock_reason IS NOT OLD.lock_reason "
    "OR NEW.withdrawn_at IS NOT NULL) "
    "BEGIN SELECT RAISE(ABORT, 'the clip is under evidence lock'); END",
    # Withdrawal is final too: the clip stays, marked, and is not brought back unrecorded.
    "CREATE TRIGGER IF NOT EXISTS clips_withdrawal_kept "
    "BEFORE UPDATE OF withdrawn_by, withdrawn_at, withdrawn_reason ON clips "
    "WHEN OLD.withdrawn_at IS NOT NULL AND ("
    "NEW.withdrawn_at IS NOT OLD.withdrawn_at OR NEW.withdrawn_by IS NOT OLD.withdrawn_by "
    "OR NEW.withdrawn_reason IS NOT OLD.withdrawn_reason) "
    "BEGIN SELECT RAISE(ABORT, 'the clip was withdrawn'); END",
    # Clip rows are never removed: a mistaken tag is withdrawn (app/evidence/clips.py says why).
    "CREATE TRIGGER IF NOT EXISTS clips_no_delete BEFORE DELETE ON clips "
    "BEGIN SELECT RAISE(ABORT, 'clips are never deleted; withdraw the clip instead'); END",
)


def open_database(path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path`, WAL mode, tables in place."""
    db = sqlite_utils.Database(path)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    # Setting up is a run of separate statements, and switching to WAL does not wait on
    # the busy timeout: threads or processes opening a new file at once (the wall's
    # recorders, its viewing log and a tag, all at start) would fail with "database is
    # locked" or "table already exists". One at a time, then, by a lock beside the file.
    with _setting_up(path):
        _set_up(db)
    return db


@contextlib.contextmanager
def _setting_up(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".setup-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _set_up(db: sqlite_utils.Database) -> None:
    db.enable_wal()
    for name, (columns, pk, not_null) in _TABLES.items():
        table = db.table(name)
        if not table.exists():
            table.create(columns, pk=pk, not_null=set(not_null))
    if "feeds" not in db.table("links").columns_dict:  # a database made before viewer links
        db.table("links").add_column("feeds", str)
    db.table("links").create_index(["token_sha256"], unique=True, if_not_exists=True)
    db.table("consents").create_index(["link_id"], if_not_exists=True)
    # A clip's export asks for one feed's fixes between two times.
    db.table("track_points").create_index(["feed_name", "at"], if_not_exists=True)
    # Export asks for one feed's segments over a clip's times; recovery asks whether a file
    # is already in the ledger, and a file is never entered twice.
    db.table("segments").create_index(["feed_name", "start_utc"], if_not_exists=True)
    db.table("segments").create_index(["path"], unique=True, if_not_exists=True)
    for name in _APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER IF NOT EXISTS {name}_no_{verb.lower()} "
                f"BEFORE {verb} ON {name} "
                f"BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END"
            )
    # The Review window searches clips by feed and time, and by incident.
    db.table("clips").create_index(["feed_name", "start_utc"], if_not_exists=True)
    db.table("clips").create_index(["start_utc"], if_not_exists=True)
    db.table("clips").create_index(["incident"], if_not_exists=True)
    for trigger in _CLIP_TRIGGERS:
        db.execute(trigger)
    # An account is disabled, never removed: its row says who held which role, and removing
    # the last admin's row would put the instance back in setup mode (app/access/person.py).
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS accounts_no_delete BEFORE DELETE ON accounts "
        "BEGIN SELECT RAISE(ABORT, 'accounts are never deleted; disable the account'); END"
    )
    # Its name and maker never change. Its role changes only as the custody log's newest
    # account_role_changed entry for it says (AccountBook.change_role writes that entry
    # first): an UPDATE by hand, or a slip in code, is refused, and a role never differs
    # from what the log last recorded. The first rule fixed the role too; it goes.
    db.execute("DROP TRIGGER IF EXISTS accounts_fixed_columns")
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS accounts_fixed_names "
        "BEFORE UPDATE OF user, created_by, created_at ON accounts "
        "WHEN NEW.user IS NOT OLD.user OR NEW.created_by IS NOT OLD.created_by "
        "OR NEW.created_at IS NOT OLD.created_at "
        "BEGIN SELECT RAISE(ABORT, 'an account''s name and maker are fixed'); END"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS accounts_role_recorded "
        "BEFORE UPDATE OF role ON accounts WHEN NEW.role IS NOT OLD.role AND NOT EXISTS ("
        "SELECT 1 FROM custody WHERE id = (SELECT max(id) FROM custody "
        "WHERE action = 'account_role_changed' AND subject = OLD.user) "
        "AND json_extract(details, '$.from') = OLD.role "
        "AND json_extract(details, '$.to') = NEW.role) "
        "BEGIN SELECT RAISE(ABORT, 'an account''s role changes only by vigil users role, "
        "recorded in the custody log'); END"
    )
