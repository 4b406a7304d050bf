"""Retention on a real database and real MPEG-TS segment files: what is old goes, on the
record; what a locked clip covers, what was changed and what was deleted by hand stay as
they are; and `vigil audit verify` tells a retired file from a missing one."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import pytest
import sqlite_utils

from app.evidence import retention as retention_module
from app.evidence.bundle.export import ExportError, export_clip
from app.evidence.clips import ClipBook
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.ledger import ProblemKind, SegmentLedger
from app.evidence.retention import RetentionService, apply_retention
from app.paths import BaseDir
from tests.e2e.harness import vigil
from tests.recordings import mpegts_bytes, write_segment
from tests.servers import wait_for

DAY = 86400.0
NOW = time.time()
OLD = NOW - 40 * DAY  # older than the default 31 days
SEGMENT_S = 4.0


@pytest.fixture(scope="module")
def ts_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return mpegts_bytes(tmp_path_factory.mktemp("ts"), frames=4)


@pytest.fixture
def base(db_path: Path) -> BaseDir:
    return BaseDir(db_path.parent)


class Store:
    """The ledger, custody log and clips of one base dir, and segments made to order."""

    def __init__(self, db: sqlite_utils.Database, base: BaseDir, data: bytes) -> None:
        self.root = base.recordings
        self.ledger = SegmentLedger(db, self.root)
        self.custody = CustodyLog(db)
        self.clips = ClipBook(db, self.custody)
        self.data = data
        self.seq = 0

    def segment(self, feed: str, start: float) -> Path:
        """A closed 4 s segment of `feed` from `start`, entered in the ledger."""
        self.seq += 1
        path = write_segment(self.root, feed, self.seq, self.data + bytes([self.seq]))
        self.ledger.add(feed, self.seq, path, start, start + SEGMENT_S, duration_s=SEGMENT_S)
        return path

    def clean(self) -> bool:
        return self.ledger.verify() == [] and self.custody.verify() is None


@pytest.fixture
def store(db: sqlite_utils.Database, base: BaseDir, ts_bytes: bytes) -> Store:
    return Store(db, base, ts_bytes)


def test_old_segments_go_on_the_record_and_the_audit_stays_valid(
    store: Store, db: sqlite_utils.Database, base: BaseDir
) -> None:
    """In: three segments of BWV-1 40 days old and two from today; retention at 31 days.
    Out: the three old files are gone and today's stay; one custody `retire` entry names
    each removed segment's ledger id and SHA-256; the ledger and custody chains verify
    clean, and `vigil audit verify` says VALID, counting the three as retired."""
    old = [store.segment("BWV-1", OLD + n * SEGMENT_S) for n in range(3)]
    new = [store.segment("BWV-1", NOW - 60 + n * SEGMENT_S) for n in range(2)]
    report = apply_retention(db, store.root, 31, now=NOW)
    assert (report.removed, report.kept_locked, report.missing) == (3, 0, 0)
    assert report.removed_bytes == sum(len(store.data) + 1 for _ in old)
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in new)
    (entry,) = [e for e in store.custody.entries() if e.action == CustodyAction.RETIRE]
    listed = entry.details_dict["segments"]
    ledger_rows = store.ledger.entries()[:3]
    assert [(s["id"], s["sha256"]) for s in listed] == [(e.id, e.sha256) for e in ledger_rows]
    assert entry.details_dict["keep_days"] == 31
    assert store.ledger.retired() == {e.id: e.sha256 for e in ledger_rows}
    assert store.clean()

    audit = vigil("audit", "verify", "--base-dir", base.root)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert audit.stdout.splitlines()[0].endswith("5 segments (3 retired by retention)")
    again = apply_retention(db, store.root, 31, now=NOW)
    assert again.removed == 0, "a retired segment is not considered again"


def test_a_locked_clip_keeps_its_segments_and_an_unlocked_one_does_not(
    store: Store, db: sqlite_utils.Database, base: BaseDir
) -> None:
    """In: four old segments of BWV-1 and one of BWV-2 at the same time; a locked clip
    over the second and third of BWV-1, an unlocked clip over the first.
    Out: the locked clip's two segments stay (and BWV-2's, another feed's, goes); the
    unlocked clip's segment goes, and the clip itself stays, its file retired; exporting
    it then fails, naming the missing file, and writes nothing."""
    paths = [store.segment("BWV-1", OLD + n * SEGMENT_S) for n in range(4)]
    other = store.segment("BWV-2", OLD + SEGMENT_S)
    locked = store.clips.tag("BWV-1", OLD + 5, OLD + 9)
    store.clips.lock(locked.id, "case 42")
    unlocked = store.clips.tag("BWV-1", OLD + 1, OLD + 2)
    report = apply_retention(db, store.root, 31, now=NOW)
    assert [p.exists() for p in paths] == [False, True, True, False]
    assert not other.exists()
    assert (report.removed, report.kept_locked) == (3, 2)
    assert store.clips.get(unlocked.id).start_utc == OLD + 1
    (first,) = store.ledger.segments_between("BWV-1", OLD + 1, OLD + 2)
    assert first.id in store.ledger.retired()
    assert store.clean()
    out = base.root / "bundle"
    with pytest.raises(ExportError, match=r"segment 1 \(BWV-1 seq 1.*file missing: no file at"):
        export_clip(base, unlocked.id, out)
    assert not out.exists()


def test_a_clip_locked_while_the_batch_is_chosen_keeps_its_files_out_of_the_entry(
    store: Store, db: sqlite_utils.Database
) -> None:
    """In: three old segments of BWV-1; a clip over the second is locked after retention
    has read the locks but before its batch is written. Out: that file stays and the
    retire entry does not name it, so deleting it by hand later is FILE_MISSING in the
    audit, not passed off as retention's."""
    paths = [store.segment("BWV-1", OLD + n * SEGMENT_S) for n in range(3)]
    clip = store.clips.tag("BWV-1", OLD + 5, OLD + 6)
    asked = []

    def stopping() -> bool:
        if not asked:
            store.clips.lock(clip.id, "case 7")
        asked.append(True)
        return False

    report = apply_retention(db, store.root, 31, now=NOW, stopping=stopping)
    assert [p.exists() for p in paths] == [False, True, False]
    assert (report.removed, report.kept_locked) == (2, 1)
    (second,) = store.ledger.segments_between("BWV-1", OLD + 5, OLD + 6)
    assert second.id not in store.ledger.retired()
    paths[1].unlink()
    assert [(p.kind, p.entry_id) for p in store.ledger.verify()] == [
        (ProblemKind.FILE_MISSING, second.id)
    ]


