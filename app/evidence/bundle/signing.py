"""The instance's evidence signing key: Ed25519, made on first use, kept in the keyring or,
on a server with none, in a private file under the base dir.

Every export bundle's manifest is signed with it (app/evidence/bundle/export.py), so a bundle can
be tied to the instance that made it: the bundle carries the public key, and the public
key's fingerprint (SHA-256 of its raw 32 bytes, hex) is printed by every export and verify,
grouped in fours for reading aloud over a phone ("3f2a 91c0 …"), to be checked against the
one the control room publishes.

Where it is kept is `[evidence] signing_key` (app/config/recording.py):

- "keyring" (the default): in the keyring (service "vigil", user "evidence-signing-key")
  as a PKCS#8 PEM, so that an administrator can take it out with standard tools
  (`keyring get vigil evidence-signing-key`) to keep a copy somewhere safe. It stays out of
  the base dir, so a copy of the folder cannot sign as this instance (DESIGN.md keeps
  credentials out of files). The key belongs to the user's keyring, not to a base dir: two
  instances run by one user sign with one key. Two processes making the key at the same
  moment could each store one; each reads the stored key back after storing and signs
  only with what the keyring holds.
- "file": `<base>/keys/evidence-signing.pem`, the same PEM, readable by its owner alone
  from the moment it exists (as the gateway's TLS key is kept, app/tls.py), in a 0700
  folder. This is for a room server with no desktop session, where no keyring is usable.
  The trade-off: anyone who can read the base dir can sign as this instance. Two processes
  making it at once each write a private temporary file and link it into place; the one
  that finds the name taken signs with what is there.

With "keyring" and no usable keyring, a key file already in the base dir (made while the
setting said "file") is used; none is ever made unasked: the error says to set "file" or
to configure a keyring.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.config import SECRET_SERVICE, SigningKeyStore
from app.paths import BaseDir

log = logging.getLogger(__name__)

KEYRING_USER = "evidence-signing-key"
ALGORITHM = "Ed25519"
KEY_FILE = Path("keys") / "evidence-signing.pem"
"""Where "file" keeps the key, relative to the base dir."""


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


class NoKeyringError(SigningKeyError):
    """No keyring backend is usable here (a server with no desktop session)."""


def key_file(base: BaseDir) -> Path:
    return base.root / KEY_FILE


def _backend_usable() -> None:
    backend = keyring.get_keyring()
    # keyring's own stand-ins when nothing real is there: one refuses, one forgets.
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        raise NoKeyringError(
            "no keyring is usable, so there is no evidence signing key; on a server with no "
            'desktop session set `signing_key = "file"` under [evidence] in the config to '
            "keep it in <base dir>/keys/evidence-signing.pem (readable by its owner alone; "
            "anyone who can read the base dir can then sign as this instance), or start the "
            "desktop's keyring (Secret Service) or configure one for python-keyring "
            "(PYTHON_KEYRING_BACKEND), then try again"
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


_KEYRING_ENTRY = f"the keyring's {SECRET_SERVICE}/{KEYRING_USER}"


def _load(pem: str, where: str = _KEYRING_ENTRY) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{where} is not a private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{where} is {type(key).__name__}, not Ed25519")
    return SigningKey(key)


def _new_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _read_file(path: Path) -> str | None:
    """The key file's PEM, or None when there is none. Made private again, with a warning,
    if someone widened its mode; a link in its place is refused (O_NOFOLLOW)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SigningKeyError(
            f"the evidence signing key file {path} cannot be read: {exc}"
        ) from exc
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode & 0o777
        if mode & 0o077:
            log.warning(
                "evidence signing key %s was readable by others (%o); made private", path, mode
            )
            os.fchmod(file.fileno(), 0o600)
        data = file.read()
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise SigningKeyError(f"the evidence signing key file {path} is not a PEM") from None


def _make_file(path: Path) -> None:
    """A new key in `path`, private from the start: written to a temporary file made 0600,
    synced, then linked to the name, so a reader never sees half a key and two processes
    making one at once never replace each other's (the second link fails; it uses the
    first)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(temporary, flags, 0o600), "wb") as file:
            os.fchmod(file.fileno(), 0o600)  # the umask may have taken bits away, never added
            file.write(_new_pem())
            file.flush()
            os.fsync(file.fileno())
        try:
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink()
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise SigningKeyError(
            f"the evidence signing key file {path} cannot be made: {exc}"
        ) from exc


def _file_key(base: BaseDir, *, make: bool) -> SigningKey | None:
    path = key_file(base)
    pem = _read_file(path)
    if pem is None and make:
        _make_file(path)
        log.info("evidence signing key made in %s", path)
        pem = _read_file(path)
    return None if pem is None else _load(pem, f"the evidence signing key file {path}")


def instance_key(
    base: BaseDir | None = None, store: SigningKeyStore = SigningKeyStore.KEYRING
) -> SigningKey:
    """This instance's signing key, made and stored on first use where `store` says (the
    module docstring says where, and what happens with no usable keyring). SigningKeyError
    when it cannot be had: no keyring and no file, a keyring that refuses or forgets, a
    file that cannot be written or holds no Ed25519 key."""
    if store == SigningKeyStore.FILE:
        if base is None:
            raise SigningKeyError("a signing key kept in a file needs the instance's base dir")
        made = _file_key(base, make=True)
        if made is None:  # made, then gone before it was read back
            raise SigningKeyError(f"the evidence signing key file {key_file(base)} vanished")
        return made
    try:
        pem = _stored()
    except NoKeyringError:
        found = None if base is None else _file_key(base, make=False)
        if found is None:
            raise
        return found
    if pem is not None:
        return _load(pem)
    made_pem = _new_pem()
    try:
        keyring.set_password(SECRET_SERVICE, KEYRING_USER, made_pem.decode())
    except keyring.errors.KeyringError as exc:
        raise SigningKeyError(
            f"the keyring refused to store the evidence signing key ({_why(exc)})"
        ) from exc
    kept = _stored()  # what the keyring holds is the key, whoever stored it last
    if kept is None:
        raise SigningKeyError("the keyring did not keep the evidence signing key it was given")
    return _load(kept)


def instance_fingerprint(
    base: BaseDir | None = None, store: SigningKeyStore | None = None
) -> str | None:
    """The fingerprint of this instance's key, or None when none has been made yet (never
    makes one: verifying a bundle must not create a key). `store` None, for a caller that
    has not read the config: the key file in `base` where there is one (only "file" makes
    one), else the keyring's. SigningKeyError as above."""
    if base is not None and store != SigningKeyStore.KEYRING:
        found = _file_key(base, make=False)
        if found is not None or store == SigningKeyStore.FILE:
            return None if found is None else found.fingerprint
    pem = _stored()
    return None if pem is None else _load(pem).fingerprint
