"""The wall's layout and tile order, its other screens and its presets survive a restart; a
damaged state file, or a damaged part of one, is ignored, not fatal."""

import json
import logging
from pathlib import Path

import pytest

from app.wall.plan import Preset, ScreenPlan, WallPlan
from app.wall.state import WallState, ordered


def test_state_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "wall.json"
    WallState("2+8", ["B", "A", "C"]).save(path)
    assert WallState.load(path) == WallState("2+8", ["B", "A", "C"])


def test_damaged_or_missing_state_gives_defaults(tmp_path: Path) -> None:
    assert WallState.load(tmp_path / "none.json") == WallState()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert WallState.load(bad) == WallState()


def test_saved_order_applies_and_new_feeds_go_last() -> None:
    assert ordered(["A", "B", "C", "D"], ["C", "A", "gone"]) == ["C", "A", "B", "D"]


# -- the wall across screens, and its presets ------------------------------------------------


def night_plan() -> WallPlan:
    return WallPlan(
        (ScreenPlan("1+5", ("A", "B")), ScreenPlan("2x2", ("C",)), ScreenPlan("auto", ("D",)))
    )


def test_a_file_from_before_screens_and_presets_loads_as_one_screen(tmp_path: Path) -> None:
    """In: wall.json as the one-screen wall wrote it (layout, order, panels only). Out: those
    kept; no other screens, no presets, none current; its plan is screen 0 alone."""
    path = tmp_path / "wall.json"
    path.write_text(json.dumps({"layout": "3x3", "order": ["B", "A"], "panels": "AAAA"}))
    state = WallState.load(path)
    assert state == WallState("3x3", ["B", "A"], "AAAA")
    assert state.screens == []
    assert state.presets == []
    assert state.current_preset is None
    assert state.plan == WallPlan((ScreenPlan("3x3", ("B", "A")),))


def test_screens_presets_and_the_current_preset_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "wall.json"
    state = WallState(
        "2+8",
        ["B", "A"],
        "AAAA",
        screens=[ScreenPlan("2x2", ("C",)), ScreenPlan()],
        presets=[Preset("Day", WallPlan()), Preset("Night shift", night_plan())],
        current_preset="Night shift",
    )
    state.save(path)
    assert WallState.load(path) == state
    saved = json.loads(path.read_text())
    assert saved["screens"] == [{"layout": "2x2", "feeds": ["C"]}, {"layout": "auto", "feeds": []}]
    assert saved["presets"][1] == {"name": "Night shift", **night_plan().to_json()}
    assert saved["current_preset"] == "Night shift"
    assert not path.with_suffix(".tmp").exists()


def test_plan_and_with_plan_are_the_whole_wall_in_one(tmp_path: Path) -> None:
    """with_plan puts screen 0 into layout and order and the rest into screens, keeping the
    panels, presets and current preset; plan gives it back (a layout never saved is "auto")."""
    state = WallState(panels="AAAA", presets=[Preset("Day", WallPlan())], current_preset="Day")
    assert state.plan == WallPlan()
    changed = state.with_plan(night_plan())
    assert changed.layout == "1+5"
    assert changed.order == ["A", "B"]
    assert changed.screens == [ScreenPlan("2x2", ("C",)), ScreenPlan("auto", ("D",))]
    assert (changed.panels, changed.presets, changed.current_preset) == (
        "AAAA",
        [Preset("Day", WallPlan())],
        "Day",
    )
    assert changed.plan == night_plan()
    assert state.plan == WallPlan()  # the old state is left as it was


def test_a_corrupt_preset_is_ignored_and_the_rest_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In: presets [good "Day", a string, one with no name, one whose name has a newline, one
    with no screens, "Night shift" with a bad layout and a number among its feeds, a second
    "day"]. Out: "Day" and "Night shift" (layout "auto", the number dropped), a warning for
    each of the five ignored; layout, order and screens as saved."""
    path = tmp_path / "wall.json"
    path.write_text(
        json.dumps(
            {
                "layout": "2x2",
                "order": ["A"],
                "screens": [{"layout": "3x3", "feeds": ["B"]}],
                "presets": [
                    {"name": "Day", "screens": [{"layout": "1x1", "feeds": ["A"]}]},
                    "not a preset",
                    {"screens": [{}]},
                    {"name": "Night\nshift", "screens": [{}]},
                    {"name": "Empty", "screens": []},
                    {"name": "Night shift", "screens": [{"layout": "99x99", "feeds": [3, "C"]}]},
                    {"name": "day", "screens": [{}]},
                ],
                "current_preset": "Night shift",
            }
        )
    )
    with caplog.at_level(logging.WARNING, logger="app.wall.state"):
        state = WallState.load(path)
    assert state.presets == [
        Preset("Day", WallPlan((ScreenPlan("1x1", ("A",)),))),
        Preset("Night shift", WallPlan((ScreenPlan("auto", ("C",)),))),
    ]
    assert len([r for r in caplog.records if "ignoring preset" in r.getMessage()]) == 5
    assert (state.layout, state.order, state.screens) == ("2x2", ["A"], [ScreenPlan("3x3", ("B",))])
    assert state.current_preset == "Night shift"


def test_wrongly_typed_parts_are_ignored_with_a_warning_never_raising(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In: "screens" and "presets" as strings, an unknown layout, a current preset that is
    not saved, and (second file) a JSON list. Out: defaults for those parts, order kept, a
    warning each; the list loads as an empty state."""
    path = tmp_path / "wall.json"
    path.write_text(
        json.dumps(
            {
                "layout": "wall-of-doom",
                "order": ["A"],
                "screens": "two",
                "presets": "many",
                "current_preset": "Gone",
            }
        )
    )
    with caplog.at_level(logging.WARNING, logger="app.wall.state"):
        state = WallState.load(path)
    assert state == WallState(None, ["A"])
    assert len(caplog.records) == 4
    path.write_text("[1, 2]")
    assert WallState.load(path) == WallState()


def test_a_damaged_screen_keeps_its_place(tmp_path: Path) -> None:
    """In: screens [garbage, {"layout": "2x2", "feeds": ["C"]}]. Out: an empty screen 1 and
    screen 2 as saved, so screen 2's feeds never slide onto screen 1."""
    path = tmp_path / "wall.json"
    path.write_text(json.dumps({"screens": [17, {"layout": "2x2", "feeds": ["C"]}]}))
    assert WallState.load(path).screens == [ScreenPlan(), ScreenPlan("2x2", ("C",))]


def test_the_book_is_the_presets_to_change() -> None:
    state = WallState(presets=[Preset("Day", WallPlan())])
    book = state.book
    book.save("Night shift", night_plan())
    assert state.presets == [Preset("Day", WallPlan())]  # a copy until put back
    state.presets = book.presets
    assert [p.name for p in state.presets] == ["Day", "Night shift"]
