"""`vigil evidence tag|list|lock`, run as the real program on a temporary base dir: the
tag's last stdout line is the clip id alone and `list --json` shows the clip; a lock
shows in the list and an unknown clip exits 1; bad input exits 2 with the reason and
makes no clip; a range no recording covers is tagged with a warning on stderr, a range
the ledger's segments cover is tagged without one, and a half-covered one says how much.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from app.database import open_database
from app.evidence.ledger import SegmentLedger
from app.paths import BaseDir
from tests.e2e.harness import vigil
from tests.recordings import write_segment

T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
CLIP_ID = re.compile(r"CLIP-\d{8}-[0-9A-F]{6}")


def iso(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def listed(base_dir: Path, *extra: str) -> list[dict[str, object]]:
    result = vigil("evidence", "list", "--json", "--base-dir", base_dir, *extra)
    assert result.returncode == 0, result.stderr
    clips: list[dict[str, object]] = json.loads(result.stdout)
    return clips


def test_tag_prints_the_id_last_and_list_shows_it(tmp_path: Path) -> None:
    """In: `vigil evidence tag --feed BWV-4521 --last 30 --tags assault,Knife --note "Suspect
    in red" --incident INC-2025-0042` on an empty base dir. Out: exit 0; stdout's last line
    is the clip id alone (CLIP-YYYYMMDD-XXXXXX), the line before says 30 s of BWV-4521;
    stderr warns that no recording covers the range and that no feed of that name is known;
    `list --json` holds one clip with that id, tags [assault, knife], the note, the incident,
    30 s long, unlocked; `list --tag KNIFE` and `--incident inc-2025-0042` find it, `--feed
    Drone` does not; the plain `list` line starts with the id."""
    base = tmp_path / "base"

    result = vigil(
        "evidence",
        "tag",
        "--feed",
        "BWV-4521",
        "--last",
        "30",
        "--tags",
        "assault,Knife",
        "--note",
        "Suspect in red",
        "--incident",
        "INC-2025-0042",
        "--base-dir",
        base,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    clip_id = lines[-1]
    assert CLIP_ID.fullmatch(clip_id)
    assert lines[-2].startswith("tagged 30 s of BWV-4521 from ")
    assert "no recording covers BWV-4521" in result.stderr
    assert "export will fail until it does" in result.stderr
    assert "no feed named 'BWV-4521'" in result.stderr
    [clip] = listed(base)
    assert clip["id"] == clip_id
    assert clip["tags"] == ["assault", "knife"]
    assert (clip["note"], clip["incident"]) == ("Suspect in red", "INC-2025-0042")
    assert (clip["duration_s"], clip["locked"], clip["feed_name"]) == (30.0, False, "BWV-4521")
    assert [c["id"] for c in listed(base, "--tag", "KNIFE")] == [clip_id]
    assert [c["id"] for c in listed(base, "--incident", "inc-2025-0042")] == [clip_id]
    assert listed(base, "--feed", "Drone") == []
    table = vigil("evidence", "list", "--base-dir", base)
    assert table.stdout.splitlines()[0].startswith(f"{clip_id}  ")


def test_lock_then_list_and_audit(tmp_path: Path) -> None:
    """In: a clip tagged from --from/--to times with a +01:00 offset; `vigil evidence lock
    ID --reason "case 42"` (the id typed in lower case); the same lock again; a lock of an
    id nobody made. Out: the tag's range is 10:00:00-10:00:20 UTC; the lock exits 0 saying
    "locked: case 42"; the second says it was locked already; the unknown id exits 1 naming
    it; `list --json` shows locked true with the reason; `vigil audit verify` is VALID with
    2 custody entries (tag_made, lock)."""
    base = tmp_path / "base"
    tag = vigil(
        "evidence",
        "tag",
        "--feed",
        "Drone 1",
        "--from",
        "2025-01-01T11:00:00+01:00",
        "--to",
        "2025-01-01T11:00:20+01:00",
        "--base-dir",
        base,
    )
    clip_id = tag.stdout.splitlines()[-1]

    first = vigil("evidence", "lock", clip_id.lower(), "--reason", "case 42", "--base-dir", base)
    again = vigil("evidence", "lock", clip_id, "--reason", "case 43", "--base-dir", base)
    unknown = vigil("evidence", "lock", "CLIP-20250101-000000", "--reason", "x", "--base-dir", base)

    assert tag.returncode == 0, tag.stderr
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"{clip_id} locked: case 42"
    assert again.returncode == 0
    assert "locked already" in again.stdout
    assert unknown.returncode == 1
    assert "no clip CLIP-20250101-000000" in unknown.stderr
    [clip] = listed(base)
    assert (clip["start"], clip["end"]) == (
        "2025-01-01T10:00:00.000000Z",
        "2025-01-01T10:00:20.000000Z",
    )
    assert (clip["locked"], clip["lock_reason"]) == (True, "case 42")
    audit = vigil("audit", "verify", "--base-dir", base)
    assert audit.returncode == 0, audit.stdout
    assert audit.stdout.splitlines()[0] == "VALID: 2 custody entries, 0 segments"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--last", "0"], "--last must be more than 0 seconds"),
        (["--from", iso(60), "--to", iso(0)], "must be before --to"),
        (["--from", "yesterday noon", "--to", iso(0)], "is not an ISO 8601 time"),
        (["--from", "2025-01-01T12:00:00", "--to", iso(10)], "has no time zone"),
        (["--from", iso(0)], "--from needs --to"),
        (["--last", "30", "--tags", "knife!"], "may hold only letters"),
        (["--from", iso(0), "--to", iso(8 * 3600)], "at most 6 h"),
        (["--from", "2999-01-01T00:00:00Z", "--to", "2999-01-01T00:01:00Z"], "in the future"),
    ],
    ids=["last-0", "backwards", "bad-iso", "no-zone", "no-to", "bad-tag", "too-long", "future"],
)
def test_bad_input_exits_2_with_the_reason(tmp_path: Path, args: list[str], message: str) -> None:
    """In: `vigil evidence tag --feed BWV-4521` with each bad range or tag (--last 0,
    --from after --to, a time that is not ISO 8601, one with no zone, --from alone, a tag
    with "!", 8 h, a range in 2999). Out: exit 2, stderr names the problem, nothing on
    stdout, and `list --json` is empty."""
    base = tmp_path / "base"
    result = vigil("evidence", "tag", "--feed", "BWV-4521", *args, "--base-dir", base)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert listed(base) == []


def test_recorded_range_tags_without_a_warning(tmp_path: Path) -> None:
    """In: three 4 s segments of BWV-4521 in the ledger from 12:00:00 to 12:00:12 UTC and a
    config naming BWV-4521 a bodycam; tags of 12:00:02-12:00:10 and of 12:00:10-12:00:20.
    Out: both exit 0; the first's stderr is empty and its clip's kind is bodycam (from the
    config); the second's stderr says recordings cover only 2.0 s of its 10 s."""
    root = BaseDir.resolve(tmp_path / "base").ensure()
    db = open_database(root.database)
    ledger = SegmentLedger(db, root.recordings)
    for seq in range(3):
        path = write_segment(root.recordings, "BWV-4521", seq)
        start = T0 + dt.timedelta(seconds=4 * seq)
        ledger.add("BWV-4521", seq, path, start, start + dt.timedelta(seconds=4), duration_s=4.0)
    db.close()
    config = tmp_path / "vigil.toml"
    config.write_text(
        '[[feeds]]\nname = "BWV-4521"\nkind = "bodycam"\nurl = "rtsp://10.1.2.3:554/live"\n'
    )
    common = ["--config", str(config), "--base-dir", str(root.root)]

    covered = vigil(
        "evidence", "tag", "--feed", "BWV-4521", "--from", iso(2), "--to", iso(10), *common
    )
    half = vigil(
        "evidence", "tag", "--feed", "BWV-4521", "--from", iso(10), "--to", iso(20), *common
    )

    assert covered.returncode == 0, covered.stderr
    assert covered.stderr == ""
    assert half.returncode == 0, half.stderr
    assert "recordings cover only 2.0 s of the 10 s of BWV-4521" in half.stderr
    kinds = {c["id"]: c["feed_kind"] for c in listed(root.root)}
    assert kinds[covered.stdout.splitlines()[-1]] == "bodycam"
