"""The wall across screens as plain data: where each feed goes (never lost, never twice),
presets saved and called up by number, and plans read back from JSON however damaged."""

import random

import pytest

from app.wall.plan import (
    MAX_PRESETS,
    Preset,
    PresetBook,
    ScreenPlan,
    WallPlan,
    known_layout,
    place,
)
from widgets.layout import CHOICES, NAMED, LayoutError, check


def plan(*screens: tuple[str, list[str]]) -> WallPlan:
    return WallPlan(tuple(ScreenPlan(layout, tuple(feeds)) for layout, feeds in screens))


# -- place ---------------------------------------------------------------------------------


def test_each_feed_goes_where_the_plan_puts_it_in_the_plans_order() -> None:
    """In: feeds A..E present, a plan with C, A on screen 0 and E, B on screen 1. Out: the
    plan's order on each screen; D, which the plan does not name, last on screen 0."""
    wall = plan(("2x2", ["C", "A"]), ("auto", ["E", "B"]))
    assert place(["A", "B", "C", "D", "E"], wall, 2) == [["C", "A", "D"], ["E", "B"]]


def test_feeds_planned_for_an_unplugged_screen_come_home_after_the_planned_ones() -> None:
    """In: three screens planned, two plugged in; screen 2 had F and B. Out: screen 0 shows
    its planned A, then B, D and F in the order the feeds are given (B, D, F)."""
    wall = plan(("auto", ["A"]), ("auto", ["C"]), ("auto", ["F", "B"]))
    assert place(["A", "B", "C", "D", "F"], wall, 2) == [["A", "B", "D", "F"], ["C"]]


def test_first_mention_wins_and_absent_names_are_skipped() -> None:
    """In: B named on screen 0 and again on screen 1; Z and Y named but not present. Out: B on
    screen 0 only; Z and Y nowhere."""
    wall = plan(("auto", ["Z", "B", "B"]), ("auto", ["B", "Y", "A"]))
    assert place(["A", "B"], wall, 2) == [["B"], ["A"]]


def test_more_screens_than_planned_are_empty_and_no_feeds_mean_empty_screens() -> None:
    assert place(["A"], WallPlan(), 3) == [["A"], [], []]
    assert place([], plan(("auto", ["A"]), ("auto", ["B"])), 2) == [[], []]


def test_a_feed_mentioned_first_on_a_missing_screen_goes_home_even_if_named_later() -> None:
    """First mention decides: A first on screen 1 (not plugged in), then on screen 0's
    list; it goes to screen 0 among the unplanned, in feed order, after planned B."""
    wall = WallPlan((ScreenPlan("auto", ("B",)), ScreenPlan("auto", ("A",))))
    assert place(["A", "B"], wall, 1) == [["B", "A"]]


def test_there_is_always_a_screen_zero() -> None:
    with pytest.raises(ValueError, match="supervisor"):
        place(["A"], WallPlan(), 0)


def test_random_plans_never_lose_or_duplicate_a_feed() -> None:
    """Property: for 300 random plans (names present or not, repeats, up to 4 planned
    screens, 1 to 4 plugged in), every present feed is on exactly one screen, the right
    number of screens comes back, and a feed planned on a plugged-in screen is there."""
    rng = random.Random(20240611)
    pool = [f"F{i}" for i in range(12)]
    for _ in range(300):
        present = rng.sample(pool, rng.randint(0, 10))
        screens = tuple(
            ScreenPlan("auto", tuple(rng.choices(pool, k=rng.randint(0, 6))))
            for _ in range(rng.randint(1, 4))
        )
        count = rng.randint(1, 4)
        placed = place(present, WallPlan(screens), count)
        assert len(placed) == count
        flat = [name for screen in placed for name in screen]
        assert sorted(flat) == sorted(present)
        for name in present:
            first = next((i for i, s in enumerate(screens) if name in s.feeds), None)
            if first is not None and first < count:
                assert name in placed[first]


# -- layouts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        *CHOICES,
        "8x8",
        "1x8",
        "08x01",
        " 2X3 ",
        "AUTO",
        "1+5 ",
        "9x1",
        "0x2",
        "100x1",
        "2x",
        "x2",
        "1+6",
        "",
        "  ",
        "grid",
        "3×3",
        "2x2x2",
        "-1x2",
    ],
)
def test_the_layout_grammar_agrees_with_the_walls(name: str) -> None:
    """app/ may not import widgets/, so wall_plan keeps a copy of the wall's grammar: what
    widgets.layout.check accepts comes back normalised the same way, what it refuses is
    "auto"."""
    try:
        expected = check(name)
    except LayoutError:
        expected = "auto"
    assert known_layout(name) == expected


def test_the_copy_knows_every_named_layout() -> None:
    assert all(known_layout(name) == name for name in NAMED)


def test_a_screen_plan_holds_only_layouts_the_wall_accepts() -> None:
    """In: "2X2", "9x9", a list of feeds. Out: "2x2", "auto", a tuple (the plan stays frozen
    and hashable)."""
    assert ScreenPlan("2X2").layout == "2x2"
    assert ScreenPlan("9x9").layout == "auto"
    screen = ScreenPlan("auto", ["A", "B"])  # type: ignore[arg-type]
    assert screen.feeds == ("A", "B")
    assert hash(screen) == hash(ScreenPlan("auto", ("A", "B")))


def test_a_plan_has_the_supervisors_screen_at_least() -> None:
    with pytest.raises(ValueError, match="supervisor"):
        WallPlan(())
    assert WallPlan().screens == (ScreenPlan(),)


