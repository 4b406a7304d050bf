"""The supervisor's wall across several screens, as plain data: which feeds each screen shows,
in which layout, and the saved presets that switch the whole wall in one keystroke.

A feed is on exactly one screen at a time (it has one latest-frame slot and one display
size, so two tiles cannot share it). `place` turns a plan and the feeds that are there now
into one list of feed names per screen that is plugged in, never losing a feed: whatever
the plan does not place, or places on a screen that is not there, goes to screen 0, the
supervisor's own window.

No Qt, so the rules are tested without a display and wall.json is read without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

# A copy of widgets/layout.py's grammar: app's Qt-free modules may not import widgets/
# (import-linter), and widgets/layout.py is the table the wall itself uses. Keep the two
# in step; tests/app/wall/test_plan.py checks that they accept the same names.
_NAMED_LAYOUTS = ("1+5", "1+7", "1+12", "2+8")
_GRID = re.compile(r"^(\d{1,2})x(\d{1,2})$")
_MAX_GRID = 8

MAX_PRESETS = 9
"""Ctrl+1 .. Ctrl+9 call them up: one key each."""
MAX_PRESET_NAME = 40


def known_layout(name: object) -> str:
    """`name` normalised as the wall accepts it, or "auto" for anything it would refuse, so a
    damaged or hand-edited file can never stop a screen from showing its feeds."""
    if not isinstance(name, str):
        return "auto"
    key = name.strip().lower()
    if key == "auto" or key in _NAMED_LAYOUTS:
        return key
    found = _GRID.match(key)
    if found and all(1 <= int(part) <= _MAX_GRID for part in found.groups()):
        return key
    return "auto"


def _feed_names(data: object) -> tuple[str, ...]:
    if not isinstance(data, list | tuple):
        return ()
    return tuple(name.strip() for name in data if isinstance(name, str) and name.strip())


@dataclass(frozen=True)
class ScreenPlan:
    """One screen of the wall: its layout (always a name the wall accepts; anything else
    becomes "auto") and its feeds' names in tile order."""

    layout: str = "auto"
    feeds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layout", known_layout(self.layout))
        # A list passed in would make the frozen plan unhashable and shareable by mistake.
        object.__setattr__(self, "feeds", tuple(self.feeds))

    def to_json(self) -> dict[str, object]:
        return {"layout": self.layout, "feeds": list(self.feeds)}

    @classmethod
    def from_json(cls, data: object) -> ScreenPlan:
        """Never raises: a part that cannot be read is left at its default (an unknown
        layout is "auto", a name that is not text is skipped, a non-object is an empty
        screen), so one bad value does not cost the screen its other feeds."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(known_layout(data.get("layout")), _feed_names(data.get("feeds")))


@dataclass(frozen=True)
class WallPlan:
    """The whole wall: screen 0 is the supervisor's own window (the primary screen), the
    others are the keyboardless wall screens, in the order they are numbered."""

    screens: tuple[ScreenPlan, ...] = field(default=(ScreenPlan(),))

    def __post_init__(self) -> None:
        object.__setattr__(self, "screens", tuple(self.screens))
        if not self.screens:
            raise ValueError("a wall plan has at least the supervisor's own screen")

    def with_screen(self, index: int, screen: ScreenPlan) -> WallPlan:
        """This plan with screen `index` replaced; screens up to it that the plan lacks are
        added empty."""
        if index < 0:
            raise ValueError(f"no screen {index}")
        screens = list(self.screens)
        screens.extend(ScreenPlan() for _ in range(index + 1 - len(screens)))
        screens[index] = screen
        return WallPlan(tuple(screens))

    def to_json(self) -> dict[str, object]:
        return {"screens": [screen.to_json() for screen in self.screens]}

    @classmethod
    def from_json(cls, data: object) -> WallPlan:
        """Bad parts are tolerated (see `ScreenPlan.from_json`; a bad screen keeps its place,
        so screen 3 never slides onto screen 2). ValueError only when nothing is usable: not
        an object, or no list of screens."""
        if not isinstance(data, Mapping):
            raise ValueError("a wall plan is a JSON object")
        screens = data.get("screens")
        if not isinstance(screens, list) or not screens:
            raise ValueError('a wall plan needs a non-empty list of "screens"')
        return cls(tuple(ScreenPlan.from_json(screen) for screen in screens))


def place(feed_names: Sequence[str], plan: WallPlan, screen_count: int) -> list[list[str]]:
    """Which feeds each of `screen_count` screens shows, in tile order.

    Each present feed lands on exactly one screen: where the plan first mentions it, in the
    plan's order. Feeds the plan does not name, and those planned for a screen that is not
    plugged in, go to screen 0 after its planned ones, in `feed_names` order. Names in the
    plan that are not present are skipped."""
    if screen_count < 1:
        raise ValueError("there is always the supervisor's own screen")
    present = dict.fromkeys(feed_names)  # ordered and de-duplicated
    planned: dict[str, int] = {}
    for index, screen in enumerate(plan.screens):
        for name in screen.feeds:
            if name in present and name not in planned:
                planned[name] = index
    placed: list[list[str]] = [[] for _ in range(screen_count)]
    for name, index in planned.items():
        if index < screen_count:
            placed[index].append(name)
    placed[0].extend(
        name for name in present if name not in planned or planned[name] >= screen_count
    )
    return placed


def check_preset_name(name: object) -> str:
    """The name stripped, or ValueError: 1 to 40 printable characters, so it fits the
    caption strip and the preset menu on one line."""
    if not isinstance(name, str):
        raise ValueError("a preset name is text")
    stripped = name.strip()
    if not 1 <= len(stripped) <= MAX_PRESET_NAME:
        raise ValueError(f"a preset name has 1 to {MAX_PRESET_NAME} characters")
    if not stripped.isprintable():
        raise ValueError("a preset name has printable characters only (no tabs or newlines)")
    return stripped


@dataclass(frozen=True)
class Preset:
    """A named wall plan the supervisor saved; its name is checked and stripped."""

    name: str
    plan: WallPlan

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_preset_name(self.name))

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, **self.plan.to_json()}

    @classmethod
    def from_json(cls, data: object) -> Preset:
        """ValueError when the name or the plan as a whole cannot be read; bad parts of the
        plan are tolerated as in `WallPlan.from_json`."""
        if not isinstance(data, Mapping):
            raise ValueError("a preset is a JSON object")
        name = data.get("name")
        if not isinstance(name, str):
            raise ValueError("a preset has a name")
        return cls(name, WallPlan.from_json(data))


class PresetBook:
    """The saved presets in the order the supervisor made them; number n (1-based) is the
    one Ctrl+n calls up. Names match without regard to case, so "night shift" and "Night
    shift" are one preset, not two keys that look alike."""

    def __init__(self, presets: Sequence[Preset] = ()) -> None:
        self._presets: list[Preset] = []
        for preset in presets:
            if self.get(preset.name) is not None:
                raise ValueError(f"two presets named {preset.name!r}")
            self._append(preset)

    @property
    def presets(self) -> list[Preset]:
        return list(self._presets)

    @property
    def names(self) -> list[str]:
        return [preset.name for preset in self._presets]

    def __len__(self) -> int:
        return len(self._presets)

    def __iter__(self) -> Iterator[Preset]:
        return iter(list(self._presets))

    def get(self, name: str) -> Preset | None:
        index = self._index(name)
        return None if index is None else self._presets[index]

    def save(self, name: str, plan: WallPlan) -> Preset:
        """Keep `plan` under `name`: a preset of that name is replaced where it stands (its
        number stays), otherwise the new one goes last. ValueError for a bad name or a
        tenth preset."""
        preset = Preset(name, plan)
        index = self._index(preset.name)
        if index is None:
            self._append(preset)
        else:
            self._presets[index] = preset
        return preset

    def delete(self, name: str) -> bool:
        """Forget the preset; the ones after it move up a number. False if there was none."""
        index = self._index(name)
        if index is None:
            return False
        del self._presets[index]
        return True

    def by_number(self, number: int) -> Preset | None:
        """The preset Ctrl+`number` calls up (1 is the first), or None if that key is free."""
        if 1 <= number <= len(self._presets):
            return self._presets[number - 1]
        return None

    def _append(self, preset: Preset) -> None:
        if len(self._presets) >= MAX_PRESETS:
            raise ValueError(f"at most {MAX_PRESETS} presets (Ctrl+1 to Ctrl+{MAX_PRESETS})")
        self._presets.append(preset)

    def _index(self, name: str) -> int | None:
        key = name.strip().casefold()
        for index, preset in enumerate(self._presets):
            if preset.name.casefold() == key:
                return index
        return None
