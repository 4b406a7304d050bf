"""The gateway's HTTPS certificate: made once, private from the first byte, reused, renewed
when it expires or a host is missing; the operator's own pair loaded or refused naming the
file; and a real TLS handshake on 127.0.0.1 that checks the host name against it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import re
import ssl
import stat
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.tls import (
    CERT_FILE,
    KEY_FILE,
    CertificateInfo,
    TlsError,
    make_self_signed,
    server_ssl_context,
)
from tests.servers import LOOPBACK, free_port

HOSTS = ["controlroom.example", "192.0.2.10"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def pem_fingerprint(path: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(path.read_text())
    return hashlib.sha256(der).hexdigest().upper()


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


async def get_over_tls(
    server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str
) -> tuple[int, str]:
    """GET / from an aiohttp server on 127.0.0.1 serving with `server`, verifying with `client`
    as if the gateway were reached by the name `server_hostname`."""

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="gateway here")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port, ssl_context=server).start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"https://{LOOPBACK}:{port}/", ssl=client, server_hostname=server_hostname
            ) as response,
        ):
            return response.status, await response.text()
    finally:
        await runner.cleanup()


def trusting(cafile: Path) -> ssl.SSLContext:
    """A client context as strict as a browser's, trusting only `cafile`."""
    context = ssl.create_default_context(cafile=str(cafile))
    assert context.check_hostname
    assert context.verify_mode is ssl.CERT_REQUIRED
    return context


def write_ca_signed_pair(folder: Path, hostname: str) -> tuple[Path, Path, Path]:
    """An operator's pair as a real CA would issue it: CA certificate, server certificate
    signed by the CA (with the CA after it in the file, as chains are given), server key."""
    now = utcnow()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Northshire Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(pem))
    cert_path.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


# -- Vigil's own certificate ------------------------------------------------------------


def test_first_run_makes_a_private_pair_even_with_an_open_umask(tmp_path: Path) -> None:
    """In: no certificate folder yet; hosts "controlroom.example" and "192.0.2.10"; umask 0.
    Out: the folder 0700, cert and key 0600; ECDSA P-256 signed with SHA-256, valid 825
    days, self-signed; DNS names for the names, IP entries for the addresses, localhost,
    127.0.0.1 and ::1 added; the fingerprint is the SHA-256 of the DER, as browsers show."""
    cert_dir = tmp_path / "base" / "certificates"
    old_umask = os.umask(0)
    try:
        context, info = server_ssl_context(cert_dir, HOSTS)
    finally:
        os.umask(old_umask)
    cert_path, key_path = cert_dir / CERT_FILE, cert_dir / KEY_FILE
    assert mode(cert_dir) == 0o700
    assert mode(cert_path) == 0o600
    assert mode(key_path) == 0o600
    assert sorted(p.name for p in cert_dir.iterdir()) == [CERT_FILE, KEY_FILE]

    certificate = load(cert_path)
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert certificate.public_key().curve.name == "secp256r1"
    assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc == dt.timedelta(
        days=825
    )
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["controlroom.example", "localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == [
        "192.0.2.10",
        "127.0.0.1",
        "::1",
    ]
    assert info == CertificateInfo(
        path=cert_path,
        sha256=info.sha256,
        not_after=certificate.not_valid_after_utc,
        hostnames=("controlroom.example", "localhost", "192.0.2.10", "127.0.0.1", "::1"),
        self_signed=True,
    )
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", info.sha256)
    assert info.sha256.replace(":", "") == pem_fingerprint(cert_path)
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.protocol is ssl.PROTOCOL_TLS_SERVER


def test_later_runs_reuse_the_same_certificate(tmp_path: Path) -> None:
    """In: a second and third run, asking for the same hosts and then for fewer.
    Out: the same fingerprint each time, no .old files."""
    _, first = server_ssl_context(tmp_path, HOSTS)
    _, again = server_ssl_context(tmp_path, HOSTS)
    _, fewer = server_ssl_context(tmp_path, ["CONTROLROOM.example."])
    assert first.sha256 == again.sha256 == fewer.sha256
    assert not list(tmp_path.glob("*.old"))


def test_a_new_hostname_makes_a_new_certificate_and_keeps_the_old(tmp_path: Path) -> None:
    _, first = server_ssl_context(tmp_path, HOSTS)
    _, second = server_ssl_context(tmp_path, [*HOSTS, "gateway.northshire.example"])
    assert second.sha256 != first.sha256
    assert "gateway.northshire.example" in second.hostnames
    old_cert = tmp_path / f"{CERT_FILE}.old"
    assert pem_fingerprint(old_cert) == first.sha256.replace(":", "")
    assert mode(old_cert) == 0o600
    assert mode(tmp_path / f"{KEY_FILE}.old") == 0o600


@pytest.mark.parametrize(
    ("made_days_ago", "renewed"),
    [(900, True), (800, True), (700, False)],
    ids=["expired", "expires-within-30-days", "125-days-left"],
)
def test_an_expired_or_expiring_certificate_is_renewed(
    tmp_path: Path, made_days_ago: int, renewed: bool
) -> None:
    """In: a certificate made (same code path, `now` in the past) 900, 800 or 700 days ago.
    Out: expired or within 30 days of expiry: a new one valid 825 days from today, the old
    kept; 125 days left: reused."""
    _, old = server_ssl_context(tmp_path, HOSTS, now=utcnow() - dt.timedelta(days=made_days_ago))
    _, now = server_ssl_context(tmp_path, HOSTS)
    assert (now.sha256 != old.sha256) is renewed
    assert (tmp_path / f"{CERT_FILE}.old").exists() is renewed
    if renewed:
        assert now.not_after - utcnow() > dt.timedelta(days=824)