def test_files_deleted_or_changed_by_hand_are_never_retired(
    store: Store, db: sqlite_utils.Database, caplog: pytest.LogCaptureFixture
) -> None:
    """In: of three old segments one was deleted by hand and one had a byte changed; one
    of today's was deleted by hand too.
    Out: retention retires only the untouched one; it keeps the changed file and says so;
    afterwards the audit still names both deleted files FILE_MISSING and the changed one
    FILE_HASH: a removal by hand is never passed off as retention's."""
    gone, changed, fine = (store.segment("BWV-1", OLD + n * SEGMENT_S) for n in range(3))
    today = store.segment("BWV-1", NOW - 30)
    gone.unlink()
    today.unlink()
    data = bytearray(changed.read_bytes())
    data[400] ^= 0xFF
    changed.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="app.evidence.retention"):
        report = apply_retention(db, store.root, 31, now=NOW)
    assert (report.removed, report.missing) == (1, 1)
    assert report.kept_changed == ["BWV-1/000002.ts"]
    assert changed.exists()
    assert not fine.exists()
    assert "BWV-1/000002.ts hashes otherwise than its ledger entry; kept" in caplog.text
    problems = [(p.kind, p.path) for p in store.ledger.verify()]
    assert problems == [
        (ProblemKind.FILE_MISSING, "BWV-1/000001.ts"),
        (ProblemKind.FILE_HASH, "BWV-1/000002.ts"),
        (ProblemKind.FILE_MISSING, "BWV-1/000004.ts"),
    ]


