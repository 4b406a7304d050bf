"""`vigil evidence tag|list|lock`, run as the real program on a temporary base dir: the
tag's last stdout line is the clip id alone and `list --json` shows the clip; a lock
shows in the list and an unknown clip exits 1; bad input exits 2 with the reason and
makes no clip; a feed nothing knows makes no clip and exits 1 naming the recorded feeds; a
range no recording covers is tagged with a warning on stderr, a range the ledger's segments
cover is tagged without one, and a half-covered one says how much; on a running wall the
segment being written counts, so its last seconds tag without a warning.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest

from app.database import open_database
from app.evidence import parse_utc
from app.evidence.ledger import SegmentLedger
from app.paths import BaseDir
from tests.e2e.harness import RunningVigil, vigil
from tests.e2e.test_configured_feeds import write_clip
from tests.recordings import write_segment

T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
CLIP_ID = re.compile(r"CLIP-\d{8}-[0-9A-F]{6}")


def iso(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def feeds_config(folder: Path, *names: str) -> Path:
    """A config naming each feed a camera at an address nobody answers (never started)."""
    config = folder / "vigil.toml"
    config.write_text(
        "".join(
            f'[[feeds]]\nname = "{name}"\nurl = "rtsp://10.1.2.3:554/{n}"\n'
            for n, name in enumerate(names)
        )
    )
    return config


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
    Drone` does not; the plain `list` line starts with the id. (BWV-4521 is in the config:
    a name nothing knows makes no clip.)"""
    base = tmp_path / "base"
    config = feeds_config(tmp_path, "BWV-4521")

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
        "--config",
        config,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    clip_id = lines[-1]
    assert CLIP_ID.fullmatch(clip_id)
    assert lines[-2].startswith("tagged 30 s of BWV-4521 from ")
    assert "no recording covers BWV-4521" in result.stderr
    assert "export will fail until it does" in result.stderr
    assert "no feed named" not in result.stderr
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
        "--config",
        feeds_config(tmp_path, "Drone 1"),
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
    """In: `vigil evidence tag --feed BWV-4521` (a configured feed) with each bad range or
    tag (--last 0, --from after --to, a time that is not ISO 8601, one with no zone, --from
    alone, a tag with "!", 8 h, a range in 2999). Out: exit 2, stderr names the problem,
    nothing on stdout, and `list --json` is empty."""
    base = tmp_path / "base"
    config = feeds_config(tmp_path, "BWV-4521")
    result = vigil(
        "evidence", "tag", "--feed", "BWV-4521", *args, "--base-dir", base, "--config", config
    )

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


def test_a_feed_nothing_knows_makes_no_clip(tmp_path: Path) -> None:
    """In: a base dir with segments of BWV-4521 and of "Drone 1" in the ledger, a config
    naming CAM-9 (never recorded); `vigil evidence tag --feed Nope --last 10`; the same on an
    empty base dir; then `--feed CAM-9 --last 10`.
    Out: for Nope, exit 1, nothing on stdout, one stderr line naming 'Nope' and saying no
    clip was made, with "feeds with recordings: BWV-4521, Drone 1" (on the empty base dir,
    that no feed has recordings); no clip and no custody entry made. CAM-9, configured but
    unrecorded, is still tagged (exit 0) with the no-recording warning."""
    root = BaseDir.resolve(tmp_path / "base").ensure()
    db = open_database(root.database)
    ledger = SegmentLedger(db, root.recordings)
    for feed in ("BWV-4521", "Drone 1"):
        path = write_segment(root.recordings, feed, 0)
        ledger.add(feed, 0, path, T0, T0 + dt.timedelta(seconds=4), duration_s=4.0)
    db.close()
    config = feeds_config(tmp_path, "CAM-9")
    common = ["--config", str(config)]

    nope = vigil("evidence", "tag", "--feed", "Nope", "--last", "10", "--base-dir", root.root)
    empty = vigil("evidence", "tag", "--feed", "Nope", "--last", "10", "--base-dir", tmp_path / "e")

    assert nope.returncode == 1
    assert nope.stdout == ""
    assert nope.stderr.splitlines() == [
        "vigil: no feed named 'Nope' is configured, running, recorded or tracked, so no clip "
        "was made; feeds with recordings: BWV-4521, Drone 1"
    ]
    assert empty.returncode == 1
    assert "no feed has recordings in this base dir" in empty.stderr
    assert listed(root.root) == []
    assert listed(tmp_path / "e") == []
    audit = vigil("audit", "verify", "--base-dir", tmp_path / "e")
    assert "0 custody entries" in audit.stdout

    cam = vigil(
        "evidence", "tag", "--feed", "CAM-9", "--last", "10", "--base-dir", root.root, *common
    )
    assert cam.returncode == 0, cam.stderr
    assert "no recording covers CAM-9" in cam.stderr


def ledger_times(base: Path, feed: str) -> list[tuple[float, float]]:
    """(start, end) of each of the feed's segments in the ledger, as Unix times."""
    db = open_database(BaseDir(base).database)
    try:
        return [
            (parse_utc(e.start_utc).timestamp(), parse_utc(e.end_utc).timestamp())
            for e in SegmentLedger(db, BaseDir(base).recordings).entries(feed)
        ]
    finally:
        db.close()


def test_the_segment_being_written_counts_as_recorded(short_tmp: Path) -> None:
    """In: a running wall recording a looping 2 s clip as Cam-1 (a segment per loop, each
    beginning a packet's spacing after the last ended), recording for over 8 s, several
    segments closed; `vigil evidence tag --feed Cam-1 --last 6` (its end inside the segment
    being written, past the ledger's newest segment); then `--last 300` (starting long
    before the wall did).
    Out: the first exits 0 with nothing on stderr (the open segment covers the last seconds
    and the few milliseconds between segments are no gap: no "cover only N-4 s"); the second
    exits 0 warning that recordings cover only part of its 300 s, at least the 8 s recorded
    and less than the wall's whole run."""
    clip = short_tmp / "clip.mp4"
    write_clip(clip, seconds=2)
    config = short_tmp / "vigil.toml"
    config.write_text(f'[[feeds]]\nname = "Cam-1"\nkind = "camera"\nurl = "{clip}"\nloop = true\n')
    base = short_tmp / "base"
    wall = RunningVigil(base, ["--config", config])
    try:
        wall.wait_for(
            lambda s: s["recording"]["feeds"].get("Cam-1", {}).get("segments", 0) >= 1,
            timeout=60,
        )
        first = min(ledger_times(base, "Cam-1"))[0]
        time.sleep(max(0.0, first + 8.5 - time.time()))
        ledger_end = max(ledger_times(base, "Cam-1"))[1]
        common = ["--base-dir", base, "--config", config]
        last = vigil("evidence", "tag", "--feed", "Cam-1", "--last", "6", *common)
        long = vigil("evidence", "tag", "--feed", "Cam-1", "--last", "300", *common)
    finally:
        code, _, err = wall.stop()
    assert code == 0, err

    assert last.returncode == 0, last.stderr
    assert last.stderr == ""
    clips = {c["id"]: c for c in listed(base)}
    end = parse_utc(str(clips[last.stdout.splitlines()[-1]]["end"])).timestamp()
    assert end > ledger_end + 0.25  # the ledger (as it was just before) did not cover it
    assert long.returncode == 0, long.stderr
    found = re.search(r"recordings cover only ([0-9.]+) s of the 300 s of Cam-1", long.stderr)
    assert found, long.stderr
    assert 8.0 <= float(found.group(1)) < 120
