"""[server], [sfu] and [room]: a control room of one server and many desks.

    [server]                          # on the room server (`vigil server`)
    listen = "0.0.0.0:8444"           # the desks' HTTPS API
    public_url = "https://vigil-room.northshire.police.uk:8444"
    certificate = "/etc/vigil/room.pem"   # optional, with private_key; else Vigil's own
    private_key = "/etc/vigil/room.key"

    [sfu]
    janus = "managed"                 # Vigil runs Janus itself; or "http://10.1.0.5:8088/janus"
    api_port = 8088                   # the managed Janus's API, on loopback
    rtp_ports = "20000-40000"         # where Janus's media flows: open these to the desks
    interfaces = ["eth0"]             # ICE only on these (default: every one but loopback)
    public_addresses = ["203.0.113.7"]    # a Janus behind one-to-one NAT

    [room]                            # on a desk (`vigil run`): the server it shows
    server = "https://vigil-room.northshire.police.uk:8444"
    fingerprint = "SHA256:3f9a…"      # the server's certificate, as `vigil server` prints it

The API secret of an existing Janus (`janus = "http://…"`) is the keyring's ("vigil",
"janus"), never the file's. No Qt here.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.config.recording import SettingError

SERVER_KEYS = {"listen", "public_url", "certificate", "private_key"}
SFU_KEYS = {"janus", "api_port", "admin_port", "rtp_ports", "interfaces", "public_addresses"}
ROOM_KEYS = {"server", "fingerprint"}
MANAGED = "managed"
_LISTEN = re.compile(r"(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})")
_FINGERPRINT = re.compile(r"SHA256:[0-9a-f]{64}")


@dataclass(frozen=True)
class ServerSettings:
    """[server]: where the room server's HTTPS API for desks listens."""

    host: str = "127.0.0.1"
    port: int = 8444
    public_url: str = "https://localhost:8444"
    certificate: Path | None = None
    private_key: Path | None = None

    @property
    def hostnames(self) -> list[str]:
        return certificate_hostnames(self.public_url, self.host)


@dataclass(frozen=True)
class SfuSettings:
    """[sfu]: the Janus the room forwards media with."""

    janus: str = MANAGED
    """"managed" (Vigil starts and supervises Janus) or the HTTP API URL of one elsewhere."""
    api_port: int = 8088
    admin_port: int = 7088
    rtp_ports: tuple[int, int] = (20000, 40000)
    interfaces: tuple[str, ...] = ()
    public_addresses: tuple[str, ...] = ()

    @property
    def managed(self) -> bool:
        return self.janus == MANAGED


@dataclass(frozen=True)
class RoomSettings:
    """[room]: this desk is one of a room's; its server, and the certificate to expect."""

    server: str
    fingerprint: str


def certificate_hostnames(public_url: str, host: str) -> list[str]:
    """Names and addresses a self-made certificate must cover: the public URL's host, and
    the address listened on unless it is every address. The gateway's and the room
    server's alike."""
    names = [urllib.parse.urlsplit(public_url).hostname or "localhost"]
    if host not in ("0.0.0.0", "::", ""):
        names.append(host)
    return list(dict.fromkeys(names))


def parse_server(table: Mapping[str, object]) -> ServerSettings:
    _known(table, SERVER_KEYS, "server")
    host, port = _listen(table.get("listen", "127.0.0.1:8444"))
    public_url = table.get(
        "public_url", f"https://{'localhost' if host in ('0.0.0.0', '::') else host}:{port}"
    )
    if not isinstance(public_url, str) or urllib.parse.urlsplit(public_url).scheme != "https":
        raise SettingError(
            "public_url",
            'expected the https:// address desks reach, such as "https://vigil-room:8444"',
        )
    certificate, private_key = (_path(table, key) for key in ("certificate", "private_key"))
    if (certificate is None) != (private_key is None):
        raise SettingError(
            "certificate", "a certificate and its private_key go together; give both or neither"
        )
    return ServerSettings(host, port, public_url.rstrip("/"), certificate, private_key)


def parse_sfu(table: Mapping[str, object]) -> SfuSettings:
    _known(table, SFU_KEYS, "sfu")
    janus = table.get("janus", MANAGED)
    if not isinstance(janus, str) or (
        janus != MANAGED and urllib.parse.urlsplit(janus).scheme not in ("http", "https")
    ):
        raise SettingError(
            "janus",
            '"managed", or the http(s):// URL of a Janus API ("http://10.1.0.5:8088/janus")',
        )
    ports = {
        key: _port(table, key, default)
        for key, default in (("api_port", 8088), ("admin_port", 7088))
    }
    if ports["api_port"] == ports["admin_port"]:
        raise SettingError("admin_port", "must differ from api_port")
    return SfuSettings(
        janus=janus.rstrip("/"),
        api_port=ports["api_port"],
        admin_port=ports["admin_port"],
        rtp_ports=_range(table.get("rtp_ports", "20000-40000")),
        interfaces=_names(table, "interfaces"),
        public_addresses=_names(table, "public_addresses"),
    )


def parse_room(table: Mapping[str, object]) -> RoomSettings:
    _known(table, ROOM_KEYS, "room")
    server = table.get("server")
    if not isinstance(server, str) or urllib.parse.urlsplit(server).scheme != "https":
        raise SettingError(
            "server", "the room server's https:// address, as `vigil server` prints it"
        )
    fingerprint = table.get("fingerprint")
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint.strip()):
        raise SettingError(
            "fingerprint",
            'the server certificate\'s "SHA256:" and 64 hex digits, as `vigil server` prints it',
        )
    return RoomSettings(server.rstrip("/"), fingerprint.strip())


def _known(table: Mapping[str, object], keys: set[str], section: str) -> None:
    for key in table:
        if key not in keys:
            raise SettingError(
                key, f"unknown {section} setting; expected one of {', '.join(sorted(keys))}"
            )


def _listen(value: object) -> tuple[str, int]:
    match = _LISTEN.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise SettingError("listen", 'expected "ADDRESS:PORT", such as "0.0.0.0:8444"')
    return match.group(1).strip("[]"), int(match.group(2))


def _port(table: Mapping[str, object], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise SettingError(key, "must be a port number, 1 to 65535")
    return value


def _range(value: object) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,5})-(\d{1,5})", value.strip()) if isinstance(value, str) else None
    if match is None or not 0 < int(match.group(1)) < int(match.group(2)) < 65536:
        raise SettingError("rtp_ports", 'expected "LOW-HIGH", such as "20000-40000"')
    return int(match.group(1)), int(match.group(2))


def _names(table: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingError(key, "must be a list of names or addresses")
    if any("," in v or '"' in v for v in value):
        raise SettingError(key, "names may hold no commas or quotes")
    return tuple(v.strip() for v in value)


def _path(table: Mapping[str, object], key: str) -> Path | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingError(key, "must be a file path")
    return Path(value).expanduser()
