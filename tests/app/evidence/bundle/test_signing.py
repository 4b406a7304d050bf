"""The evidence signing key: made once in a real (private) Secret Service keyring, then the
same key every time; where no keyring is usable, never made unasked, the error saying how to
fix it; with `[evidence] signing_key = "file"`, kept in a 0600 file under the base dir. And
headless, through the real program: `vigil evidence export` with keyring's fail backend and
the file setting signs, and `vigil evidence verify` says VALID and names the key."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.core
import pytest
from cryptography.hazmat.primitives import serialization

from app.config import SigningKeyStore
from app.evidence.bundle import signing
from app.evidence.bundle.signing import SigningKeyError, grouped, instance_fingerprint, instance_key
from app.paths import BaseDir
from tests.e2e.harness import vigil
from tests.recordings import drone_media, record


def test_the_key_is_made_once_and_kept_in_the_keyring(secret_service) -> None:
    """In: an empty private keyring. Out: no fingerprint before the first use (asking does
    not make a key); the first use stores a PKCS#8 PEM under vigil/evidence-signing-key; the
    next use gives the same key; the fingerprint is the SHA-256 of the raw 32-byte public
    key, grouped in fours for reading aloud; a signature checks against the public PEM."""
    assert instance_fingerprint() is None
    assert keyring.get_password("vigil", "evidence-signing-key") is None

    key = instance_key()

    stored = keyring.get_password("vigil", "evidence-signing-key")
    assert stored is not None
    assert stored.startswith("-----BEGIN PRIVATE KEY-----")
    assert instance_key().fingerprint == key.fingerprint == instance_fingerprint()
    raw = key.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key.fingerprint == hashlib.sha256(raw).hexdigest()
    assert re.fullmatch(r"([0-9a-f]{4} ){15}[0-9a-f]{4}", grouped(key.fingerprint))
    public = signing.load_public_pem(key.public_pem())
    public.verify(key.sign(b"manifest"), b"manifest")


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """keyring's own stand-in for 'nothing usable here', as on a server with no desktop."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    backend: type = keyring.backends.fail.Keyring  # untyped in keyring itself
    keyring.set_keyring(backend())


