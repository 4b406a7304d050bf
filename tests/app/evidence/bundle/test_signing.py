"""The evidence signing key: made once in a real (private) Secret Service keyring, then the
same key every time; never made where no keyring is usable, and never kept in a file."""

from __future__ import annotations

import hashlib
import re

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.core
import pytest
from cryptography.hazmat.primitives import serialization

from app.evidence.bundle import signing
from app.evidence.bundle.signing import SigningKeyError, grouped, instance_fingerprint, instance_key


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


@pytest.mark.parametrize(
    "backend", [keyring.backends.fail.Keyring, keyring.backends.null.Keyring], ids=["fail", "null"]
)
def test_no_usable_keyring_is_a_clear_error_and_no_file(
    backend: type, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """In: keyring's own stand-ins for 'nothing there' (one refuses, one forgets), working
    in an empty folder. Out: SigningKeyError saying no keyring is usable and that the key
    is never kept in a file, for making a key and for asking its fingerprint; no file
    appears."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    keyring.set_keyring(backend())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SigningKeyError, match=r"no keyring is usable.*never kept in a file"):
        instance_key()
    with pytest.raises(SigningKeyError, match="no keyring is usable"):
        instance_fingerprint()
    assert list(tmp_path.iterdir()) == []


def test_something_else_under_the_keys_name_is_refused(secret_service) -> None:
    """In: the keyring holds text that is not a key under vigil/evidence-signing-key.
    Out: SigningKeyError naming the entry; the text is left as it was (never overwritten,
    since it might be someone's only copy of a key)."""
    keyring.set_password("vigil", "evidence-signing-key", "not a key")
    with pytest.raises(SigningKeyError, match="vigil/evidence-signing-key is not a private key"):
        instance_key()
    assert keyring.get_password("vigil", "evidence-signing-key") == "not a key"
