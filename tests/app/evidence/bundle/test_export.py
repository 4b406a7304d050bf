"""Evidence export: a tagged clip of a real recording (the real Recorder's segments in the
real ledger) exported as a signed bundle, checked with the standard tools README.txt names
(sha256sum, openssl, jq, python3, ffprobe, each run as a process and skipped only where
the machine lacks it) and with `verify_bundle`; every kind of tampering, before and after
the export, is found and named. The signing key lives in a private Secret Service.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from app.callers.consent import Answer, ConsentBook
from app.callers.links import LinkBook
from app.config import parse
from app.database import open_database
from app.evidence.bundle import layout as bundle
from app.evidence.bundle.check import verify_bundle
from app.evidence.bundle.export import ExportError, ExportResult, ExportTargetError, export_clip
from app.evidence.bundle.signing import instance_key
from app.evidence.clips import Clip, ClipBook
from app.evidence.custody import CustodyLog
from app.evidence.hashchain import parse_utc, utc_text
from app.evidence.ledger import SegmentEntry
from app.map.tracks import TrackBook, TrackPoint, TrackSource
from app.paths import BaseDir
from media.live.feed import FeedKind
from tests.recordings import FPS, drone_media, record

T0 = 1_735_732_800.0  # 2025-01-01T12:00:00Z
FEED = "DRONE-1"
FRAME_S = 1 / FPS
START, END = T0 + 1.5, T0 + 5.2


@pytest.fixture(scope="module")
def drone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return drone_media(tmp_path_factory.mktemp("media") / "drone.ts", 7.0)


@pytest.fixture
def base(tmp_path: Path) -> BaseDir:
    return BaseDir(tmp_path / "base").ensure()


@pytest.fixture
def recording(base: BaseDir, drone: Path) -> list[SegmentEntry]:
    """7 s of drone video, sound and KLV from T0, in four segments (ids 1-4)."""
    return record(base, FEED, drone, T0)


def tag(base: BaseDir, start: float, end: float, feed: str = FEED) -> Clip:
    db = open_database(base.database)
    try:
        return ClipBook(db, CustodyLog(db)).tag(
            feed, start, end, tags="assault,knife", note="Suspect in red", incident="INC-42"
        )
    finally:
        db.close()


@pytest.fixture
def clip(base: BaseDir, recording: list[SegmentEntry]) -> Clip:
    return tag(base, START, END)


@pytest.fixture
def exported(base: BaseDir, clip: Clip, secret_service, tmp_path: Path) -> ExportResult:
    return export_clip(base, clip.id, tmp_path / "bundle", actor="forensic-1")


def manifest(result: ExportResult) -> dict:
    return json.loads((result.folder / bundle.MANIFEST).read_bytes())


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def run(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """One README command, as a shell would run it in the bundle's folder."""
    return subprocess.run(
        command, shell=True, cwd=folder, capture_output=True, text=True, check=False, timeout=60
    )


def needs(tool: str) -> None:
    """The court's expert's standard tools: `make test` installs them, so README.txt's
    commands are always run as written, never silently skipped."""
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (make test installs it)")


def leftovers(folder: Path) -> list[Path]:
    """Hidden work folders an export left beside its target."""
    return sorted(folder.glob(".bundle*"))


# -- a bundle and what it says -------------------------------------------------------------