def test_quarantined_partials_go_with_a_log_line_and_the_open_segment_stays(
    store: Store, db: sqlite_utils.Database, caplog: pytest.LogCaptureFixture
) -> None:
    """In: two quarantined partial segments last written 40 days ago (one of BWV-1 under a
    locked clip, one of BWV-2), a fresh one, and an old `.part` being written in a feed
    folder (an open segment).
    Out: only BWV-2's old partial goes, with its own log line and its path, size and
    SHA-256 in the custody entry; the locked one, the fresh one and the open one stay."""
    quarantine = store.root / "quarantine"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(OLD))
    parts = {}
    for name, feed in (("locked", "BWV-1"), ("old", "BWV-2"), ("fresh", "BWV-2")):
        path = quarantine / feed / f"{stamp}.000Z-00000{len(parts) + 1}.ts.part"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.data)
        if name != "fresh":
            os.utime(path, (OLD + 3, OLD + 3))
        parts[name] = path
    open_part = store.root / "BWV-3" / "20200101T000000.000Z-000001.ts.part"
    open_part.parent.mkdir(parents=True)
    open_part.write_bytes(store.data)
    os.utime(open_part, (OLD, OLD))
    clip = store.clips.tag("BWV-1", OLD + 1, OLD + 2)
    store.clips.lock(clip.id, "case 7")

    with caplog.at_level(logging.INFO, logger="app.evidence.retention"):
        report = apply_retention(db, store.root, 31, now=NOW)
    assert report.quarantine_removed == 1
    assert [p.exists() for p in parts.values()] == [True, False, True]
    assert open_part.exists()
    relative = parts["old"].relative_to(store.root).as_posix()
    assert f"removed quarantined partial segment {relative}" in caplog.text
    (entry,) = [e for e in store.custody.entries() if e.action == CustodyAction.RETIRE]
    assert json.loads(entry.details)["quarantined"] == [
        {
            "path": relative,
            "bytes": len(store.data),
            "sha256": hashlib.sha256(store.data).hexdigest(),
        }
    ]
    assert store.clean()


def test_large_backlogs_are_recorded_in_batches_and_keep_days_0_keeps_all(
    store: Store, db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: five old segments; first keep_days = 0, then a run told to stop at once (the
    instance closing), then 31 with batches of two.
    Out: 0 keeps everything and records nothing, as does the stopped run; 31 removes all
    five under three custody entries (2 + 2 + 1), and the chains verify."""
    paths = [store.segment("Roof", OLD + n * SEGMENT_S) for n in range(5)]
    assert apply_retention(db, store.root, 0, now=NOW).removed == 0
    assert apply_retention(db, store.root, 31, now=NOW, stopping=lambda: True).removed == 0
    assert all(p.exists() for p in paths)
    assert store.custody.count() == 0
    monkeypatch.setattr(retention_module, "BATCH", 2)
    assert apply_retention(db, store.root, 31, now=NOW).removed == 5
    entries = [e for e in store.custody.entries() if e.action == CustodyAction.RETIRE]
    assert [len(e.details_dict["segments"]) for e in entries] == [2, 2, 1]
    assert store.clean()


def test_the_service_runs_at_start_on_its_own_thread(store: Store, base: BaseDir) -> None:
    """In: a RetentionService at 31 days started over one old segment.
    Out: without being asked again it runs on a thread named "retention", removes the file
    and reports the run in its status; stop() ends the thread."""
    path = store.segment("BWV-1", OLD)
    service = RetentionService(base, 31, interval_s=3600)
    service.start()
    wait_for(lambda: service.status()["runs"] >= 1, 30, "the retention service's first run")
    status = service.status()
    assert status["removed"] == 1
    assert status["last"]["removed"] == 1
    assert not path.exists()
    service.stop()
    assert service._thread is not None
    assert not service._thread.is_alive()
