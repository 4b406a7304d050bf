"""The TOML configuration: read, check, and say exactly where a mistake is.

Every error names the file, the line and the key (`vigil.toml:12: feeds[2].url: ...`).
Passwords never live in the file: a URL that carries one is refused with the command that
stores it in the keyring instead.
"""

from __future__ import annotations

import re
import tomllib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from app.config.access import AccessSettings, parse_access
from app.config.map import check_setting as check_tiles_setting
from app.config.recording import (
    EvidenceSettings,
    RecordingPolicy,
    SettingError,
    parse_evidence,
    parse_recording,
)
from app.config.room import (
    RoomSettings,
    ServerSettings,
    SfuSettings,
    certificate_hostnames,
    parse_room,
    parse_server,
    parse_sfu,
)
from app.config.sms import SmsSettings, SmsSettingsError, parse_sms_settings
from app.paths import default_config_file
from media.live import (
    NETWORK_SCHEMES,
    FeedKind,
    FeedSpec,
    RtspTransport,
    is_srt,
    srt_url_problem,
)
from widgets.layout import LayoutError
from widgets.layout import check as check_layout

SECRET_SERVICE = "vigil"

_MAP_KEYS = {"tiles", "centre", "zoom"}
_FEED_KEYS = {"name", "kind", "url", "substream_url", "username", "rtsp_transport", "loop"}
_TOP_KEYS = {
    "wall",
    "gateway",
    "map",
    "feeds",
    "recording",
    "evidence",
    "sms",
    "access",
    "server",
    "sfu",
    "room",
}


def secret_user(feed_name: str) -> str:
    """The keyring user a feed's password is stored under."""
    return f"feed:{feed_name}"


class ConfigError(Exception):
    def __init__(self, path: Path | None, line: int | None, key: str, message: str) -> None:
        self.path, self.line, self.key, self.message = path, line, key, message
        where = str(path) if path else "<config>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {key}: {message}")


_GATEWAY_KEYS = {
    "listen",
    "public_url",
    "organisation",
    "certificate",
    "private_key",
    "link_valid_minutes",
    "caller_session_hours",
    "officer_shift_hours",
    "video_codec",
    "video_start_kbps",
    "ice_addresses",
    "ice_servers",
}
VIDEO_CODECS = {"any": None, "vp8": "video/VP8", "h264": "video/H264"}


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server for phones behind NAT; a TURN credential comes from the
    keyring (user "turn:USERNAME")."""

    urls: tuple[str, ...]
    username: str | None = None


@dataclass(frozen=True)
class GatewaySettings:
    """[gateway]: where the caller gateway listens and what it offers."""

    host: str = "127.0.0.1"
    port: int = 8443
    public_url: str = "https://localhost:8443"
    """The start of every link: what phones can reach (a public name and port)."""
    organisation: str = "The police control room"
    """Who is asking, in the text message and on the caller's page."""
    certificate: Path | None = None
    private_key: Path | None = None
    link_valid_minutes: float = 15.0
    caller_session_hours: float = 4.0
    officer_shift_hours: float = 12.0
    video_codec: str | None = None
    """Preferred codec ("video/VP8", "video/H264"), or None for the phone's first choice."""
    video_start_kbps: int = 2000
    """The phone's encoder starts at this bitrate (0: its own 300 kbit/s, and 360p)."""
    ice_addresses: tuple[str, ...] | None = None
    """Addresses offered for media; None offers every address but loopback."""
    ice_servers: tuple[IceServer, ...] = ()

    @property
    def hostnames(self) -> list[str]:
        return certificate_hostnames(self.public_url, self.host)


@dataclass(frozen=True)
class MapSettings:
    """[map]: where the map's tiles come from and where it first looks."""

    tiles: str | None = None
    """"mbtiles:PATH" or an XYZ URL template of the force's own tile server; None: a grid."""
    centre: tuple[float, float] | None = None
    """(lat, lon) the map opens on; None: the tiles' own centre, else the first feeds."""
    zoom: float = 15.0


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    layout: str = "auto"
    screens: int | None = 1
    """[wall] screens: how many screens the wall spans, one window each, primary first;
    None: every screen there is ("all")."""
    feeds: tuple[FeedSpec, ...] = ()
    """As configured: without passwords, which come from the keyring (app/feeds/service.py)."""
    gateway: GatewaySettings | None = None
    """None when the config has no [gateway]: nothing then listens for callers."""
    sms: SmsSettings = field(default_factory=SmsSettings)
    map: MapSettings = field(default_factory=MapSettings)
    recording: RecordingPolicy = field(default_factory=RecordingPolicy)
    """[recording]: which kinds are recorded, segment length, how long they are kept."""
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    """[evidence]: `tag_seconds`, how far back the wall's T key tags."""
    access: AccessSettings = field(default_factory=AccessSettings)
    server: ServerSettings | None = None
    """[server]: set on a room server; None elsewhere."""
    sfu: SfuSettings = field(default_factory=SfuSettings)
    room: RoomSettings | None = None
    """[room]: set on a desk of a room; None on a desk that does everything itself."""
    """[access]: `sign_in` ("os" or "vigil") and `idle_lock_minutes` (app/access/person.py)."""