def test_a_damaged_pair_on_disk_is_replaced(tmp_path: Path) -> None:
    """In: garbage where Vigil's key was (a crash, a bad copy). Out: a new working pair."""
    _, first = server_ssl_context(tmp_path, HOSTS)
    (tmp_path / KEY_FILE).write_text("not a key")
    _, second = server_ssl_context(tmp_path, HOSTS)
    assert second.sha256 != first.sha256
    assert (tmp_path / f"{KEY_FILE}.old").read_text() == "not a key"


def test_a_host_name_no_certificate_can_hold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TlsError, match=r"'control room' is not a host name or IP address"):
        server_ssl_context(tmp_path, ["control room"])


def test_make_self_signed_names_ip_literals_as_addresses() -> None:
    certificate, _ = make_self_signed(["[2001:db8::7]", "10.0.0.5"], utcnow())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == [
        "2001:db8::7",
        "10.0.0.5",
        "127.0.0.1",
        "::1",
    ]


# -- the operator's own pair ------------------------------------------------------------


def test_the_operators_own_ca_signed_pair_is_served(tmp_path: Path) -> None:
    """In: a server certificate for cr.northshire.example signed by the operator's CA, with
    its key. Out: CertificateInfo says not self-signed; a client trusting only that CA
    completes the handshake for cr.northshire.example; nothing is written to cert_dir."""
    ca, cert, key = write_ca_signed_pair(tmp_path, "cr.northshire.example")
    cert_dir = tmp_path / "certificates"
    context, info = server_ssl_context(
        cert_dir, ["cr.northshire.example"], certificate=cert, private_key=key
    )
    assert info.path == cert
    assert info.hostnames == ("cr.northshire.example",)
    assert info.self_signed is False
    assert not cert_dir.exists()
    status, text = asyncio.run(get_over_tls(context, trusting(ca), "cr.northshire.example"))
    assert (status, text) == (200, "gateway here")


def test_a_key_that_does_not_match_is_refused_naming_the_key_file(tmp_path: Path) -> None:
    _, cert, _ = write_ca_signed_pair(tmp_path, "cr.northshire.example")
    server_ssl_context(tmp_path / "own", HOSTS)
    other_key = tmp_path / "own" / KEY_FILE
    with pytest.raises(TlsError) as raised:
        server_ssl_context(tmp_path, HOSTS, certificate=cert, private_key=other_key)
    assert str(raised.value) == (
        f"{other_key}: this private key does not belong to the certificate {cert}"
    )


@pytest.mark.parametrize("broken", ["certificate", "key"])
def test_a_missing_or_garbage_file_is_named(tmp_path: Path, broken: str) -> None:
    _, cert, key = write_ca_signed_pair(tmp_path, "cr.northshire.example")
    path = cert if broken == "certificate" else key
    path.unlink()
    with pytest.raises(TlsError) as raised:
        server_ssl_context(tmp_path, HOSTS, certificate=cert, private_key=key)
    assert str(raised.value) == f"{path}: no such file"

    path.write_text("hello, this is not PEM\n")
    with pytest.raises(TlsError) as raised:
        server_ssl_context(tmp_path, HOSTS, certificate=cert, private_key=key)
    assert str(raised.value).startswith(f"{path}: not a PEM ")


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    """In: a folder where the key should be; then (not as root, who reads anything) a key
    file its user may not read. Out: TlsError naming the file and the system's reason."""
    _, cert, key = write_ca_signed_pair(tmp_path, "cr.northshire.example")
    folder = tmp_path / "keys"
    folder.mkdir()
    with pytest.raises(TlsError) as raised:
        server_ssl_context(tmp_path, HOSTS, certificate=cert, private_key=folder)
    assert str(raised.value) == f"{folder}: cannot be read: Is a directory"
    if os.geteuid() != 0:
        key.chmod(0)
        with pytest.raises(TlsError) as raised:
            server_ssl_context(tmp_path, HOSTS, certificate=cert, private_key=key)
        assert str(raised.value) == f"{key}: cannot be read: Permission denied"


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    _, cert, _ = write_ca_signed_pair(tmp_path, "cr.northshire.example")
    with pytest.raises(TlsError, match="give both or neither"):
        server_ssl_context(tmp_path, HOSTS, certificate=cert)


# -- a real handshake -------------------------------------------------------------------


def test_a_browser_strict_client_trusting_the_certificate_gets_200(tmp_path: Path) -> None:
    """In: Vigil's own certificate served by aiohttp on 127.0.0.1; a client that trusts that
    certificate alone and checks host names.
    Out: 200 when it expects "localhost", and when it expects the address 127.0.0.1 (an IP
    entry); a certificate error when it expects a host the certificate does not name, and
    when it trusts nothing but the system's CAs."""
    context, info = server_ssl_context(tmp_path, HOSTS)
    client = trusting(info.path)
    assert asyncio.run(get_over_tls(context, client, "localhost")) == (200, "gateway here")
    assert asyncio.run(get_over_tls(context, client, "127.0.0.1")) == (200, "gateway here")
    with pytest.raises(aiohttp.ClientConnectorCertificateError, match="Hostname mismatch"):
        asyncio.run(get_over_tls(context, client, "elsewhere.example"))
    with pytest.raises(aiohttp.ClientConnectorCertificateError, match="self-signed"):
        asyncio.run(get_over_tls(context, ssl.create_default_context(), "localhost"))