def test_with_screen_replaces_one_and_fills_the_gap() -> None:
    wall = WallPlan().with_screen(2, ScreenPlan("3x3", ("A",)))
    assert wall.screens == (ScreenPlan(), ScreenPlan(), ScreenPlan("3x3", ("A",)))
    assert wall.with_screen(0, ScreenPlan("1x1")).screens[0] == ScreenPlan("1x1")


# -- JSON ----------------------------------------------------------------------------------


def test_a_plan_round_trips_through_json() -> None:
    wall = plan(("1+5", ["A", "B"]), ("auto", []), ("4x4", ["C"]))
    assert wall.to_json() == {
        "screens": [
            {"layout": "1+5", "feeds": ["A", "B"]},
            {"layout": "auto", "feeds": []},
            {"layout": "4x4", "feeds": ["C"]},
        ]
    }
    assert WallPlan.from_json(wall.to_json()) == wall


def test_bad_parts_of_a_plan_are_tolerated_in_place() -> None:
    """In: screen 0 with layout "wall-of-doom" and feeds ["A", 7, null, " ", " B "]; screen
    1 a string; screen 2 with feeds "C" (not a list) and no layout. Out: three screens, still
    in their places: ("auto", A, B), an empty screen, an empty "auto" screen."""
    data = {
        "screens": [
            {"layout": "wall-of-doom", "feeds": ["A", 7, None, " ", " B "]},
            "garbage",
            {"feeds": "C"},
        ]
    }
    assert WallPlan.from_json(data) == plan(("auto", ["A", "B"]), ("auto", []), ("auto", []))


@pytest.mark.parametrize("data", [None, [], "plan", 3, {}, {"screens": []}, {"screens": "x"}])
def test_a_plan_with_nothing_usable_is_refused(data: object) -> None:
    """In: not an object, or no non-empty list of screens. Out: ValueError (the caller, a
    preset loader, drops that preset and says so)."""
    with pytest.raises(ValueError, match="wall plan"):
        WallPlan.from_json(data)


def test_a_preset_round_trips_and_a_bad_one_is_refused() -> None:
    preset = Preset("Night shift", plan(("2x2", ["A"]), ("auto", ["B"])))
    assert preset.to_json()["name"] == "Night shift"
    assert Preset.from_json(preset.to_json()) == preset
    for bad in [
        None,
        {"screens": [{}]},
        {"name": 5, "screens": [{}]},
        {"name": "X"},
        {"name": "\t", "screens": [{}]},
    ]:
        with pytest.raises(ValueError, match=r"preset|wall plan"):
            Preset.from_json(bad)


# -- presets -------------------------------------------------------------------------------


def test_names_are_stripped_and_checked() -> None:
    """In: "  Day  ", "", 41 characters, a newline, a tab. Out: "Day", then ValueError each."""
    assert Preset("  Day  ", WallPlan()).name == "Day"
    assert Preset("x" * 40, WallPlan()).name == "x" * 40
    for bad in ["", "   ", "x" * 41, "Night\nshift", "Night\tshift"]:
        with pytest.raises(ValueError, match="preset name"):
            Preset(bad, WallPlan())


def test_save_replaces_in_place_or_appends_and_numbers_follow_the_order() -> None:
    """Saving "night" again (any case) replaces it where it stands: Ctrl+2 still calls it
    up, with the new plan and the new spelling."""
    book = PresetBook()
    book.save("Day", WallPlan())
    book.save("Night", WallPlan())
    book.save("Incident", WallPlan())
    changed = plan(("3x3", ["A"]))
    book.save(" NIGHT ", changed)
    assert book.names == ["Day", "NIGHT", "Incident"]
    assert book.by_number(2) == Preset("NIGHT", changed)
    assert book.get("night") == Preset("NIGHT", changed)
    assert book.get("Evening") is None
    assert len(book) == 3
    assert [p.name for p in book] == book.names


def test_delete_moves_the_later_ones_up_a_number() -> None:
    book = PresetBook([Preset("A", WallPlan()), Preset("B", WallPlan()), Preset("C", WallPlan())])
    assert book.delete("b")
    assert not book.delete("B")
    assert book.names == ["A", "C"]
    assert book.by_number(2) == Preset("C", WallPlan())


def test_by_number_is_none_for_a_free_key() -> None:
    book = PresetBook([Preset("A", WallPlan())])
    assert book.by_number(1) is not None
    assert book.by_number(0) is None
    assert book.by_number(2) is None
    assert book.by_number(10) is None


def test_a_tenth_preset_is_refused_but_replacing_one_is_not() -> None:
    """In: nine presets, then a tenth name. Out: ValueError naming the limit; the book is
    unchanged, and saving over the ninth still works."""
    book = PresetBook()
    for n in range(MAX_PRESETS):
        book.save(f"P{n + 1}", WallPlan())
    with pytest.raises(ValueError, match="at most 9"):
        book.save("P10", WallPlan())
    assert len(book) == MAX_PRESETS
    book.save("P9", plan(("1x1", [])))
    assert book.by_number(9) == Preset("P9", plan(("1x1", [])))


def test_a_book_refuses_two_presets_of_one_name() -> None:
    with pytest.raises(ValueError, match="two presets"):
        PresetBook([Preset("Day", WallPlan()), Preset("DAY", WallPlan())])


def test_the_book_hands_out_copies() -> None:
    book = PresetBook([Preset("A", WallPlan())])
    book.presets.clear()
    assert book.names == ["A"]
