"""The TOML configuration: read, check, and say exactly where a mistake is.

Every error names the file, the line and the key (`vigil.toml:12: feeds[2].url: ...`).
Passwords never live in the file: a URL that carries one is refused with the command that
stores it in the keyring instead.
"""

from __future__ import annotations

import re
import tomllib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from media.feed import FeedKind, FeedSpec, RtspTransport
from widgets.layout import LayoutError
from widgets.layout import check as check_layout

SECRET_SERVICE = "vigil"

_FEED_KEYS = {"name", "kind", "url", "username", "rtsp_transport", "loop"}
_TOP_KEYS = {"wall", "gateway", "map", "feeds", "recording", "evidence", "sms"}


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


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    layout: str = "auto"
    feeds: tuple[FeedSpec, ...] = ()
    """As configured: without passwords, which come from the keyring (app/feeds.py)."""


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
            )
        )
    return Config(path=path, layout=layout, feeds=tuple(feeds))


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