@pytest.mark.parametrize(
    "backend", [keyring.backends.fail.Keyring, keyring.backends.null.Keyring], ids=["fail", "null"]
)
def test_no_usable_keyring_is_a_clear_error_and_no_file(
    backend: type, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In: keyring's own stand-ins for 'nothing there' (one refuses, one forgets), the
    default setting, a base dir. Out: SigningKeyError saying no keyring is usable and how
    to fix it (the "file" setting, or a keyring), for making a key and for asking its
    fingerprint; no file appears, in the base dir or the working folder."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    keyring.set_keyring(backend())
    monkeypatch.chdir(tmp_path)
    base = BaseDir(tmp_path / "base")
    with pytest.raises(
        SigningKeyError,
        match=r'no keyring is usable.*signing_key = "file".*configure one for python-keyring',
    ):
        instance_key(base)
    with pytest.raises(SigningKeyError, match="no keyring is usable"):
        instance_fingerprint(base, SigningKeyStore.KEYRING)
    assert list(tmp_path.iterdir()) == []


def test_the_file_setting_keeps_a_private_key_in_the_base_dir(
    no_keyring: None, tmp_path: Path
) -> None:
    """In: no usable keyring, signing_key "file". Out: before the first use no fingerprint
    and no file; then <base>/keys/evidence-signing.pem, 0600 in a 0700 folder, a PKCS#8 PEM
    of an Ed25519 key; the same key every time; the fingerprint found with or without the
    setting named; and with the default setting, the file made earlier is the key used."""
    base = BaseDir(tmp_path / "base")
    assert instance_fingerprint(base, SigningKeyStore.FILE) is None
    assert not (tmp_path / "base").exists()

    key = instance_key(base, SigningKeyStore.FILE)

    path = tmp_path / "base" / "keys" / "evidence-signing.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in path.parent.iterdir()] == ["evidence-signing.pem"]
    assert instance_key(base, SigningKeyStore.FILE).fingerprint == key.fingerprint
    assert instance_fingerprint(base, SigningKeyStore.FILE) == key.fingerprint
    assert instance_fingerprint(base) == key.fingerprint
    assert instance_key(base).fingerprint == key.fingerprint


def test_a_key_file_others_can_read_is_made_private_and_a_wrong_one_refused(
    no_keyring: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In: the key file's mode widened to 0644; then its text replaced by something that is
    not a key. Out: the first use warns and puts it back to 0600 with the same key; the
    second is a SigningKeyError naming the file, and the file is left as it was."""
    base = BaseDir(tmp_path / "base")
    key = instance_key(base, SigningKeyStore.FILE)
    path = tmp_path / "base" / "keys" / "evidence-signing.pem"
    path.chmod(0o644)

    assert instance_key(base, SigningKeyStore.FILE).fingerprint == key.fingerprint
    assert path.stat().st_mode & 0o777 == 0o600
    assert "readable by others" in caplog.text

    path.write_text("not a key")
    with pytest.raises(SigningKeyError, match=r"evidence-signing.pem is not a private key"):
        instance_key(base, SigningKeyStore.FILE)
    assert path.read_text() == "not a key"


def test_something_else_under_the_keys_name_is_refused(secret_service) -> None:
    """In: the keyring holds text that is not a key under vigil/evidence-signing-key.
    Out: SigningKeyError naming the entry; the text is left as it was (never overwritten,
    since it might be someone's only copy of a key)."""
    keyring.set_password("vigil", "evidence-signing-key", "not a key")
    with pytest.raises(SigningKeyError, match="vigil/evidence-signing-key is not a private key"):
        instance_key()
    assert keyring.get_password("vigil", "evidence-signing-key") == "not a key"


def test_headless_export_signs_with_the_key_file_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: the real `vigil`, with PYTHON_KEYRING_BACKEND naming keyring's fail backend (a
    server with no desktop session), on a base dir with 7 s of DRONE-1 recorded and a clip
    of it tagged. Out: with the default setting, export exits 1 and the error says to set
    signing_key = "file" or configure a keyring, and no key file appears; with
    `[evidence] signing_key = "file"` export exits 0 and prints the key's fingerprint in
    fours, the key file is 0600; `vigil evidence verify` says VALID and names that same
    fingerprint as this instance's key."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    t0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
    root = tmp_path / "base"
    record(
        BaseDir(root).ensure(), "DRONE-1", drone_media(tmp_path / "drone.ts", 7.0), t0.timestamp()
    )
    tagged = vigil(
        *("evidence", "tag", "--feed", "DRONE-1", "--base-dir", root),
        *("--from", "2025-01-01T12:00:01Z", "--to", "2025-01-01T12:00:05Z"),
    )
    assert tagged.returncode == 0, tagged.stderr
    clip_id = tagged.stdout.splitlines()[-1]
    default = tmp_path / "default.toml"
    default.write_text("[evidence]\ntag_seconds = 30\n")
    in_file = tmp_path / "file.toml"
    in_file.write_text('[evidence]\nsigning_key = "file"\n')
    export = ("evidence", "export", clip_id, "--base-dir", root)

    refused = vigil(*export, "--out", tmp_path / "refused", "--config", default)
    made = vigil(*export, "--out", tmp_path / "bundle", "--config", in_file)
    verified = vigil("evidence", "verify", tmp_path / "bundle", "--base-dir", root)

    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert 'signing_key = "file"' in refused.stderr
    assert "configure one for python-keyring" in refused.stderr
    assert made.returncode == 0, made.stdout + made.stderr
    key_file = root / "keys" / "evidence-signing.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    fingerprint = grouped(instance_fingerprint(BaseDir(root), SigningKeyStore.FILE) or "")
    assert fingerprint in made.stdout
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "VALID" in verified.stdout
    assert f"signing key {fingerprint}: this instance's key" in verified.stdout
