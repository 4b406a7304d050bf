"""How much of a tagged clip recordings cover, as `vigil evidence tag` judges it (app/evidence/coverage.py): the real
ledger on a real SQLite file, real segment files, the segment being written found by its
`.part` file's name in the feed's percent-encoded folder, and the clip made by the real
ClipBook."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from app.evidence import ClipBook, CustodyLog, SegmentLedger
from app.evidence import coverage_warning as _coverage_warning
from app.evidence import open_segment_start as _open_segment_start
from app.evidence.recording import feed_folder
from media.recording.segment import segment_name

T0 = 1_760_000_000.0
FEED = "Drone 1 / Alpha"
"""A name that needs percent-encoding as a folder."""


def ledger_with_segments(db: sqlite_utils.Database, root: Path) -> SegmentLedger:
    """Two 4 s segments of FEED from T0, the second starting 40 ms (a packet's spacing)
    after the first ended, as a live recorder writes them; the open one from T0+8.04."""
    ledger = SegmentLedger(db, root)
    folder = root / feed_folder(FEED)
    folder.mkdir(parents=True)
    for seq, (start, end) in enumerate([(T0, T0 + 3.96), (T0 + 4.0, T0 + 8.0)], start=1):
        path = folder / segment_name(start, seq)
        path.write_bytes(f"segment {seq}".encode())
        ledger.add(FEED, seq, path, start, end, duration_s=end - start)
    (folder / (segment_name(T0 + 8.04, 3) + ".part")).write_bytes(b"being written")
    return ledger


def test_the_open_segment_and_packet_spacings_count_as_covered(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """In: a clip of FEED from T0+2 to T0+11 (its last 3 s in the segment being written);
    the open segment's start as read from its `.part` name; that clip judged with it, and
    without it (no wall recording the feed).
    Out: the open segment is found to begin at T0+8.04 (to the millisecond); with it, no
    warning (the 40 ms between segments is no gap); without it, "recordings cover only
    6.0 s of the 9 s" (the ledger ends at T0+8)."""
    root = tmp_path / "recordings"
    ledger = ledger_with_segments(db, root)
    clip = ClipBook(db, CustodyLog(db), clock=lambda: T0 + 11).tag(FEED, T0 + 2, T0 + 11)

    open_since = _open_segment_start(root, FEED)

    assert open_since is not None
    assert abs(open_since - (T0 + 8.04)) < 1e-3
    assert _coverage_warning(ledger, clip, open_since) is None
    warning = _coverage_warning(ledger, clip, None)
    assert warning is not None
    assert warning.startswith("recordings cover only 6.0 s of the 9 s of Drone 1 / Alpha")


def test_a_range_recordings_do_not_reach_is_still_warned(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """In: with the same recordings, a clip from T0-5 to T0+11 (five seconds before the
    first segment), judged with the open segment; a clip from T0-60 to T0-30, before
    anything was recorded; a feed with no folder, and a recordings folder that is not there.
    Out: the first "recordings cover only 11.0 s of the 16 s" (its 5 s before T0 are
    missing, the rest covered); the early clip "no recording covers"; for a feed with no
    folder, or no recordings folder, the open segment is None."""
    root = tmp_path / "recordings"
    ledger = ledger_with_segments(db, root)
    clips = ClipBook(db, CustodyLog(db), clock=lambda: T0 + 11)
    open_since = _open_segment_start(root, FEED)

    early_start = clips.tag(FEED, T0 - 5, T0 + 11)
    before = clips.tag(FEED, T0 - 60, T0 - 30)

    warning = _coverage_warning(ledger, early_start, open_since)
    assert warning is not None
    assert warning.startswith("recordings cover only 11.0 s of the 16 s")
    gone = _coverage_warning(ledger, before, open_since)
    assert gone is not None
    assert gone.startswith("no recording covers Drone 1 / Alpha")
    assert _open_segment_start(root, "Nobody") is None
    assert _open_segment_start(tmp_path / "none", FEED) is None
