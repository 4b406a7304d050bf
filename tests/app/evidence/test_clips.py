"""Tagged clips on a real SQLite file: a tag is a clip row and a `tag_made` custody entry
with its fields; an edit records each changed field's old and new value; a locked clip
refuses deletion (recorded as `delete_attempted`) and stays, an unlocked one is withdrawn,
never removed; triggers refuse changing a clip's range, lifting a lock and DELETE even
through plain sqlite3; search finds clips by text, tag, incident, feed, kind and
overlapping time; bad input is refused with the reason; and `vigil audit verify` (the
real command function) still says VALID after all of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlite_utils

from app.commands.audit import audit_command
from app.database import open_database
from app.evidence.clips import (
    ClipBook,
    ClipError,
    ClipLockedError,
    ClipWithdrawnError,
    UnknownClipError,
    clean_tags,
)
from app.evidence.custody import CustodyLog
from app.paths import BaseDir
from media.live.feed import FeedKind
from tests.clock import Clock

T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC).timestamp()
"""The clips' "now": noon UTC on 1 January 2025."""


@pytest.fixture
def base(tmp_path: Path) -> BaseDir:
    return BaseDir.resolve(tmp_path / "base").ensure()


@pytest.fixture
def db(base: BaseDir) -> Iterator[sqlite_utils.Database]:
    database = open_database(base.database)
    yield database
    database.close()


@pytest.fixture
def custody(db: sqlite_utils.Database) -> CustodyLog:
    return CustodyLog(db)


@pytest.fixture
def book(db: sqlite_utils.Database, custody: CustodyLog) -> ClipBook:
    return ClipBook(db, custody, Clock(T0))


def test_tag_makes_a_clip_and_a_tag_made_entry(book: ClipBook, custody: CustodyLog) -> None:
    """In: BWV-4521 (bodycam) tagged 11:59:00-11:59:30 UTC by "pc.smith" with tags
    " Assault, knife,assault ,", note "Ms Ó Briain, witness", incident "INC-2025-0042".
    Out: an id CLIP-20250101-XXXXXX (six upper-case hex digits); tags ("assault", "knife");
    the clip reads back equal by id in lower case; one custody entry, action tag_made,
    subject the id, actor pc.smith, its details the clip's fields with UTC text times."""
    clip = book.tag(
        "BWV-4521",
        T0 - 60,
        T0 - 30,
        tags=" Assault, knife,assault ,",
        note="Ms Ó Briain, witness",
        incident="INC-2025-0042",
        kind=FeedKind.BODYCAM,
        actor="pc.smith",
    )

    assert re.fullmatch(r"CLIP-20250101-[0-9A-F]{6}", clip.id)
    assert clip.tags == ("assault", "knife")
    assert clip.feed_kind is FeedKind.BODYCAM
    assert (clip.start_utc, clip.end_utc, clip.duration_s) == (T0 - 60, T0 - 30, 30.0)
    assert (clip.created_by, clip.created_at, clip.locked) == ("pc.smith", T0, False)
    assert book.get(clip.id.lower()) == clip
    [entry] = custody.entries()
    assert (entry.action, entry.subject, entry.actor) == ("tag_made", clip.id, "pc.smith")
    assert entry.details_dict == {
        "feed": "BWV-4521",
        "kind": "bodycam",
        "start_utc": "2025-01-01T11:59:00.000000Z",
        "end_utc": "2025-01-01T11:59:30.000000Z",
        "tags": ["assault", "knife"],
        "note": "Ms Ó Briain, witness",
        "incident": "INC-2025-0042",
        "created_by": "pc.smith",
        "created_at": "2025-01-01T12:00:00.000000Z",
    }


def test_last_tags_the_seconds_before_now(book: ClipBook) -> None:
    """In: last("Drone 1") with the default 30 s, and last(..., 10, now=T0 - 100). Out:
    T0-30..T0 and T0-110..T0-100."""
    now = book.last("Drone 1")
    assert (now.start_utc, now.end_utc) == (T0 - 30, T0)
    earlier = book.last("Drone 1", 10, now=T0 - 100)
    assert (earlier.start_utc, earlier.end_utc) == (T0 - 110, T0 - 100)


