"""The pieces both evidence chains share: canonical JSON, SHA-256 of files, UTC text, and
an immediate write transaction.

The segment ledger (app/evidence/ledger.py) and the custody log (app/evidence/custody.py) each keep
a hash chain: every entry's hash covers the previous entry's hash, so editing, deleting or
reordering a row breaks the chain from that row on. Both hash the same way, written here once, so
what a court's expert recomputes is one rule:

    entry_hash = lowercase hex of SHA-256 over the UTF-8 bytes of the entry's JSON,
                 keys sorted, no whitespace (separators "," and ":"), non-ASCII written
                 as itself, not as \\u escapes.

In Python that is `json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False).encode("utf-8")`. The entries hold only strings, integers and null,
never floats, so this is also the entry's RFC 8785 (JSON Canonicalization Scheme) form:
any JCS implementation gives the same bytes. Times are text, always
`YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, six fraction digits), so they sort as text too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

GENESIS = "0" * 64
"""The previous hash of a chain's first entry."""

CHUNK_BYTES = 1 << 20
"""Files are hashed 1 MiB at a time: a segment of any size costs the same memory."""

_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def canonical_json(obj: Mapping[str, object]) -> bytes:
    """The exact bytes an entry's hash is taken over (the module docstring says why)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def hash_entry(obj: Mapping[str, object]) -> str:
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def hash_file(path: Path) -> tuple[str, int]:
    """The file's SHA-256 (hex) and the number of bytes hashed, read in 1 MiB chunks.
    The count is of the bytes actually hashed, so size and hash always agree, even when
    the file changes while it is read."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def utc_text(when: dt.datetime | float) -> str:
    """A time as fixed-width UTC text. A float is Unix time; a datetime must say its zone,
    because a naive one would be read as whatever zone the machine is in."""
    if isinstance(when, dt.datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"a time without a zone is ambiguous: {when!r}")
        moment = when.astimezone(dt.UTC)
    else:
        moment = dt.datetime.fromtimestamp(float(when), dt.UTC)
    return moment.strftime(_UTC_FORMAT)


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _UTC_FORMAT).replace(tzinfo=dt.UTC)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction taken before anything is read (`BEGIN IMMEDIATE`), committed
    on success and rolled back on any error.

    Appending to a chain reads the last hash and then inserts; with SQLite's default
    deferred transaction two processes could both read the same last hash and fork the
    chain. Taking the write lock first makes the read and the insert one step; the other
    process waits (busy timeout) and then reads the hash just written."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
