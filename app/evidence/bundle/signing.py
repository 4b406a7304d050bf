"""The instance's evidence signing key: Ed25519, kept in the keyring, made on first use.

Every export bundle's manifest is signed with it (app/evidence/bundle/export.py), so a bundle can
be tied to the instance that made it: the bundle carries the public key, and the public
key's fingerprint (SHA-256 of its raw 32 bytes, hex) is printed by every export and verify,
grouped in fours for reading aloud over a phone ("3f2a 91c0 …"), to be checked against the
one the control room publishes.

The private key is in the keyring (service "vigil", user "evidence-signing-key") as a PKCS#8
PEM, so that an administrator can take it out with standard tools
(`keyring get vigil evidence-signing-key`) to keep a copy somewhere safe. DESIGN.md keeps
credentials out of files: where no keyring is usable this says so and signs nothing, rather
than falling back to a key file.

The key belongs to the user's keyring, not to a base dir: two instances run by one user
sign with one key. Two processes making the key at the same moment could each store one;
each reads the stored key back after storing and signs only with what the keyring holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.config import SECRET_SERVICE

KEYRING_USER = "evidence-signing-key"
ALGORITHM = "Ed25519"


class SigningKeyError(Exception):
    """No signing key can be had: no usable keyring, or what it holds is not a key."""


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `data` (RFC 8032, pure: no pre-hash)."""
        return self.private.sign(data)

    def public_pem(self) -> bytes:
        return public_pem(self.public)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, lowercase hex (64 digits)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def grouped(fingerprint_hex: str) -> str:
    """The fingerprint in groups of four, for reading aloud: "3f2a 91c0 …"."""
    return " ".join(fingerprint_hex[i : i + 4] for i in range(0, len(fingerprint_hex), 4))


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM: what `openssl pkeyutl -pubin -inkey` reads."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ValueError when it is not one."""
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"the key is {type(key).__name__}, not Ed25519")
    return key


def _backend_usable() -> None:
    backend = keyring.get_keyring()
    # keyring's own stand-ins when nothing real is there: one refuses, one forgets.
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        raise SigningKeyError(
            "no keyring is usable, so there is no evidence signing key (it is never kept in "
            "a file); start the desktop's keyring (Secret Service) or configure one for "
            "python-keyring, then try again"
        )


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _stored() -> str | None:
    _backend_usable()
    try:
        value: str | None = keyring.get_password(SECRET_SERVICE, KEYRING_USER)
    except keyring.errors.KeyringError as exc:
        raise SigningKeyError(
            f"the keyring could not be read for the evidence signing key ({_why(exc)})"
        ) from exc
    return value


def _load(pem: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"the keyring's {SECRET_SERVICE}/{KEYRING_USER} is not a private key: {exc}"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"the keyring's {SECRET_SERVICE}/{KEYRING_USER} is {type(key).__name__}, not Ed25519"
        )
    return SigningKey(key)


def instance_key() -> SigningKey:
    """This instance's signing key, made and stored on first use. SigningKeyError when the
    keyring is unusable, refuses to store, or does not keep what it was given."""
    pem = _stored()
    if pem is not None:
        return _load(pem)
    made = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        keyring.set_password(SECRET_SERVICE, KEYRING_USER, made.decode())
    except keyring.errors.KeyringError as exc:
        raise SigningKeyError(
            f"the keyring refused to store the evidence signing key ({_why(exc)})"
        ) from exc
    kept = _stored()  # what the keyring holds is the key, whoever stored it last
    if kept is None:
        raise SigningKeyError("the keyring did not keep the evidence signing key it was given")
    return _load(kept)


def instance_fingerprint() -> str | None:
    """The fingerprint of this instance's key, or None when none has been made yet (never
    makes one: verifying a bundle must not create a key). SigningKeyError as above."""
    pem = _stored()
    return None if pem is None else _load(pem).fingerprint