def test_edit_records_old_and_new(book: ClipBook, custody: CustodyLog) -> None:
    """In: a clip with tags (assault), note "first look", no incident; edited by sgt.jones
    to tags "Assault, Weapon", note "" and incident "INC-9"; then edited again with the same
    values. Out: the clip has the new values (note cleared to None); one tag_edited entry,
    actor sgt.jones, details {"changed": {field: {"old", "new"}}} for the three fields; the
    repeated edit records nothing."""
    clip = book.last("BWV-4521", tags=["assault"], note="first look", actor="pc.smith")

    edited = book.edit(
        clip.id, tags="Assault, Weapon", note="", incident="INC-9", actor="sgt.jones"
    )
    again = book.edit(clip.id, tags=["weapon", "assault"], incident="INC-9", actor="sgt.jones")

    assert (edited.tags, edited.note, edited.incident) == (("assault", "weapon"), None, "INC-9")
    assert again.tags == ("weapon", "assault")  # the order did change: that is an edit
    entries = custody.entries(clip.id)
    assert [e.action for e in entries] == ["tag_made", "tag_edited", "tag_edited"]
    assert entries[1].actor == "sgt.jones"
    assert entries[1].details_dict == {
        "changed": {
            "tags": {"old": ["assault"], "new": ["assault", "weapon"]},
            "note": {"old": "first look", "new": None},
            "incident": {"old": None, "new": "INC-9"},
        }
    }
    assert entries[2].details_dict == {
        "changed": {"tags": {"old": ["assault", "weapon"], "new": ["weapon", "assault"]}}
    }
    book.edit(clip.id, incident="INC-9", actor="sgt.jones")
    assert len(custody.entries(clip.id)) == 3


def test_locked_clip_refuses_delete_and_stays(book: ClipBook, custody: CustodyLog) -> None:
    """In: a clip locked by insp.khan for "case 42", then locked again, then a delete asked
    for by pc.smith. Out: ClipLockedError naming the lock; the clip is still there and
    locked; custody holds tag_made, lock (reason case 42, actor insp.khan; the second lock
    records nothing) and delete_attempted with outcome "refused: under evidence lock"; it
    is found by search(locked=True)."""
    clip = book.last("BWV-4521", actor="pc.smith")
    locked = book.lock(clip.id, "case 42", actor="insp.khan")
    book.lock(clip.id, "another reason", actor="pc.smith")

    with pytest.raises(ClipLockedError, match="case 42"):
        book.delete(clip.id, actor="pc.smith")

    assert (locked.locked, locked.locked_by, locked.lock_reason) == (True, "insp.khan", "case 42")
    assert book.get(clip.id) == locked
    entries = custody.entries(clip.id)
    assert [e.action for e in entries] == ["tag_made", "lock", "delete_attempted"]
    assert (entries[1].actor, entries[1].details_dict) == ("insp.khan", {"reason": "case 42"})
    assert entries[2].actor == "pc.smith"
    assert entries[2].details_dict["outcome"] == "refused: under evidence lock"
    assert book.search(locked=True) == [locked]


def test_unlocked_clip_is_withdrawn_not_deleted(book: ClipBook, custody: CustodyLog) -> None:
    """In: an unlocked clip deleted by pc.smith ("wrong tile"), then deleted again, then
    edited and locked. Out: the row stays, marked withdrawn by pc.smith with the reason; it
    is left out of search() but found with include_withdrawn; custody records two
    delete_attempted entries ("withdrawn", then "withdrawn already"); editing and locking it
    raise ClipWithdrawnError."""
    clip = book.last("BWV-4521")

    withdrawn = book.delete(clip.id, actor="pc.smith", reason="wrong tile")
    book.delete(clip.id, actor="pc.smith")

    assert (withdrawn.withdrawn, withdrawn.withdrawn_by) == (True, "pc.smith")
    assert withdrawn.withdrawn_reason == "wrong tile"
    assert book.search() == []
    assert book.search(include_withdrawn=True) == [withdrawn]
    outcomes = [e.details_dict["outcome"] for e in custody.entries(clip.id)[1:]]
    assert outcomes == ["withdrawn", "withdrawn already"]
    with pytest.raises(ClipWithdrawnError):
        book.edit(clip.id, note="later")
    with pytest.raises(ClipWithdrawnError):
        book.lock(clip.id, "case 42")


