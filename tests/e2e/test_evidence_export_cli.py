"""`vigil evidence export` and `vigil evidence verify`, run as the real program on a
temporary base dir holding a real recording (the Recorder's segments in the ledger), with
its signing key in a private Secret Service: what they print, their exit codes, and the
custody entries they leave.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from app.database import open_database
from app.evidence.bundle.signing import grouped, instance_fingerprint
from app.evidence.custody import CustodyLog
from app.paths import BaseDir
from tests.e2e.harness import vigil
from tests.recordings import FPS, drone_media, record

T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
FEED = "DRONE-1"
GROUPED = re.compile(r"([0-9a-f]{4} ){15}[0-9a-f]{4}")


def iso(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def keyring_for_children(secret_service, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `vigil` child processes use the private Secret Service too (its bus address is
    in the environment they inherit; the backend is named so none other is tried)."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A base dir with 7 s of DRONE-1 recorded from T0."""
    root = tmp_path / "base"
    record(BaseDir(root).ensure(), FEED, drone_media(tmp_path / "drone.ts", 7.0), T0.timestamp())
    return root


def tag(base: Path, start: float, end: float) -> str:
    result = vigil(
        "evidence",
        "tag",
        "--feed",
        FEED,
        "--from",
        iso(start),
        "--to",
        iso(end),
        "--base-dir",
        base,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


def custody_actions(base: Path, subject: str) -> list[tuple[str, dict]]:
    db = open_database(BaseDir(base).database)
    try:
        return [(e.action, e.details_dict) for e in CustodyLog(db).entries(subject)]
    finally:
        db.close()


def test_export_then_verify_valid_then_tampered(
    base: Path, tmp_path: Path, keyring_for_children
) -> None:
    """In: a clip tagged with `vigil evidence tag --from T0+1.5s --to T0+5.2s`, then
    `vigil evidence export CLIP --out DIR`, `vigil evidence verify DIR`, a byte of the
    bundle's media changed, and verify again. Out: export exits 0 printing the folder, the
    first and last frames (within one frame of the range), the pre-roll and the key's
    fingerprint in groups of four (this instance's, in the keyring); verify prints VALID and
    that the key is this instance's, exit 0; after the change, FAILED lines naming the media
    and INVALID, exit 1; the clip's custody has its export and both verifications."""
    clip_id = tag(base, 1.5, 5.2)
    out = tmp_path / "bundle"

    exported = vigil("evidence", "export", clip_id, "--out", out, "--base-dir", base)

    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert lines[0] == str(out)
    first = dt.datetime.fromisoformat(lines[1].removeprefix("first frame ").strip())
    last = dt.datetime.fromisoformat(lines[2].removeprefix("last frame ").strip())
    frame = dt.timedelta(seconds=1 / FPS)
    asked_start, asked_end = T0 + dt.timedelta(seconds=1.5), T0 + dt.timedelta(seconds=5.2)
    assert asked_start <= first < asked_start + frame
    assert asked_end - frame < last <= asked_end
    assert "frames in the range; the media begins 0.533 s earlier" in lines[3]
    fingerprint = instance_fingerprint()
    assert fingerprint is not None
    assert lines[-1] == f"signing key fingerprint {grouped(fingerprint)}"
    assert GROUPED.search(lines[-1])

    verified = vigil("evidence", "verify", out, "--base-dir", base)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"VALID: bundle {clip_id} (")
    assert f"signing key {grouped(fingerprint)}: this instance's key" in verified.stdout

    media = next((out / "media").iterdir())
    data = bytearray(media.read_bytes())
    data[len(data) // 2] ^= 0xFF
    media.write_bytes(bytes(data))
    failed = vigil("evidence", "verify", out, "--base-dir", base)
    assert failed.returncode == 1
    name = f"media/{media.name}"
    assert f"FAILED: {name}: SHA-256 differs from SHA256SUMS" in failed.stdout
    assert f"FAILED: {name}: SHA-256 differs from the manifest" in failed.stdout
    assert "INVALID: 2 check(s) failed" in failed.stdout

    actions = custody_actions(base, clip_id)
    assert [a for a, _ in actions] == ["tag_made", "export", "verify", "verify"]
    assert [d.get("result") for a, d in actions if a == "verify"] == ["valid", "invalid"]
    assert actions[-1][1]["instance_key"] is True


def test_exit_codes_for_refusals_and_bad_input(
    base: Path, tmp_path: Path, keyring_for_children
) -> None:
    """In: export to a folder holding someone's file, without and with --force; export to a
    new folder, again without --force, then with it; export of a clip no recording covers
    and of an unknown clip; verify of a folder that is no bundle and of one that does not
    exist. Out: the notes folder is refused both times (exit 2: "not empty", then "not an
    evidence bundle") and its file kept; the bundle is refused over itself (exit 2) and
    replaced with --force (exit 0); no recording and an unknown clip exit 1 with the
    reason and leave no folder; verify of a folder with no manifest exits 1 naming it (see
    test_verify_of_a_folder_without_a_manifest_is_a_failed_check), of a missing one 2."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "case.txt").write_text("mine")
    clip_id = tag(base, 1.0, 3.0)

    busy = vigil("evidence", "export", clip_id, "--out", notes, "--base-dir", base)
    assert busy.returncode == 2
    assert "exists and is not empty" in busy.stderr
    forced = vigil("evidence", "export", clip_id, "--out", notes, "--force", "--base-dir", base)
    assert forced.returncode == 2
    assert "not an evidence bundle" in forced.stderr
    assert (notes / "case.txt").read_text() == "mine"

    out = tmp_path / "bundle"
    assert vigil("evidence", "export", clip_id, "--out", out, "--base-dir", base).returncode == 0
    again = vigil("evidence", "export", clip_id, "--out", out, "--base-dir", base)
    assert again.returncode == 2
    replaced = vigil("evidence", "export", clip_id, "--out", out, "--force", "--base-dir", base)
    assert replaced.returncode == 0, replaced.stderr

    late = tag(base, 60.0, 70.0)
    nothing = vigil("evidence", "export", late, "--out", tmp_path / "late", "--base-dir", base)
    assert nothing.returncode == 1
    assert "no recording of DRONE-1 from 2025-01-01T12:01:00.000000Z" in nothing.stderr
    assert not (tmp_path / "late").exists()
    unknown = vigil(
        "evidence", "export", "CLIP-20250101-000000", "--out", tmp_path / "x", "--base-dir", base
    )
    assert unknown.returncode == 1
    assert "no clip CLIP-20250101-000000" in unknown.stderr

    not_bundle = vigil("evidence", "verify", notes, "--base-dir", base)
    assert not_bundle.returncode == 1
    assert "FAILED: not an evidence bundle: no manifest.json" in not_bundle.stdout
    missing = vigil("evidence", "verify", tmp_path / "nowhere", "--base-dir", base)
    assert missing.returncode == 2
    assert "is not a folder" in missing.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "bundle", "drone.ts", "notes"]


def test_verify_of_a_folder_without_a_manifest_is_a_failed_check(
    base: Path, tmp_path: Path, keyring_for_children
) -> None:
    """In: `vigil evidence verify` of a folder holding a clip's video and SHA256SUMS but no
    manifest.json (a bundle that lost it, or the wrong folder handed over), on an instance
    and on a machine with no Vigil at all (an empty base dir).
    Out: exit 1 both times, no traceback, stdout "FAILED: not an evidence bundle: no
    manifest.json" and an "INVALID: 1 check(s) failed" line, the way every other failed check
    is told; on the instance the verification is in the custody log as invalid with that
    reason; the folder is left as it was."""
    clip_id = tag(base, 1.0, 3.0)
    out = tmp_path / "bundle"
    assert vigil("evidence", "export", clip_id, "--out", out, "--base-dir", base).returncode == 0
    (out / "manifest.json").unlink()
    before = sorted(p.name for p in out.iterdir())
    for where in (base, tmp_path / "elsewhere"):
        result = vigil("evidence", "verify", out, "--base-dir", where)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "FAILED: not an evidence bundle: no manifest.json"
        assert lines[1] == "INVALID: 1 check(s) failed; bundle (no clip id)"
    assert sorted(p.name for p in out.iterdir()) == before
    [(action, details)] = custody_actions(base, str(out))
    assert action == "verify"
    assert details["result"] == "invalid"
    assert details["failed"] == ["not an evidence bundle: no manifest.json"]


def test_a_bundle_altered_and_resigned_with_another_key_fails_on_the_instance(
    base: Path, tmp_path: Path, keyring_for_children
) -> None:
    """In: an exported bundle whose manifest note is changed and then re-signed, sums and
    public key too, with a new Ed25519 key: a forgery consistent on its own. Out: `vigil
    evidence verify` on the exporting instance names manifest.json as never exported by it
    and exits 1; the same bundle verified with no instance (another base dir) says VALID but
    that the key is not the instance's."""
    import hashlib
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.evidence.bundle import layout as bundle
    from app.evidence.bundle.signing import fingerprint

    clip_id = tag(base, 1.5, 5.2)
    out = tmp_path / "bundle"
    assert vigil("evidence", "export", clip_id, "--out", out, "--base-dir", base).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["clip"]["note"] = "nothing happened"
    forger = Ed25519PrivateKey.generate()
    pem = forger.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (out / "public_key.pem").write_bytes(pem)
    manifest["signing_key"]["fingerprint_sha256"] = fingerprint(forger.public_key())
    for item in manifest["files"]:
        if item["path"] == "public_key.pem":
            item.update(sha256=hashlib.sha256(pem).hexdigest(), bytes=len(pem))
    data = bundle.manifest_bytes(manifest)
    (out / "manifest.json").write_bytes(data)
    (out / "manifest.sig").write_bytes(forger.sign(data))
    sums = [
        (p.relative_to(out).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "SHA256SUMS"
    ]
    (out / "SHA256SUMS").write_text(bundle.sums_text(sums))

    elsewhere = vigil("evidence", "verify", out, "--base-dir", tmp_path / "court")
    assert elsewhere.returncode == 0, elsewhere.stdout
    assert "NOT this instance's key" in elsewhere.stdout or "no signing key" in elsewhere.stdout

    here = vigil("evidence", "verify", out, "--base-dir", base)
    assert here.returncode == 1, here.stdout
    assert (
        f"FAILED: manifest.json: this instance exported {clip_id} 1 time(s), never with this "
        in (here.stdout)
    )
    assert "NOT this instance's key" in here.stdout