def test_export_writes_a_signed_bundle_of_the_asked_range(
    exported: ExportResult, clip: Clip, base: BaseDir, recording: list[SegmentEntry]
) -> None:
    """In: the clip T0+1.5 s to T0+5.2 s of the recording, exported by "forensic-1". Out:
    the first and last video frames inside the range are within one frame of its start and
    end; the bundle holds the media, manifest, signature, public key, README and SHA256SUMS,
    and nothing else; the manifest says the clip's id, tags, note, incident and tagger, who
    exported it, the asked and actual times and the pre-roll, every stream (video, sound,
    KLV), the segments used (1-3) with their ledger entries as stored, the custody entry that
    made the clip, the chains' heads and the clock's state; the export is itself a custody
    entry naming the folder, the manifest's SHA-256 and the key's fingerprint;
    verify_bundle finds nothing wrong."""
    assert START <= exported.first_frame_utc < START + FRAME_S
    assert END - FRAME_S < exported.last_frame_utc <= END
    assert 0 <= exported.preroll_s < 1.0
    media = f"media/{clip.id}.ts"
    assert exported.files == tuple(
        sorted(
            [media, "manifest.json", "manifest.sig", "public_key.pem", "README.txt", "SHA256SUMS"]
        )
    )
    on_disk = sorted(p.relative_to(exported.folder).as_posix() for p in exported.folder.rglob("*"))
    assert on_disk == sorted([*exported.files, "media"])
    assert exported.segments == (1, 2, 3)
    assert exported.fingerprint == instance_key().fingerprint

    m = manifest(exported)
    assert m["schema"] == "vigil-evidence-bundle-1"
    assert m["clip"]["id"] == clip.id
    assert (m["clip"]["tags"], m["clip"]["note"], m["clip"]["incident"]) == (
        ["assault", "knife"],
        "Suspect in red",
        "INC-42",
    )
    assert m["clip"]["created_by"] == clip.created_by
    assert m["exported"]["by"] == "forensic-1"
    assert m["requested"] == {
        "start_utc": utc_text(START),
        "end_utc": utc_text(END),
        "duration_s": 3.7,
    }
    [media_item] = m["media"]
    assert media_item["file"] == media
    assert media_item["first_frame_utc"] == utc_text(exported.first_frame_utc)
    assert media_item["last_frame_utc"] == utc_text(exported.last_frame_utc)
    assert media_item["preroll_s"] == pytest.approx(exported.preroll_s, abs=1e-6)
    assert [s["type"] for s in media_item["streams"]] == ["video", "audio", "data"]
    assert all(s["packets"] > 0 for s in media_item["streams"])
    assert media_item["gaps"] == []
    digest = hashlib.sha256((exported.folder / media).read_bytes()).hexdigest()
    assert {f["path"]: f["sha256"] for f in m["files"]}[media] == digest
    by_id = {e.id: e for e in recording}
    assert [(s["entry"]["id"], s["used"]) for s in m["segments"]] == [
        (1, True),
        (2, True),
        (3, True),
    ]
    for item in m["segments"]:
        entry = by_id[item["entry"]["id"]]
        assert item["entry"] == entry.hashed()
        assert item["entry_hash"] == entry.entry_hash
    assert [c["entry"]["action"] for c in m["custody"]] == ["tag_made"]
    assert m["heads"]["segments"] == {FEED: recording[-1].entry_hash}
    assert m["clock_sync"]["segments"] == sorted({e.clock_sync for e in recording[:3]})
    assert m["signing_key"]["fingerprint_sha256"] == exported.fingerprint
    assert (m["feed"]["source_url"], m["consent"], m["track"]) == (None, None, [])

    db = open_database(base.database)
    try:
        custody = CustodyLog(db)
        last = custody.entries(clip.id)[-1]
        assert custody.verify() is None
    finally:
        db.close()
    assert (last.action, last.actor, last.id) == ("export", "forensic-1", exported.custody_entry)
    details = last.details_dict
    assert details["folder"] == str(exported.folder)
    assert details["fingerprint"] == exported.fingerprint
    manifest_digest = hashlib.sha256((exported.folder / "manifest.json").read_bytes()).hexdigest()
    assert details["manifest_sha256"] == manifest_digest == exported.manifest_sha256
    assert verify_bundle(exported.folder) == []