def test_triggers_refuse_changes_by_plain_sqlite(book: ClipBook, base: BaseDir) -> None:
    """In: a locked clip and an unlocked clip; then, with the sqlite3 module alone, an
    UPDATE of start_utc, of feed_name, of created_by, an unlock, a withdrawal of the locked
    one and a DELETE. Out: each raises sqlite3.IntegrityError with the trigger's reason and
    nothing changed; an UPDATE of the note (an editable field) goes through."""
    locked = book.lock(book.last("BWV-4521").id, "case 42")
    other = book.last("Drone 1")
    conn = sqlite3.connect(base.database)
    refused = {
        "UPDATE clips SET start_utc = start_utc - 60 WHERE id = ?": "feed, times and maker",
        "UPDATE clips SET feed_name = 'BWV-0001' WHERE id = ?": "feed, times and maker",
        "UPDATE clips SET created_by = 'nobody' WHERE id = ?": "feed, times and maker",
        "UPDATE clips SET locked = 0 WHERE id = ?": "evidence lock",
        "UPDATE clips SET withdrawn_at = 1 WHERE id = ?": "evidence lock",
        "DELETE FROM clips WHERE id = ?": "never deleted",
    }
    try:
        for sql, reason in refused.items():
            with pytest.raises(sqlite3.IntegrityError, match=reason):
                conn.execute(sql, [locked.id])
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            conn.execute("DELETE FROM clips WHERE id = ?", [other.id])
        conn.execute("UPDATE clips SET note = 'by hand' WHERE id = ?", [other.id])
        conn.commit()
    finally:
        conn.close()

    assert book.get(locked.id) == locked
    assert book.get(other.id).note == "by hand"


def test_search_by_each_criterion(book: ClipBook) -> None:
    """In: three clips. A: BWV-4521 (bodycam) 11:00-11:01, tags assault, incident INC-1,
    note "Suspect runs toward Café Nero". B: Drone 1 (drone) 11:00:30-11:05, tag pursuit,
    incident inc-1. C: BWV-4521 11:30-11:31, tag assault, incident INC-2, no note. Out: by
    text "café" (any case, non-ASCII) A; by text "pursuit" (a tag) B; by tag "ASSAULT" A, C;
    by incident "inc-1" A, B; by feed BWV-4521 A, C; by kind drone B; by start 11:01 A, B
    (A ends exactly then), C; by 11:02-11:10 B; by end 11:00:10 A; combined tag assault from
    11:10, C; nothing matches text "bicycle"; results ordered by start."""
    hour = T0 - 3600
    a = book.tag(
        "BWV-4521",
        hour,
        hour + 60,
        tags="assault",
        incident="INC-1",
        note="Suspect runs toward Café Nero",
        kind="bodycam",
    )
    b = book.tag("Drone 1", hour + 30, hour + 300, tags="pursuit", incident="inc-1", kind="drone")
    c = book.tag("BWV-4521", hour + 1800, hour + 1860, tags="assault", incident="INC-2")

    assert book.search(text="CAFÉ") == [a]
    assert book.search(text="pursuit") == [b]
    assert book.search(tag="ASSAULT") == [a, c]
    assert book.search(incident="inc-1") == [a, b]
    assert book.search(feed="BWV-4521") == [a, c]
    assert book.search(kind=FeedKind.DRONE) == [b]
    assert book.search(start=hour + 60) == [a, b, c]
    assert book.search(start=hour + 120, end=hour + 600) == [b]
    assert book.search(end=hour + 10) == [a]
    assert book.search(tag="assault", start=hour + 600) == [c]
    assert book.search(text="bicycle") == []
    assert book.search() == [a, b, c]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.tag("BWV-4521", T0 - 10, T0 - 20), "must end after it starts"),
        (lambda b: b.tag("BWV-4521", T0 - 10, T0 - 10), "must end after it starts"),
        (lambda b: b.tag("BWV-4521", T0 - 7 * 3600, T0), "at most 6 h"),
        (lambda b: b.tag("BWV-4521", T0, T0 + 60), "cannot end in the future"),
        (lambda b: b.tag("BWV-4521", float("nan"), T0), "real times"),
        (lambda b: b.tag("  ", T0 - 10, T0), "needs the feed's name"),
        (lambda b: b.last("BWV-4521", 0), "not a length of time"),
        (lambda b: b.last("BWV-4521", -5), "not a length of time"),
        (lambda b: b.last("BWV-4521", tags="knife!"), "only letters"),
        (lambda b: b.last("BWV-4521", tags="x" * 33), "longer than 32"),
        (lambda b: b.last("BWV-4521", tags=[f"t{i}" for i in range(17)]), "at most 16"),
        (lambda b: b.last("BWV-4521", note="n" * 2001), "at most 2000"),
        (lambda b: b.last("BWV-4521", note="bell\x07"), "control characters"),
        (lambda b: b.last("BWV-4521", incident="INC\n1"), "one line"),
        (lambda b: b.last("BWV-4521", incident="I" * 65), "at most 64"),
        (lambda b: b.last("BWV-4521", kind="satellite"), "unknown feed kind"),
        (lambda b: b.lock("CLIP-20250101-000000", "case 42"), "no clip"),
        (lambda b: b.edit("CLIP-20250101-000000", note="x"), "no clip"),
        (lambda b: b.search(tag="?"), "only letters"),
    ],
    ids=[
        "backwards",
        "empty",
        "over-6h",
        "future",
        "nan",
        "blank-feed",
        "last-0",
        "last-negative",
        "tag-chars",
        "tag-long",
        "17-tags",
        "note-long",
        "note-bell",
        "incident-2-lines",
        "incident-long",
        "kind",
        "lock-unknown",
        "edit-unknown",
        "search-bad-tag",
    ],
)
def test_bad_input_is_refused_with_the_reason(
    book: ClipBook, custody: CustodyLog, call: Callable[[ClipBook], object], message: str
) -> None:
    """In: each bad input (range backwards or empty, over 6 h, ending in the future, NaN, a
    blank feed, --last 0 or negative, a tag with "!", too long, 17 tags, a long note or one
    with a bell character, a two-line or long incident, an unknown kind, an unknown clip,
    a bad tag to search for). Out: ClipError whose text names the problem; nothing written
    to the custody log."""
    with pytest.raises(ClipError, match=re.escape(message)):
        call(book)
    assert custody.count() == 0


