"""A base dir written by Vigil before the house moved into parts (issue 13) opens, records on
and audits VALID with the code after it: the move changed where code lives, never what it
writes.

The old base dir is made in the test by the old program itself: the tree of the last commit
before the move (`git archive`), run as `python -m app` from its own folder, so its packages
shadow this checkout's. It records a looping clip, tags and locks a moment, adds an account
and makes a caller link; then this checkout's `vigil` reads all of it.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.e2e.harness import RunningVigil, vigil
from tests.e2e.test_configured_feeds import write_clip

BEFORE_THE_MOVE = "363689569d0acbb4a6c640aa6457c6b3612a2df9"
"""The last commit with the flat app/, widgets/ and media/ (the commit before the move)."""

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def keyring_for_children(secret_service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The program as it was before the move, from git: a clone without that commit fails
    here, saying so, rather than skipping the check."""
    folder = tmp_path_factory.mktemp("before-the-move")
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(REPO),
            "archive",
            "--format=tar",
            BEFORE_THE_MOVE,
            "app",
            "media",
            "widgets",
            "resources",
        ],
        capture_output=True,
        check=False,
    )
    assert archive.returncode == 0, (
        f"this clone lacks commit {BEFORE_THE_MOVE[:12]} (the code before the move): "
        f"{archive.stderr.decode(errors='replace')}"
    )
    tar = folder / "old.tar"
    tar.write_bytes(archive.stdout)
    with tarfile.open(tar) as files:
        files.extractall(folder, filter="data")
    assert (folder / "app" / "ledger.py").is_file(), "not the flat layout of before the move"
    return folder


@pytest.fixture
def old_base_dir(old_tree: Path, short_tmp: Path) -> tuple[Path, Path, str]:
    """(base dir, config, clip id): the old program's recordings of a looping clip in 2 s
    segments, a moment of it tagged and locked, an account, and a caller link."""
    clip = short_tmp / "clip.mp4"
    write_clip(clip, seconds=2)
    config = short_tmp / "vigil.toml"
    config.write_text(
        f'[[feeds]]\nname = "Cam-1"\nkind = "camera"\nurl = "{clip}"\nloop = true\n\n'
        "[recording]\nsegment_seconds = 2\n"
    )
    base = short_tmp / "base"
    old = {"cwd": old_tree, "timeout": 60}
    made = vigil("users", "add", "ann", "--role", "forensic", "--base-dir", base, **old)
    assert made.returncode == 0, made.stderr
    wall = RunningVigil(base, ["--config", config], cwd=old_tree)
    try:
        wall.wait_for(
            lambda s: s["recording"]["feeds"].get("Cam-1", {}).get("segments", 0) >= 3,
            timeout=60,
        )
        tagged = vigil(
            *("evidence", "tag", "--feed", "Cam-1", "--last", "3", "--tags", "moved"),
            *("--note", "recorded before the move", "--base-dir", base, "--config", config),
            **old,
        )
        assert tagged.returncode == 0, tagged.stderr
        clip_id = tagged.stdout.splitlines()[-1]
        locked = vigil(
            "evidence", "lock", clip_id, "--reason", "case 0413", "--base-dir", base, **old
        )
        assert locked.returncode == 0, locked.stderr
        link = vigil(
            "link", "create", "--name", "Jane", "--incident", "INC-0413", "--base-dir", base, **old
        )
        assert link.returncode == 0, link.stderr
    finally:
        code, _, err = wall.stop()
    assert code == 0, err
    return base, config, clip_id


def test_a_base_dir_from_before_the_move_reads_records_and_audits_valid(
    old_base_dir: tuple[Path, Path, str], short_tmp: Path, keyring_for_children: None
) -> None:
    """In: the old program's base dir (3+ closed segments of Cam-1, a clip tagged "moved"
    and locked, the forensic account "ann", a caller link for Jane). Out, with this
    checkout's `vigil`: `audit verify` VALID; the clip listed with its tags, note and lock;
    ann and the link listed; the clip exported and its bundle VALID; the wall runs on the
    same base dir, records more segments onto the same ledger, and the audit stays VALID."""
    base, config, clip_id = old_base_dir

    audited = vigil("audit", "verify", "--base-dir", base)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "VALID" in audited.stdout

    clips = json.loads(vigil("evidence", "list", "--json", "--base-dir", base).stdout)
    (clip,) = [c for c in clips if c["id"] == clip_id]
    assert clip["tags"] == ["moved"]
    assert clip["note"] == "recorded before the move"
    assert clip["locked"]

    users = json.loads(vigil("users", "list", "--json", "--base-dir", base).stdout)
    assert [(u["user"], u["role"]) for u in users] == [("ann", "forensic")]
    links = json.loads(vigil("link", "list", "--json", "--base-dir", base).stdout)
    assert [link["name"] for link in links] == ["Jane"]

    bundle = short_tmp / "bundle"
    exported = vigil("evidence", "export", clip_id, "--out", bundle, "--base-dir", base)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    verified = vigil("evidence", "verify", bundle, "--base-dir", base)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "VALID" in verified.stdout

    before = len(list((base / "recordings").rglob("*.ts")))
    wall = RunningVigil(base, ["--config", config])
    try:
        wall.wait_for(
            lambda s: s["recording"]["feeds"].get("Cam-1", {}).get("segments", 0) >= 2,
            timeout=60,
        )
    finally:
        code, _, err = wall.stop()
    assert code == 0, err
    assert len(list((base / "recordings").rglob("*.ts"))) >= before + 2
    again = vigil("audit", "verify", "--base-dir", base)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "VALID" in again.stdout
