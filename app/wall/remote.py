"""The wall's side of `vigil wall`: control-socket commands that drive a running wall from
the supervisor's terminal, for screens that have no keyboard of their own.

Each command names the permission it needs; app/access/control_desk.py checks the asking OS
user's account before any of these run (and logs a refusal), so what runs here is already
allowed. They run on the GUI thread (the Qt loop serves the socket) and answer at once.
A body cam opened this way is the asking person's viewing, with the reason they stated.
"""

from __future__ import annotations

from typing import Any

from app.access import Command, ControlDesk, Permission, Person, ReasonError, stated_reason
from app.access.bodycam_desk import BodycamDesk
from app.wall.screens import WallScreens
from widgets.wall import Tile


def serve_wall(desk: ControlDesk, screens: WallScreens, bodycams: BodycamDesk) -> None:
    """Add the wall's commands to the instance's control desk: `screens` to arrange, and
    `bodycams` to open and close body cams through."""

    def show(request: dict[str, Any], person: Person) -> dict[str, Any]:
        return screens.describe()

    def preset(request: dict[str, Any], person: Person) -> dict[str, Any]:
        name = _text(request, "name")
        screens.apply_preset(name)
        return {"said": f"wall preset {name!r} applied", **screens.describe()}

    def save(request: dict[str, Any], person: Person) -> dict[str, Any]:
        saved = screens.save_preset(_text(request, "name"))
        number = screens.presets.names.index(saved.name) + 1
        return {"said": f"wall saved as preset {number}, {saved.name!r} (Ctrl+{number})"}

    def layout(request: dict[str, Any], person: Person) -> dict[str, Any]:
        number = _screen(request)
        screens.set_layout(number, _text(request, "layout"))
        return {"said": f"screen {number}: layout {screens.walls[number - 1].layout_name}"}

    def send(request: dict[str, Any], person: Person) -> dict[str, Any]:
        feed, number = _text(request, "feed"), _screen(request)
        screens.send(feed, number)
        return {"said": f"{feed} is on screen {number}"}

    def open_bodycam(request: dict[str, Any], person: Person) -> dict[str, Any]:
        tile = _tile(screens, _text(request, "feed"))
        try:
            reason = stated_reason(
                _text(request, "reason"),
                str(request.get("detail") or ""),
                _text(request, "incident"),
            )
        except ReasonError as exc:
            raise ValueError(f"{exc.field}: {exc}") from exc
        bodycams.open_for(tile.feed, reason, person)
        return {"said": f"{tile.feed.name} open on the wall: {reason.chip}"}

    def close_bodycam(request: dict[str, Any], person: Person) -> dict[str, Any]:
        name = _tile(screens, _text(request, "feed")).feed.name
        if not bodycams.close(name):
            raise ValueError(f"{name} is not open")
        return {"said": f"{name} closed"}

    layouts = Permission.MANAGE_LAYOUTS
    desk.add("wall", Command(Permission.WATCH_FEEDS, "vigil wall show", show))
    desk.add("wall-preset", Command(layouts, "vigil wall preset", preset))
    desk.add("wall-save", Command(layouts, "vigil wall save", save))
    desk.add("wall-layout", Command(layouts, "vigil wall layout", layout))
    desk.add("wall-send", Command(layouts, "vigil wall send", send))
    desk.add("bodycam-open", Command(Permission.OPEN_BODYCAMS, "vigil wall open", open_bodycam))
    desk.add("bodycam-close", Command(Permission.OPEN_BODYCAMS, "vigil wall close", close_bodycam))


def _text(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} is missing")
    return value


def _screen(request: dict[str, Any]) -> int:
    value = request.get("screen", 1)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("screen must be a whole number, counting from 1")
    return value


def _tile(screens: WallScreens, name: str) -> Tile:
    tile = screens.tile_of(name)
    if tile is None:
        raise ValueError(f"no feed named {name!r} is on the wall")
    return tile