def test_lock_needs_a_reason_and_unknown_clips_are_named(book: ClipBook) -> None:
    """In: a lock with a blank reason; get of an id nobody made. Out: ClipError asking for
    a reason; UnknownClipError naming the id."""
    clip = book.last("BWV-4521")
    with pytest.raises(ClipError, match="needs a reason"):
        book.lock(clip.id, "  ")
    with pytest.raises(UnknownClipError, match="CLIP-20250101-ABCDEF"):
        book.get("CLIP-20250101-ABCDEF")


def test_clean_tags_rules() -> None:
    """In: tags with spaces, case, duplicates, blanks, underscores and hyphens. Out: trimmed,
    inner spaces made one, lower case, first occurrence kept, blanks dropped."""
    assert clean_tags("  Road  Traffic , RTC,rtc,, dog_bite,  knife-crime ") == (
        "road traffic",
        "rtc",
        "dog_bite",
        "knife-crime",
    )
    assert clean_tags(None) == ()
    assert clean_tags([]) == ()


def test_audit_still_valid_after_tagging_editing_locking_and_deleting(
    book: ClipBook, base: BaseDir, capsys: pytest.CaptureFixture[str]
) -> None:
    """In: a clip tagged, edited, locked, a refused delete; another tagged and withdrawn;
    then `vigil audit verify`'s command function on the same base dir. Out: exit 0 and
    "VALID: 6 custody entries, 0 segments" (tag_made x2, tag_edited, lock, delete_attempted
    x2); both clips are still there."""
    clip = book.last("BWV-4521", tags="assault")
    book.edit(clip.id, note="suspect in red", actor="sgt.jones")
    book.lock(clip.id, "case 42", actor="insp.khan")
    with pytest.raises(ClipLockedError):
        book.delete(clip.id, actor="pc.smith")
    book.delete(book.last("Drone 1").id, actor="pc.smith")

    status = audit_command(argparse.Namespace(config=None, base_dir=base.root))

    out = capsys.readouterr().out
    assert status == 0, out
    assert out.splitlines()[0] == "VALID: 6 custody entries, 0 segments"
    assert len(book.search(include_withdrawn=True)) == 2
