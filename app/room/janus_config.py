"""The configuration Vigil writes for the Janus it runs: only what the room uses, nothing open.

Debian's /etc/janus holds a sample of every plugin, transport and event handler, several of
them broken (mqtt, lua) and all loaded by default. The room server runs Janus from a folder
of its own under the base dir instead (`<base>/janus/`): the VideoRoom plugin and the HTTP
transport, everything else disabled by name (read from Janus's own folders, so a plugin a
later package adds is disabled too); the HTTP API and the admin API bound to loopback, each
behind a random secret made at every start; media on a port range of its own. No Qt here.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
"""Where Debian's janus package puts its plugins, transports, event handlers and loggers."""

PLUGIN = "libjanus_videoroom.so"
TRANSPORT = "libjanus_http.so"
CONFIG_NAME = "janus.jcfg"


@dataclass(frozen=True)
class JanusSettings:
    """How the managed Janus listens: its API on loopback, its media where peers reach it."""

    api_port: int = 8088
    admin_port: int = 7088
    rtp_ports: tuple[int, int] = (20000, 40000)
    ice_enforce: tuple[str, ...] = ()
    """Interfaces or addresses ICE may gather on (empty: every one but those ignored)."""
    nat_1_1: tuple[str, ...] = ()
    """Public addresses to advertise for a Janus behind one-to-one NAT."""
    lib: Path = JANUS_LIB
    debug_level: int = 4


@dataclass(frozen=True)
class JanusFiles:
    """What was written: the folder, the main config, and the secrets the API needs."""

    folder: Path
    config: Path
    api_secret: str = field(repr=False)
    admin_secret: str = field(repr=False)
    settings: JanusSettings

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}/janus"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.admin_port}/admin"


def write_config(folder: Path, settings: JanusSettings) -> JanusFiles:
    """Write Janus's configuration into `folder` (mode 0700, files 0600), new secrets each
    time; JanusConfigError when Janus's own folders are missing (the package not installed)."""
    for sub in ("plugins", "transports"):
        if not (settings.lib / sub / (PLUGIN if sub == "plugins" else TRANSPORT)).is_file():
            raise JanusConfigError(
                f"Janus is not installed: no {settings.lib / sub}; "
                "apt-get install janus (Debian's package), or name a Janus to use in [sfu]"
            )
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    api_secret, admin_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    files = JanusFiles(folder, folder / CONFIG_NAME, api_secret, admin_secret, settings)
    _write(files.config, _main(folder, settings, api_secret, admin_secret))
    _write(folder / "janus.transport.http.jcfg", _http(settings))
    _write(folder / "janus.plugin.videoroom.jcfg", _videoroom(admin_secret))
    return files


class JanusConfigError(Exception):
    """Janus cannot be configured here; the message says what to do."""


def _others(folder: Path, keep: str) -> str:
    """Every shared object in `folder` but `keep`, as Janus's `disable` list wants it."""
    if not folder.is_dir():
        return ""
    names = sorted(p.name for p in folder.glob("*.so") if p.name != keep)
    return ",".join(names)


def _main(folder: Path, settings: JanusSettings, api_secret: str, admin_secret: str) -> str:
    low, high = settings.rtp_ports
    nat = [
        "\tnice_debug = false",
        "\tignore_mdns = true",
        '\tice_ignore_list = "vmnet"',
    ]
    if settings.ice_enforce:
        nat.append(f"\tice_enforce_list = {_quoted(','.join(settings.ice_enforce))}")
    if settings.nat_1_1:
        nat.append(f"\tnat_1_1_mapping = {_quoted(','.join(settings.nat_1_1))}")
    lines = [
        "# Written by vigil server at every start; edits here are lost. See app/room/.",
        "general: {",
        f"\tconfigs_folder = {_quoted(str(folder))}",
        f"\tplugins_folder = {_quoted(str(settings.lib / 'plugins'))}",
        f"\ttransports_folder = {_quoted(str(settings.lib / 'transports'))}",
        f"\tevents_folder = {_quoted(str(settings.lib / 'events'))}",
        f"\tloggers_folder = {_quoted(str(settings.lib / 'loggers'))}",
        f"\tdebug_level = {settings.debug_level}",
        f"\tapi_secret = {_quoted(api_secret)}",
        f"\tadmin_secret = {_quoted(admin_secret)}",
        '\tserver_name = "vigil-room"',
        "\thide_dependencies = true",
        "\tsession_timeout = 60",
        "}",
        "media: {",
        f'\trtp_port_range = "{low}-{high}"',
        "}",
        "nat: {",
        *nat,
        "}",
        "plugins: {",
        f"\tdisable = {_quoted(_others(settings.lib / 'plugins', PLUGIN))}",
        "}",
        "transports: {",
        f"\tdisable = {_quoted(_others(settings.lib / 'transports', TRANSPORT))}",
        "}",
        "loggers: {",
        f"\tdisable = {_quoted(_others(settings.lib / 'loggers', ''))}",
        "}",
        "events: {",
        "\tbroadcast = false",
        f"\tdisable = {_quoted(_others(settings.lib / 'events', ''))}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _http(settings: JanusSettings) -> str:
    """The HTTP transport: the API and the admin API on loopback only, plain HTTP (nothing
    but this machine's vigil server talks to them)."""
    return (
        "general: {\n"
        '\tjson = "plain"\n'
        '\tbase_path = "/janus"\n'
        "\thttp = true\n"
        f"\tport = {settings.api_port}\n"
        '\tip = "127.0.0.1"\n'
        "\thttps = false\n"
        "}\n"
        "admin: {\n"
        '\tadmin_base_path = "/admin"\n'
        "\tadmin_http = true\n"
        f"\tadmin_port = {settings.admin_port}\n"
        '\tadmin_ip = "127.0.0.1"\n'
        "\tadmin_https = false\n"
        "}\n"
    )


def _videoroom(admin_secret: str) -> str:
    """VideoRoom with no sample rooms; creating and destroying rooms needs the admin key, so
    only the room server can (a browser's handle, if one ever reached Janus, could not)."""
    return f"general: {{\n\tadmin_key = {_quoted(admin_secret)}\n\tlock_rtp_forward = true\n}}\n"


def _quoted(text: str) -> str:
    if '"' in text or "\\" in text or "\n" in text:
        raise JanusConfigError(f"not allowed in Janus's config: {text!r}")
    return f'"{text}"'


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)