def test_readme_commands_check_the_bundle_with_standard_tools(exported: ExportResult) -> None:
    """In: the bundle, and each command its README.txt gives, run as written in its folder.
    Out: the README holds each command; `sha256sum -c SHA256SUMS` says OK for every file;
    openssl verifies the signature and gives the key's fingerprint; jq and the python3 line
    recompute every ledger and custody entry's hash; ffprobe lists every picture, the first
    at the pre-roll's key frame and each one's time mapped to UTC by the timeline lies
    between the key frame and the asked end. (Each tool is skipped only if not installed.)"""
    readme = (exported.folder / "README.txt").read_text()
    for command in (bundle.SUMS_COMMAND, bundle.SIGNATURE_COMMAND, bundle.JQ_COMMAND):
        assert command in readme
    assert bundle.PYTHON_COMMAND in readme
    m = manifest(exported)

    sums = run(bundle.SUMS_COMMAND, exported.folder)
    assert sums.returncode == 0, sums.stderr
    assert sorted(sums.stdout.splitlines()) == sorted(
        f"{name}: OK" for name in exported.files if name != "SHA256SUMS"
    )
    python = run(bundle.PYTHON_COMMAND, exported.folder)
    assert python.returncode == 0, python.stderr
    assert python.stdout.split() == [
        word
        for kind in ("segments", "custody")
        for item in m[kind]
        for word in (kind, str(item["entry"]["id"]), "True")
    ]
    if shutil.which("openssl"):
        verified = run(bundle.SIGNATURE_COMMAND, exported.folder)
        assert verified.returncode == 0, verified.stderr
        assert "Signature Verified Successfully" in verified.stdout
        printed = run(bundle.FINGERPRINT_COMMAND, exported.folder)
        assert printed.stdout.split()[0] == exported.fingerprint
    if shutil.which("jq"):
        hashed = run(bundle.JQ_COMMAND, exported.folder)
        assert hashed.stdout.split()[0] == m["segments"][0]["entry_hash"]
    needs("ffprobe")
    probe = run(bundle.FFPROBE_COMMAND.format(media=m["media"][0]["file"]), exported.folder)
    assert probe.returncode == 0, probe.stderr
    frames = [dict(f.split("=") for f in line.split("|")) for line in probe.stdout.split()]
    assert len(frames) == m["media"][0]["frames_written"]
    assert frames[0]["key_frame"] == "1", "the first picture is a key frame"
    timeline = m["media"][0]["timeline"]
    times = [frame_utc(timeline, float(frame["pts_time"])) for frame in frames]
    assert times[0] == pytest.approx(exported.key_frame_utc, abs=1e-5)
    assert times[-1] == pytest.approx(exported.last_frame_utc, abs=1e-5)
    assert times == sorted(times)
    inside = [t for t in times if t >= START - 1e-6]
    assert inside[0] == pytest.approx(exported.first_frame_utc, abs=1e-5)


def frame_utc(timeline: list[dict], pts_time: float) -> float:
    """README.txt's rule: the last timeline point at or before the frame, plus the rest."""
    point = [p for p in timeline if p["pts_s"] <= pts_time + 1e-6][-1]
    return parse_utc(point["utc"]).timestamp() + pts_time - point["pts_s"]


def test_export_runs_on_a_worker_thread_and_says_how_far_it_is(
    base: BaseDir, clip: Clip, secret_service, tmp_path: Path
) -> None:
    """In: the export run on a plain worker thread (as the Review window runs it), with a
    progress callback. Out: it succeeds; progress came on that thread, from 0 to 1, never
    going back, with a text each time, at least once per segment checked and copied."""
    calls: list[tuple[float, str, str]] = []
    results: list[ExportResult] = []

    def work() -> None:
        results.append(
            export_clip(
                base,
                clip.id,
                tmp_path / "bundle",
                progress=lambda f, what: calls.append((f, what, threading.current_thread().name)),
            )
        )

    worker = threading.Thread(target=work, name="export-worker")
    worker.start()
    worker.join(60)
    assert results, "the export did not finish"
    fractions = [f for f, _, _ in calls]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert {name for _, _, name in calls} == {"export-worker"}
    assert all(what for _, what, _ in calls)
    assert len(calls) >= 2 * len(results[0].segments)


# -- refused exports leave nothing -------------------------------------------------------


