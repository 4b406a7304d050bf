"""The evidence issue's "done means", through the public interface: a moment tagged on the
running demo wall is exported as a bundle that `vigil evidence verify` calls VALID, and one
changed byte makes it name the failed check. (The Review window's own steps, find, play,
step and export with progress, are driven in tests/widgets/evidence/test_review_window.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import RunningVigil, vigil


@pytest.fixture
def keyring_for_children(secret_service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")


def test_a_moment_tagged_on_the_demo_wall_exports_and_verifies(
    short_tmp: Path, keyring_for_children
) -> None:
    """In: the demo wall recording; once a body cam has closed three segments, `vigil
    evidence tag --feed CAM --last 6 --tags weapon`; the wall stopped; `vigil evidence
    export`; `vigil evidence verify`; one byte of the bundle's media changed; verify again.
    Out: the tag prints the clip id; the export exits 0 with 6 s of frames; verify prints
    VALID, exit 0; after the change it names the media file's failed checks, exit 1."""
    base = short_tmp / "base"
    running = RunningVigil(base)
    try:
        status = running.wait_for(
            lambda s: any(
                f["kind"] == "bodycam"
                and s["recording"]["feeds"].get(f["name"], {}).get("segments", 0) >= 3
                for f in s["feeds"]
            ),
            timeout=90,
        )
        cam = next(
            f["name"]
            for f in status["feeds"]
            if f["kind"] == "bodycam" and status["recording"]["feeds"][f["name"]]["segments"] >= 3
        )
        tagged = vigil(
            "evidence", "tag", "--feed", cam, "--last", "6", "--tags", "weapon", "--base-dir", base
        )
    finally:
        code, _, err = running.stop()
    assert code == 0, err
    assert tagged.returncode == 0, tagged.stderr
    clip_id = tagged.stdout.splitlines()[-1]

    out = short_tmp / "bundle"
    exported = vigil("evidence", "export", clip_id, "--out", out, "--base-dir", base)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["clip"]["tags"] == ["weapon"]
    verified = vigil("evidence", "verify", out, "--base-dir", base)
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.startswith(f"VALID: bundle {clip_id}")

    media = next((out / "media").iterdir())
    data = bytearray(media.read_bytes())
    data[len(data) // 3] ^= 0x01
    media.write_bytes(bytes(data))
    failed = vigil("evidence", "verify", out, "--base-dir", base)
    assert failed.returncode == 1
    assert f"FAILED: media/{media.name}: SHA-256 differs from the manifest" in failed.stdout
