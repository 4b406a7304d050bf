"""The wall's arrangement kept between runs: the layout and order of the tiles on the
supervisor's own screen, where the map panel is (docked, floating on another screen, or
hidden), what the other wall screens show, the saved wall presets and which one is on.

Files written before the wall spanned screens lack "screens", "presets" and
"current_preset" and load as one screen with no presets. A part that cannot be read is
skipped with a warning and the rest is kept: a damaged file never stops the wall.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.wall.plan import Preset, PresetBook, ScreenPlan, WallPlan, known_layout

log = logging.getLogger(__name__)


@dataclass
class WallState:
    layout: str | None = None
    """Screen 0's layout; None: the configured one."""
    order: list[str] = field(default_factory=list)
    """Feed names on screen 0, first tile first."""
    panels: str | None = None
    """The window's docked panels as Qt saves them (QMainWindow.saveState, base64)."""
    screens: list[ScreenPlan] = field(default_factory=list)
    """The wall screens after the supervisor's own (screen 1 first)."""
    presets: list[Preset] = field(default_factory=list)
    """In Ctrl+1 .. Ctrl+9 order, names unique (see `PresetBook`)."""
    current_preset: str | None = None
    """The preset last called up, for the screens' captions; None once the wall is changed
    by hand or when none was."""

    @property
    def plan(self) -> WallPlan:
        """All screens as one plan; screen 0 takes "auto" where no layout was saved."""
        own = ScreenPlan(self.layout or "auto", tuple(self.order))
        return WallPlan((own, *self.screens))

    def with_plan(self, plan: WallPlan) -> WallState:
        """This state with the whole wall replaced by `plan` (panels and presets kept)."""
        own, *others = plan.screens
        return dataclasses.replace(
            self, layout=own.layout, order=list(own.feeds), screens=list(others)
        )

    @property
    def book(self) -> PresetBook:
        """The presets as a book to look up and change; put `book.presets` back to keep."""
        return PresetBook(self.presets)

    @classmethod
    def load(cls, path: Path) -> WallState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable wall state %s: %s", path, exc)
            return cls()
        if not isinstance(data, dict):
            log.warning("ignoring wall state %s: not a JSON object", path)
            return cls()
        layout = data.get("layout")
        panels = data.get("panels")
        presets = _presets(data.get("presets", []), path)
        current = data.get("current_preset")
        if current is not None and not (
            isinstance(current, str) and PresetBook(presets).get(current) is not None
        ):
            log.warning("wall state %s: current preset %r is not saved; none is on", path, current)
            current = None
        return cls(
            _layout(layout, path),
            _names(data.get("order", []), path),
            panels if isinstance(panels, str) else None,
            _screens(data.get("screens", []), path),
            presets,
            current,
        )

    def save(self, path: Path) -> None:
        # Written beside and renamed over, so a crash mid-write leaves the old file whole.
        temporary = path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps(
                {
                    "layout": self.layout,
                    "order": self.order,
                    "panels": self.panels,
                    "screens": [screen.to_json() for screen in self.screens],
                    "presets": [preset.to_json() for preset in self.presets],
                    "current_preset": self.current_preset,
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        os.replace(temporary, path)


def _layout(data: Any, path: Path) -> str | None:
    if data is None:
        return None
    if isinstance(data, str) and (data.strip().lower() == "auto" or known_layout(data) != "auto"):
        return known_layout(data)
    # The wall refuses a name it does not know; the configured layout is the safe one.
    log.warning("wall state %s: ignoring unknown layout %r", path, data)
    return None


def _names(data: Any, path: Path) -> list[str]:
    if not isinstance(data, list):
        log.warning("wall state %s: ignoring an order that is not a list", path)
        return []
    return [name for name in data if isinstance(name, str)]


def _screens(data: Any, path: Path) -> list[ScreenPlan]:
    if not isinstance(data, list):
        log.warning("wall state %s: ignoring screens that are not a list", path)
        return []
    # A damaged screen stays in its place as an empty one: screen 3 never slides onto 2,
    # and the feeds it had go home to screen 0 (app.wall.plan.place).
    return [ScreenPlan.from_json(screen) for screen in data]


def _presets(data: Any, path: Path) -> list[Preset]:
    if not isinstance(data, list):
        log.warning("wall state %s: ignoring presets that are not a list", path)
        return []
    book = PresetBook()
    for number, entry in enumerate(data, 1):
        try:
            preset = Preset.from_json(entry)
            if book.get(preset.name) is not None:
                raise ValueError(f"a second preset named {preset.name!r}")
            book.save(preset.name, preset.plan)
        except ValueError as exc:
            log.warning("wall state %s: ignoring preset %d: %s", path, number, exc)
    return book.presets


def ordered(names: list[str], saved_order: list[str]) -> list[str]:
    """`names` in the saved order; names the save does not know go last, as configured."""
    rank = {name: i for i, name in enumerate(saved_order)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), names.index(name)))