def read(path: Path | None) -> Config | None:
    """The config named on the command line (must exist), else the user's if there is one."""
    if path is not None:
        if not path.exists():
            raise ConfigError(path, None, "file", "no such file")
        return load(path)
    default = default_config_file()
    return load(default) if default.exists() else None


def load(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, None, "file", exc.strerror or str(exc)) from exc
    return parse(text, path)


def parse(text: str, path: Path | None = None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ConfigError(path, line, "syntax", str(exc).split(" (at line")[0]) from exc
    locate = _Locator(text)

    def fail(
        key: str, message: str, section: str | None = None, index: int | None = None
    ) -> NoReturn:
        raise ConfigError(
            path, locate.line(key, section, index), _dotted(section, index, key), message
        )

    for key in data:
        if key not in _TOP_KEYS:
            fail(key, f"unknown setting; expected one of {', '.join(sorted(_TOP_KEYS))}")

    wall = data.get("wall", {})
    if not isinstance(wall, dict):
        fail("wall", "must be a table: [wall]")
    layout = wall.get("layout", "auto")
    if not isinstance(layout, str):
        fail("layout", 'must be text, such as "auto" or "3x3"', "wall")
    try:
        layout = check_layout(layout)
    except LayoutError as exc:
        fail("layout", str(exc), "wall")
    for key in wall:
        if key not in ("layout", "screens"):
            fail(key, "unknown wall setting; expected layout or screens", "wall")
    screens = wall.get("screens", 1)
    if screens == "all":
        screens = None
    elif isinstance(screens, bool) or not isinstance(screens, int) or not 1 <= screens <= 16:
        fail(
            "screens",
            'must be "all" (a window on every screen) or how many screens, 1 to 16',
            "wall",
        )

    feeds_raw = data.get("feeds", [])
    if not isinstance(feeds_raw, list):
        fail("feeds", "must be an array of tables: [[feeds]]")
    feeds: list[FeedSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(feeds_raw):
        for key in item:
            if key not in _FEED_KEYS:
                fail(
                    key,
                    f"unknown feed setting; expected one of {', '.join(sorted(_FEED_KEYS))}",
                    "feeds",
                    index,
                )
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            fail("name", "every feed needs a name", "feeds", index)
        if name in seen:
            fail("name", f"two feeds are called {name!r}; names must be unique", "feeds", index)
        seen.add(name)
        kind_raw = item.get("kind", "camera")
        try:
            kind = FeedKind(kind_raw)
        except ValueError:
            fail(
                "kind",
                f"{kind_raw!r} is not one of {', '.join(k.value for k in FeedKind)}",
                "feeds",
                index,
            )
        url = item.get("url")
        if not isinstance(url, str) or not url.strip():
            fail("url", "every feed needs a url", "feeds", index)
        if urllib.parse.urlsplit(url).password is not None:
            fail(
                "url",
                "the URL holds a password; remove it from the file and store it in the "
                f"keyring: keyring set {SECRET_SERVICE} {secret_user(name)}",
                "feeds",
                index,
            )
        # Only the URL's shape: whether srt-live-transmit is installed matters on the machine
        # that pulls the feed, and is checked where its source is made (app/feeds/service.py).
        srt_problem = srt_url_problem(url.strip()) if is_srt(url.strip()) else None
        if srt_problem is not None:
            if "passphrase" in srt_problem:
                srt_problem += f": keyring set {SECRET_SERVICE} {secret_user(name)}"
            fail("url", srt_problem, "feeds", index)
        substream_url = item.get("substream_url")
        if substream_url is not None:
            if not isinstance(substream_url, str) or not substream_url.strip():
                fail("substream_url", "must be the sub-stream's URL, or left out", "feeds", index)
            substream_url = substream_url.strip()
            if urllib.parse.urlsplit(substream_url).password is not None:
                fail(
                    "substream_url",
                    "the URL holds a password; remove it: the sub-stream uses the feed's "
                    f"username and the password in the keyring ({secret_user(name)})",
                    "feeds",
                    index,
                )
            if urllib.parse.urlsplit(substream_url).scheme not in NETWORK_SCHEMES - {"srt"}:
                fail(
                    "substream_url",
                    "a sub-stream is the camera's second network stream (rtsp://, udp://, "
                    "rtmp://, http://…); SRT and files are not read as sub-streams",
                    "feeds",
                    index,
                )
        transport = item.get("rtsp_transport", "tcp")
        if transport not in ("tcp", "udp"):
            fail("rtsp_transport", 'expected "tcp" or "udp"', "feeds", index)
        username = item.get("username")
        if username is not None and not isinstance(username, str):
            fail("username", "must be text", "feeds", index)
        loop = item.get("loop", False)
        if not isinstance(loop, bool):
            fail("loop", "must be true or false", "feeds", index)
        feeds.append(
            FeedSpec(
                name,
                kind,
                url.strip(),
                username,
                rtsp_transport=RtspTransport(transport),
                loop=loop,
                substream_url=substream_url,
            )
        )
    gateway = None
    if "gateway" in data:
        table = data["gateway"]
        if not isinstance(table, dict):
            fail("gateway", "must be a table: [gateway]")
        gateway = _gateway(table, lambda key, message: fail(key, message, "gateway"))
    sms = SmsSettings()
    if "sms" in data:
        if not isinstance(data["sms"], dict):
            fail("sms", "must be a table: [sms]")
        try:
            sms = parse_sms_settings(data["sms"])
        except SmsSettingsError as exc:
            fail(exc.key, exc.message, "sms")
    map_settings = MapSettings()
    if "map" in data:
        table = data["map"]
        if not isinstance(table, dict):
            fail("map", "must be a table: [map]")
        map_settings = _map(table, lambda key, message: fail(key, message, "map"))
    recording, evidence = RecordingPolicy(), EvidenceSettings()
    section = "recording"  # which table a SettingError is about
    try:
        if "recording" in data:
            if not isinstance(data["recording"], dict):
                fail("recording", "must be a table: [recording]")
            recording = parse_recording(data["recording"])
        section = "evidence"
        if "evidence" in data:
            if not isinstance(data["evidence"], dict):
                fail("evidence", "must be a table: [evidence]")
            evidence = parse_evidence(data["evidence"])
        section = "access"
        access = AccessSettings()
        if "access" in data:
            if not isinstance(data["access"], dict):
                fail("access", "must be a table: [access]")
            access = parse_access(data["access"])
        for section in ("server", "sfu", "room"):
            if section in data and not isinstance(data[section], dict):
                fail(section, f"must be a table: [{section}]")
        section = "server"
        server = parse_server(data["server"]) if "server" in data else None
        section = "sfu"
        sfu = parse_sfu(data["sfu"]) if "sfu" in data else SfuSettings()
        section = "room"
        room = parse_room(data["room"]) if "room" in data else None
    except SettingError as exc:
        fail(exc.key, exc.message, section)
    return Config(
        path=path,
        layout=layout,
        screens=screens,
        feeds=tuple(feeds),
        gateway=gateway,
        sms=sms,
        map=map_settings,
        recording=recording,
        evidence=evidence,
        access=access,
        server=server,
        sfu=sfu,
        room=room,
    )


def _map(table: dict[str, object], fail: Callable[[str, str], NoReturn]) -> MapSettings:
    for key in table:
        if key not in _MAP_KEYS:
            fail(key, f"unknown map setting; expected one of {', '.join(sorted(_MAP_KEYS))}")
    tiles = table.get("tiles")
    if tiles is not None:
        if not isinstance(tiles, str) or not tiles.strip():
            fail("tiles", 'must be text: "mbtiles:/path/file.mbtiles" or a URL template')
        problem = check_tiles_setting(tiles.strip())
        if problem:
            fail("tiles", problem)
    centre = table.get("centre")
    if centre is not None and not (
        isinstance(centre, list)
        and len(centre) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in centre)
        and -85 <= centre[0] <= 85
        and -180 <= centre[1] <= 180
    ):
        fail("centre", "must be [latitude, longitude] in degrees, such as [53.959, -1.0815]")
    zoom = table.get("zoom", MapSettings.zoom)
    if isinstance(zoom, bool) or not isinstance(zoom, int | float) or not 1 <= zoom <= 20:
        fail("zoom", "must be a number from 1 (the world) to 20 (a building)")
    return MapSettings(
        tiles=tiles.strip() if isinstance(tiles, str) else None,
        centre=(float(centre[0]), float(centre[1])) if isinstance(centre, list) else None,
        zoom=float(zoom),
    )


def _gateway(table: dict[str, object], fail: Callable[[str, str], NoReturn]) -> GatewaySettings:
    for key in table:
        if key not in _GATEWAY_KEYS:
            fail(
                key, f"unknown gateway setting; expected one of {', '.join(sorted(_GATEWAY_KEYS))}"
            )
    listen = table.get("listen", "127.0.0.1:8443")
    if not isinstance(listen, str) or not re.fullmatch(
        r"(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}", listen
    ):
        fail("listen", 'expected "ADDRESS:PORT", such as "0.0.0.0:8443"')
    host, _, port_text = listen.rpartition(":")
    host = host.strip("[]")
    port = int(port_text)
    if not 0 < port < 65536:
        fail("listen", f"port {port} is not between 1 and 65535")
    default_public = (
        f"https://{'localhost' if host in ('0.0.0.0', '::', '127.0.0.1') else host}:{port}"
    )
    public_url = table.get("public_url", default_public)
    if not isinstance(public_url, str) or urllib.parse.urlsplit(public_url).scheme != "https":
        fail("public_url", "must be an https:// address phones can reach")
    if not urllib.parse.urlsplit(public_url).hostname:
        fail("public_url", "has no host name")
    organisation = table.get("organisation", GatewaySettings.organisation)
    if not isinstance(organisation, str) or not organisation.strip():
        fail("organisation", 'must be text saying who asks, such as "Northshire Police"')
    paths: dict[str, Path | None] = {}
    for key in ("certificate", "private_key"):
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            fail(key, "must be the path of a PEM file")
        paths[key] = Path(value).expanduser() if isinstance(value, str) else None
    if (paths["certificate"] is None) != (paths["private_key"] is None):
        fail("certificate", "give both certificate and private_key, or neither")
    numbers: dict[str, float] = {}
    for key, low, high in (
        ("link_valid_minutes", 1, 24 * 60),
        ("caller_session_hours", 0.25, 48),
        ("officer_shift_hours", 1, 24),
    ):
        value = table.get(key, getattr(GatewaySettings, key))
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            fail(key, f"must be a number from {low:g} to {high:g}")
        numbers[key] = float(value)
    start_kbps = table.get("video_start_kbps", GatewaySettings.video_start_kbps)
    if (
        isinstance(start_kbps, bool)
        or not isinstance(start_kbps, int)
        or not (start_kbps == 0 or 100 <= start_kbps <= 20000)
    ):
        fail("video_start_kbps", "must be a whole number of kbit/s from 100 to 20000, or 0")
    codec = table.get("video_codec", "any")
    if codec not in VIDEO_CODECS:
        fail("video_codec", f"expected one of {', '.join(VIDEO_CODECS)}")
    addresses = table.get("ice_addresses")
    if addresses is not None and (
        not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses)
    ):
        fail("ice_addresses", 'must be a list of addresses, such as ["203.0.113.7"]')
    servers = table.get("ice_servers", [])
    ice_servers: list[IceServer] = []
    if not isinstance(servers, list):
        fail("ice_servers", "must be a list of tables: [[gateway.ice_servers]]")
    for server in servers:
        urls = server.get("urls") if isinstance(server, dict) else None
        urls = [urls] if isinstance(urls, str) else urls
        if (
            not isinstance(urls, list)
            or not urls
            or not all(
                isinstance(u, str) and re.match(r"^(stun|stuns|turn|turns):", u) for u in urls
            )
        ):
            fail("ice_servers", "each needs urls starting stun:, stuns:, turn: or turns:")
        username = server.get("username")
        if username is not None and not isinstance(username, str):
            fail("ice_servers", "username must be text")
        ice_servers.append(IceServer(tuple(urls), username))
    return GatewaySettings(
        host=host,
        port=port,
        public_url=public_url.rstrip("/"),
        organisation=organisation.strip(),
        certificate=paths["certificate"],
        private_key=paths["private_key"],
        link_valid_minutes=numbers["link_valid_minutes"],
        caller_session_hours=numbers["caller_session_hours"],
        officer_shift_hours=numbers["officer_shift_hours"],
        video_codec=VIDEO_CODECS[codec],
        video_start_kbps=start_kbps,
        ice_addresses=tuple(addresses) if addresses is not None else None,
        ice_servers=tuple(ice_servers),
    )


def _dotted(section: str | None, index: int | None, key: str) -> str:
    if section is None:
        return key
    return f"{section}[{index + 1}].{key}" if index is not None else f"{section}.{key}"


def _line_from_message(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


class _Locator:
    """Finds the line a key is on, so messages can point at it (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, key: str, section: str | None, index: int | None) -> int | None:
        start, end = 0, len(self.lines)
        if section is not None:
            header = re.compile(rf"^\s*\[\[?\s*{re.escape(section)}\s*\]\]?\s*(#.*)?$")
            hits = [n for n, text in enumerate(self.lines) if header.match(text)]
            wanted = index or 0
            if wanted >= len(hits):
                return hits[-1] + 1 if hits else None
            start = hits[wanted]
            later = [n for n in range(start + 1, end) if re.match(r"^\s*\[", self.lines[n])]
            end = later[0] if later else end
        pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
        for n in range(start, end):
            if pattern.match(self.lines[n]) or (
                section is None and re.match(rf"^\s*\[\[?\s*{re.escape(key)}\s*\]", self.lines[n])
            ):
                return n + 1
        return start + 1 if section is not None else None