def test_a_changed_segment_file_is_named_and_nothing_exported(
    base: BaseDir, clip: Clip, recording: list[SegmentEntry], secret_service, tmp_path: Path
) -> None:
    """In: one byte changed in the middle of segment 2's file after it was recorded. Out:
    ExportError naming segment 2, its feed, seq and path, and a file hash mismatch; no
    bundle and no work folder left."""
    flip_byte(base.recordings / recording[1].path)
    with pytest.raises(ExportError) as caught:
        export_clip(base, clip.id, tmp_path / "bundle")
    text = str(caught.value)
    assert "fails its ledger check" in text
    assert (
        f"segment 2 ({FEED} seq {recording[1].seq}, {recording[1].path}): file hash mismatch"
        in text
    )
    assert not (tmp_path / "bundle").exists()
    assert leftovers(tmp_path) == []


def tamper(db_path: Path, sql: str, *args: object) -> None:
    """What someone with the file and the sqlite3 module can do: drop the triggers, then
    change rows directly."""
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER IF EXISTS segments_no_update")
    conn.execute("DROP TRIGGER IF EXISTS segments_no_delete")
    conn.execute(sql, args)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    "case",
    [
        (
            "UPDATE segments SET start_utc = '2025-01-01T11:59:59.000000Z' WHERE id = 2",
            "segment 2 (DRONE-1 seq 1, ",
        ),
        ("DELETE FROM segments WHERE id = 2", "segment 3 (DRONE-1 seq 2, "),
    ],
    ids=["row edited", "row deleted"],
)
def test_a_hand_changed_ledger_row_is_named_and_nothing_exported(
    base: BaseDir, clip: Clip, secret_service, tmp_path: Path, case: tuple[str, str]
) -> None:
    """In: the segments table changed by hand past its triggers: segment 2's start edited,
    or segment 2 deleted. Out: ExportError naming the entry (the edited row's hash, or the
    next row's broken link); nothing exported."""
    sql, named = case
    tamper(base.database, sql)
    with pytest.raises(ExportError) as caught:
        export_clip(base, clip.id, tmp_path / "bundle")
    assert named in str(caught.value)
    problem = "entry hash mismatch" if sql.startswith("UPDATE") else "chain link broken"
    assert problem in str(caught.value)
    assert not (tmp_path / "bundle").exists()
    assert leftovers(tmp_path) == []


def test_a_range_with_no_recording_is_refused_and_leaves_no_folder(
    base: BaseDir, recording: list[SegmentEntry], secret_service, tmp_path: Path
) -> None:
    """In: a clip of the feed a minute after its recording ended; a clip id no clip has.
    Out: ExportError "no recording of DRONE-1 from … nothing exported", and "no clip …";
    no bundle and no work folder."""
    late = tag(base, T0 + 60, T0 + 70)
    with pytest.raises(ExportError, match=r"no recording of DRONE-1 from .*nothing exported"):
        export_clip(base, late.id, tmp_path / "bundle")
    with pytest.raises(ExportError, match="no clip CLIP-20250101-000000"):
        export_clip(base, "CLIP-20250101-000000", tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()
    assert leftovers(tmp_path) == []


def test_an_existing_folder_is_refused_unless_forced_and_only_a_bundle_is_replaced(
    base: BaseDir, clip: Clip, exported: ExportResult, tmp_path: Path
) -> None:
    """In: the clip exported again over its bundle, without and with force; and over a
    folder holding someone's notes, with force. Out: without force, ExportTargetError
    ("not empty") and the bundle untouched; with force, a new bundle (a new manifest) that
    verifies, and no work folder or old copy left; the notes folder is refused even with
    force and its file kept."""
    before = (exported.folder / "manifest.json").read_bytes()
    with pytest.raises(ExportTargetError, match="exists and is not empty"):
        export_clip(base, clip.id, exported.folder)
    assert (exported.folder / "manifest.json").read_bytes() == before

    again = export_clip(base, clip.id, exported.folder, force=True)
    assert (again.folder / "manifest.json").read_bytes() != before
    assert verify_bundle(again.folder) == []
    assert leftovers(tmp_path) == []

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "case.txt").write_text("mine")
    with pytest.raises(ExportTargetError, match="not an evidence bundle"):
        export_clip(base, clip.id, notes, force=True)
    assert (notes / "case.txt").read_text() == "mine"


