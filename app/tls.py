"""HTTPS certificates for what Vigil serves: the operator's own pair, or a self-signed one
Vigil keeps. Shared by the caller gateway and the room server's API for desks (each in a
folder of its own under the base dir's certificates/).

Phones only give a page their camera and location over HTTPS, so the gateway always
serves TLS; desks pin the room server's certificate by its fingerprint. With no
certificate configured, the first run makes one (ECDSA P-256, valid 825 days, the most
Apple devices accept) naming every host it is reached by, and later runs reuse it, so a
fingerprint the control room has checked or a trust setting on a phone stays valid. It is
made again, the old pair kept as `.old`, when it has expired, expires within 30 days, or
does not name a host now asked for.

Key files are created private (0600) from the first byte, in a folder only the owner can
enter (0700).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import logging
import os
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

CERT_FILE = "gateway-cert.pem"
KEY_FILE = "gateway-key.pem"
VALID_FOR = dt.timedelta(days=825)
RENEW_WITHIN = dt.timedelta(days=30)
ALWAYS_NAMED = ("localhost", "127.0.0.1", "::1")
"""On every certificate Vigil makes: the control room's own machine reaches the gateway so."""

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"^(\*\.)?({_LABEL}\.)*{_LABEL}$")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TlsError(Exception):
    """The gateway cannot serve HTTPS; the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class CertificateInfo:
    path: Path
    sha256: str
    """Colon-separated upper-case hex, as browsers show it: checkable over the phone."""
    not_after: dt.datetime
    """UTC."""
    hostnames: tuple[str, ...]
    """The DNS names and IP addresses the certificate is valid for."""
    self_signed: bool


def server_ssl_context(
    cert_dir: Path,
    hostnames: Sequence[str],
    *,
    certificate: Path | None = None,
    private_key: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[ssl.SSLContext, CertificateInfo]:
    """A TLS 1.2+ server context with the operator's pair, or with Vigil's own certificate
    from `cert_dir` (made or renewed here as needed) valid for `hostnames`."""
    if (certificate is None) != (private_key is None):
        given = certificate if certificate is not None else private_key
        raise TlsError(
            f"{given}: a certificate and its private key go together; give both or neither"
        )
    now = now or dt.datetime.now(dt.UTC)
    if certificate is not None and private_key is not None:
        cert_path, key_path = certificate, private_key
        info = _operator_pair(certificate, private_key, _wanted(hostnames, defaults=False), now)
    else:
        cert_path, key_path = cert_dir / CERT_FILE, cert_dir / KEY_FILE
        info = _own_pair(cert_dir, _wanted(hostnames, defaults=True), now)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path)
    except (ssl.SSLError, OSError) as exc:
        raise TlsError(f"{cert_path}: TLS cannot use this certificate and key: {exc}") from exc
    return context, info


def make_self_signed(
    hostnames: Sequence[str], now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new key and a certificate for it, signed by itself, valid from `now` for 825 days."""
    dns, ips = _split(_wanted(hostnames, defaults=True))
    key = ec.generate_private_key(ec.SECP256R1())
    first = (dns or [str(ip) for ip in ips])[0]
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, first if len(first) <= 64 else "Vigil gateway"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vigil caller gateway"),
        ]
    )
    public = key.public_key()
    # Back-dated a little for clocks that run slow; the whole span stays within 825 days.
    not_before = now - dt.timedelta(minutes=5)
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
    names += [x509.IPAddress(ip) for ip in ips]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # Not a CA: Firefox refuses a CA certificate used as a server's own.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def certificate_info(path: Path, certificate: x509.Certificate) -> CertificateInfo:
    return CertificateInfo(
        path=path,
        sha256=certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_after=certificate.not_valid_after_utc,
        hostnames=tuple(_names_on(certificate)),
        self_signed=_is_self_signed(certificate),
    )


# -- Vigil's own certificate --------------------------------------------------------------


def _own_pair(cert_dir: Path, wanted: list[str], now: dt.datetime) -> CertificateInfo:
    try:
        cert_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(cert_dir, 0o700)
    except OSError as exc:
        raise TlsError(f"{cert_dir}: cannot make the certificate folder: {_reason(exc)}") from exc
    cert_path, key_path = cert_dir / CERT_FILE, cert_dir / KEY_FILE
    if cert_path.exists() or key_path.exists():
        why = _why_renew(cert_path, key_path, wanted, now)
        if why is None:
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
            _keep_private(key_path)
            return certificate_info(cert_path, certificate)
        log.warning(
            "gateway certificate %s: making a new one, as %s; the old one is kept as %s.old. "
            "Phones that trusted the old one will ask again.",
            cert_path,
            why,
            cert_path.name,
        )
    certificate, key = make_self_signed(wanted, now)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        new_key = _write_private(key_path, key_pem)
        new_cert = _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
        for path, new in ((key_path, new_key), (cert_path, new_cert)):
            if path.exists():
                old = path.with_name(path.name + ".old")
                os.replace(path, old)
                os.chmod(old, 0o600)
            os.replace(new, path)
    except OSError as exc:
        raise TlsError(f"{cert_dir}: cannot write the gateway certificate: {_reason(exc)}") from exc
    info = certificate_info(cert_path, certificate)
    log.info(
        "gateway certificate %s made for %s, SHA-256 %s",
        cert_path,
        ", ".join(info.hostnames),
        info.sha256,
    )
    return info


