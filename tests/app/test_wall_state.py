"""The wall's layout and tile order survive a restart; a damaged state file is ignored, not fatal."""

from pathlib import Path

from app.wall_state import WallState, ordered


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