# -- a bundle changed after the export ------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "media",
            [
                "{media}: SHA-256 differs from SHA256SUMS",
                "{media}: SHA-256 differs from the manifest",
            ],
        ),
        (
            "manifest.json",
            [
                "manifest.json: SHA-256 differs from SHA256SUMS",
                "manifest.json: signature does not match",
            ],
        ),
        (
            "manifest.sig",
            [
                "manifest.sig: SHA-256 differs from SHA256SUMS",
                "manifest.json: signature does not match",
            ],
        ),
    ],
)
def test_one_byte_changed_in_the_bundle_is_named(
    exported: ExportResult, target: str, expected: list[str]
) -> None:
    """In: one byte changed in the exported media, in manifest.json (the note's first
    letter) or in manifest.sig. Out: verify_bundle names the file whose hash no longer matches SHA256SUMS, and the
    media's mismatch with the manifest or the manifest's broken signature."""
    media = next(name for name in exported.files if name.startswith("media/"))
    name = media if target == "media" else target
    path = exported.folder / name
    # In the manifest, a letter of the note: it still reads as JSON, with other words.
    flip_byte(path, path.read_bytes().index(b"Suspect") if target == "manifest.json" else None)
    found = [str(f) for f in verify_bundle(exported.folder)]
    for wanted in expected:
        assert any(line.startswith(wanted.format(media=media)) for line in found), found
    assert len(found) == len(expected), found


def rewrite(result: ExportResult, change) -> None:
    """Change the manifest and sign it again with the instance's own key, sums and all:
    what an insider holding the key, or a bug, could do. Only the inner checks can tell."""
    m = manifest(result)
    change(m)
    data = bundle.manifest_bytes(m)
    (result.folder / "manifest.json").write_bytes(data)
    (result.folder / "manifest.sig").write_bytes(instance_key().sign(data))
    hashes = [
        (name, hashlib.sha256((result.folder / name).read_bytes()).hexdigest())
        for name in result.files
        if name != "SHA256SUMS"
    ]
    (result.folder / "SHA256SUMS").write_text(bundle.sums_text(hashes))


def test_entries_changed_inside_a_resigned_manifest_are_named(exported: ExportResult) -> None:
    """In: the manifest re-signed (sums too) after changing segment 1's byte count; then
    after dropping segment 2 from the list; then after changing the custody entry's
    details; then a file added beside the others. Out: "segment 1: entry hash does not
    match"; "segment 3: prev_hash does not match segment 1's entry_hash"; "custody entry 1:
    entry hash does not match"; "extra.txt: not listed in SHA256SUMS": each alone."""

    def edit_bytes(m: dict) -> None:
        m["segments"][0]["entry"]["bytes"] += 1

    rewrite(exported, edit_bytes)
    assert [str(f) for f in verify_bundle(exported.folder)] == [
        f"segment 1: entry hash does not match its fields (stated "
        f"{manifest(exported)['segments'][0]['entry_hash'][:16]}…, recomputed "
        f"{_recomputed(manifest(exported)['segments'][0]['entry'])[:16]}…)"
    ]
    rewrite(
        exported,
        lambda m: m["segments"][0]["entry"].update(bytes=m["segments"][0]["entry"]["bytes"] - 1),
    )
    assert verify_bundle(exported.folder) == []

    rewrite(exported, lambda m: m["segments"].pop(1))
    [failure] = verify_bundle(exported.folder)
    assert str(failure).startswith("segment 3: prev_hash does not match segment 1's entry_hash")

    rewrite(exported, lambda m: m["custody"][0]["entry"].update(details="{}"))
    found = [str(f) for f in verify_bundle(exported.folder)]
    assert found[-1].startswith("custody entry 1: entry hash does not match")

    (exported.folder / "extra.txt").write_text("slipped in")
    assert "extra.txt: not listed in SHA256SUMS (added after the export?)" in [
        str(f) for f in verify_bundle(exported.folder)
    ]


