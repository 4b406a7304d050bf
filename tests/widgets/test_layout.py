"""Layout geometry: auto grids grow with the feeds; named layouts tile the screen exactly once."""

import pytest

from widgets.layout import NAMED, LayoutError, cell_rects, check, layout_for


@pytest.mark.parametrize(
    ("count", "side"), [(0, 1), (1, 1), (2, 2), (4, 2), (5, 3), (9, 3), (10, 4), (16, 4), (17, 5)]
)
def test_auto_grid_is_the_smallest_square_that_fits(count: int, side: int) -> None:
    layout = layout_for("auto", count)
    assert (layout.columns, layout.rows) == (side, side)


@pytest.mark.parametrize("name", [*NAMED, "3x2", "1x1"])
def test_every_layout_covers_each_grid_cell_exactly_once(name: str) -> None:
    layout = layout_for(name, 9)
    covered = [
        (cell.col + dc, cell.row + dr)
        for cell in layout.cells
        for dc in range(cell.cols)
        for dr in range(cell.rows)
    ]
    assert sorted(covered) == sorted(
        (c, r) for c in range(layout.columns) for r in range(layout.rows)
    )


def test_named_layouts_have_the_counts_their_names_say() -> None:
    assert len(NAMED["1+5"].cells) == 6
    assert len(NAMED["1+7"].cells) == 8
    assert len(NAMED["2+8"].cells) == 10
    assert len(NAMED["1+12"].cells) == 13


def test_cell_rects_fill_the_area_with_gaps() -> None:
    rects = cell_rects(layout_for("2x2", 4), 1000, 500, gap=2)
    assert rects[0] == (1, 1, 498, 248)
    assert rects[3] == (501, 251, 498, 248)


def test_unknown_layout_is_refused_with_the_choices() -> None:
    assert check(" 3X3 ") == "3x3"
    with pytest.raises(LayoutError, match="1\\+5"):
        check("7+1")