def _why_renew(cert_path: Path, key_path: Path, wanted: list[str], now: dt.datetime) -> str | None:
    """Why the pair on disk cannot serve on, or None when it can."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        return f"{Path(str(exc.filename)).name} is missing"
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"the pair on disk cannot be read ({type(exc).__name__})"
    if not _same_key(certificate, key):
        return "the key on disk does not match the certificate"
    left = certificate.not_valid_after_utc - now
    if left <= dt.timedelta(0):
        return f"it expired on {certificate.not_valid_after_utc:%Y-%m-%d}"
    if left <= RENEW_WITHIN:
        return f"it expires on {certificate.not_valid_after_utc:%Y-%m-%d}, within 30 days"
    missing = [name for name in wanted if name not in _names_on(certificate)]
    if missing:
        return f"it does not name {', '.join(missing)}"
    return None


def _write_private(path: Path, data: bytes) -> Path:
    """`data` in a new file beside `path`, readable by its owner alone from the start."""
    temporary = path.with_name(f".{path.name}.new")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(temporary, flags, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # the umask may have taken bits away; never added any
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    return temporary


def _keep_private(key_path: Path) -> None:
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning(
            "gateway key %s was readable by others (%o); made private again", key_path, mode
        )
        os.chmod(key_path, 0o600)


# -- the operator's own pair ---------------------------------------------------------------


def _operator_pair(
    cert_path: Path, key_path: Path, wanted: list[str], now: dt.datetime
) -> CertificateInfo:
    try:
        certificates = x509.load_pem_x509_certificates(_read(cert_path))
    except ValueError:
        raise TlsError(
            f"{cert_path}: not a PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None
    try:
        key = serialization.load_pem_private_key(_read(key_path), password=None)
    except TypeError:
        raise TlsError(
            f"{key_path}: the private key is encrypted; the gateway needs it unencrypted, "
            "in a file only its user can read"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsError(f"{key_path}: not a PEM private key (-----BEGIN PRIVATE KEY-----)") from None
    certificate = certificates[0]
    if not _same_key(certificate, key):
        raise TlsError(
            f"{key_path}: this private key does not belong to the certificate {cert_path}"
        )
    info = certificate_info(cert_path, certificate)
    if info.not_after <= now:
        log.error(
            "gateway certificate %s expired on %s: phones will refuse the caller page",
            cert_path,
            f"{info.not_after:%Y-%m-%d}",
        )
    missing = [name for name in wanted if name not in info.hostnames and not _wildcard(name, info)]
    if missing:
        log.warning(
            "gateway certificate %s does not name %s: phones reaching the gateway so will warn",
            cert_path,
            ", ".join(missing),
        )
    return info


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsError(f"{path}: no such file") from None
    except OSError as exc:
        raise TlsError(f"{path}: cannot be read: {_reason(exc)}") from None


def _wildcard(name: str, info: CertificateInfo) -> bool:
    parent = name.partition(".")[2]
    return bool(parent) and f"*.{parent}" in info.hostnames


# -- helpers --------------------------------------------------------------------------------


def _wanted(hostnames: Sequence[str], *, defaults: bool) -> list[str]:
    """The names as a certificate holds them (lower case, IPs compressed), each once."""
    wanted: list[str] = []
    for raw in [*hostnames, *(ALWAYS_NAMED if defaults else ())]:
        name = _normalised(raw)
        if name not in wanted:
            wanted.append(name)
    return wanted


def _normalised(raw: str) -> str:
    text = raw.strip().strip("[]").rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:
        name = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        name = ""
    if not _DNS_NAME.match(name):
        raise TlsError(f"{raw!r} is not a host name or IP address the certificate can name")
    return name


def _split(names: list[str]) -> tuple[list[str], list[IpAddress]]:
    dns: list[str] = []
    ips: list[IpAddress] = []
    for name in names:
        try:
            ips.append(ipaddress.ip_address(name))
        except ValueError:
            dns.append(name)
    return dns, ips


def _names_on(certificate: x509.Certificate) -> list[str]:
    try:
        alternative = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    names = [name.lower() for name in alternative.value.get_values_for_type(x509.DNSName)]
    addresses = alternative.value.get_values_for_type(x509.IPAddress)
    networks = ipaddress.IPv4Network | ipaddress.IPv6Network
    return names + [str(ip) for ip in addresses if not isinstance(ip, networks)]


def _same_key(certificate: x509.Certificate, key: PrivateKeyTypes) -> bool:
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return certificate.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