def test_a_file_added_with_its_own_sums_line_is_named(exported: ExportResult) -> None:
    """In: a second media file slipped into the bundle, with a line for it added to
    SHA256SUMS (which is not signed). Out: verify names it as not among the signed
    manifest's files, and that alone."""
    added = exported.folder / "media" / "enhanced.ts"
    added.write_bytes(exported.media.read_bytes()[:1000])
    with open(exported.folder / bundle.SUMS, "a") as sums:
        sums.write(f"{hashlib.sha256(added.read_bytes()).hexdigest()}  media/enhanced.ts\n")
    assert [str(f) for f in verify_bundle(exported.folder)] == [
        "media/enhanced.ts: not in manifest.json's files (added after the export?)"
    ]


def _recomputed(entry: dict) -> str:
    from app.evidence.hashchain import hash_entry

    return hash_entry(entry)


# -- the source, the caller's consent, the track --------------------------------------------


def test_a_configured_feeds_url_is_given_without_its_secrets(
    base: BaseDir, clip: Clip, secret_service, tmp_path: Path
) -> None:
    """In: the feed configured with a user name in its URL and a token in its query. Out:
    the manifest gives the URL without either and says what was removed; neither the
    token nor the user name appears in any file of the bundle; the kind is the config's."""
    config = parse(
        '[[feeds]]\nname = "DRONE-1"\nkind = "drone"\n'
        'url = "rtsp://viewer@10.1.2.3:554/live?token=s3cr3t-t0ken"\nusername = "viewer"\n'
    )
    result = export_clip(base, clip.id, tmp_path / "bundle", config=config)
    feed = manifest(result)["feed"]
    assert feed == {
        "name": FEED,
        "kind": "drone",
        "source_url": "rtsp://10.1.2.3:554/live",
        "source_url_removed": ["user name and password", "query"],
    }
    for path in result.folder.rglob("*"):
        if path.is_file():
            assert b"s3cr3t" not in path.read_bytes(), path
            assert b"viewer@" not in path.read_bytes(), path


def test_a_callers_clip_carries_the_consent_and_the_track(
    base: BaseDir, drone: Path, secret_service, tmp_path: Path
) -> None:
    """In: a caller link; the caller agreed 5 s before T0 (on the consent screen whose text
    hashes to H); their feed recorded from T0 and GPS fixes every second from T0 to T0+6 s;
    a clip T0+1.5 s to T0+5.2 s. Out: the manifest says the feed is a caller's, its source
    webrtc:<link id>, the link (phone masked), the consent record (its time, answer and H,
    no address) and that consent held over the clip; the track has the fixes inside the
    clip (T0+2 s to T0+5 s) with their times and places."""
    db = open_database(base.database)
    try:
        link, _ = LinkBook(db).create(name="Alice", phone="+447700900123", incident="INC-42")
        ConsentBook(db, clock=lambda: T0 - 5).record(
            link.id, Answer.AGREE, "ab" * 32, user_agent="phone", remote_addr="198.51.100.7"
        )
        TrackBook(db).record_many(
            TrackPoint(
                "f1",
                link.feed_name,
                FeedKind.CALLER,
                T0 + t,
                53.96 + t / 1e4,
                -1.08,
                5.0,
                None,
                None,
                None,
                TrackSource.GPS,
            )
            for t in range(7)
        )
    finally:
        db.close()
    record(base, link.feed_name, drone, T0)
    clip = tag(base, START, END, feed=link.feed_name)

    m = manifest(export_clip(base, clip.id, tmp_path / "bundle"))

    assert (m["feed"]["kind"], m["feed"]["source_url"]) == ("caller", f"webrtc:{link.id}")
    consent = m["consent"]
    assert consent["link"]["id"] == link.id
    assert consent["link"]["phone"] != "+447700900123"
    [answer] = consent["records"]
    assert (answer["answer"], answer["text_sha256"], answer["at_utc"]) == (
        "agree",
        "ab" * 32,
        utc_text(T0 - 5),
    )
    assert "198.51.100.7" not in json.dumps(m)
    assert consent["held_over_clip"] is True
    assert [p["at"] for p in m["track"]] == [utc_text(T0 + t) for t in (2, 3, 4, 5)]
    assert m["track"][0]["lat"] == pytest.approx(53.9602)
    assert m["track"][0]["source"] == "gps"
