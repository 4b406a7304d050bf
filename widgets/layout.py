"""Wall layouts as plain geometry: which grid cells each tile covers. No Qt, so the config
checker (app/config.py) can validate a layout name with the same table the wall uses.

Names: "auto" (1, 2x2, 3x3 ... as feeds grow), "CxR" grids (columns x rows), and the
control-room classics with large tiles: "1+5", "1+7", "1+12", "2+8".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_GRID = re.compile(r"^(\d{1,2})x(\d{1,2})$")


@dataclass(frozen=True)
class Cell:
    col: int
    row: int
    cols: int = 1
    rows: int = 1


@dataclass(frozen=True)
class Layout:
    name: str
    columns: int
    rows: int
    cells: tuple[Cell, ...]


def _with_big(name: str, size: int, big: list[Cell]) -> Layout:
    taken = {(c.col + dc, c.row + dr) for c in big for dc in range(c.cols) for dr in range(c.rows)}
    small = [
        Cell(col, row) for row in range(size) for col in range(size) if (col, row) not in taken
    ]
    return Layout(name, size, size, (*big, *small))


NAMED: dict[str, Layout] = {
    "1+5": _with_big("1+5", 3, [Cell(0, 0, 2, 2)]),
    "1+7": _with_big("1+7", 4, [Cell(0, 0, 3, 3)]),
    "1+12": _with_big("1+12", 4, [Cell(1, 1, 2, 2)]),
    "2+8": _with_big("2+8", 4, [Cell(0, 0, 2, 2), Cell(2, 0, 2, 2)]),
}

CHOICES = ("auto", "1x1", "2x2", "3x3", "4x4", "5x5", *NAMED)


class LayoutError(ValueError):
    pass


def grid(columns: int, rows: int) -> Layout:
    cells = tuple(Cell(col, row) for row in range(rows) for col in range(columns))
    return Layout(f"{columns}x{rows}", columns, rows, cells)


def check(name: str) -> str:
    """The normalised layout name, or LayoutError saying what is accepted."""
    key = name.strip().lower()
    if key == "auto" or key in NAMED:
        return key
    found = _GRID.match(key)
    if found and 1 <= int(found.group(1)) <= 8 and 1 <= int(found.group(2)) <= 8:
        return key
    raise LayoutError(
        f'unknown layout {name!r}: use "auto", a grid from "1x1" to "8x8", '
        f"or one of {', '.join(NAMED)}"
    )


def layout_for(name: str, count: int) -> Layout:
    key = check(name)
    if key == "auto":
        side = max(1, math.ceil(math.sqrt(count)))
        return grid(side, side)
    if key in NAMED:
        return NAMED[key]
    columns, rows = (int(v) for v in key.split("x"))
    return grid(columns, rows)


def cell_rects(
    layout: Layout, width: int, height: int, gap: int = 2
) -> list[tuple[int, int, int, int]]:
    """Pixel rectangles (x, y, w, h) of the layout's cells in a width x height area."""
    xs = [round(i * width / layout.columns) for i in range(layout.columns + 1)]
    ys = [round(i * height / layout.rows) for i in range(layout.rows + 1)]
    rects = []
    for cell in layout.cells:
        x0, x1 = xs[cell.col], xs[cell.col + cell.cols]
        y0, y1 = ys[cell.row], ys[cell.row + cell.rows]
        rects.append((x0 + gap // 2, y0 + gap // 2, max(1, x1 - x0 - gap), max(1, y1 - y0 - gap)))
    return rects
