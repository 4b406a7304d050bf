"""Where the map writes each marker's name, so that no label hides another, a marker, or
falls off the edge; and the scale bar's round length. Plain geometry in view pixels, no Qt.

Each label goes in the first free of eight places around its marker (east first, where it
reads most naturally, then west, the four diagonals, above and below), moved inside the
view where the edge cuts it, as long as it then still leaves its own dot clear; where all
eight are taken, the same eight a little further off, with a leader line to the marker. "Free"
means clear of every label placed before it, of every marker's dot, and of what the view
keeps clear (the note across the top, the scale bar). Labels are placed in order of
importance: the selected feed, then callers (the reason the room is there), then the rest.

Where labels still do not fit, the markers crowding the one left out collapse into a count
("3 body cams", "2 body cams · 1 drone") placed as one label beside their group, and the
placing starts again; a wider net is cast each round. What cannot be labelled even then is
left unlabelled rather than drawn over something else: its dot is still there to tap.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DOT_RADIUS = 9.0
"""A marker's dot with its border and a hair of room: what no label may cover."""
GAP = 4.0
"""Between a dot's edge and its label."""
LABEL_HEIGHT = 22.0
LABEL_PADDING = 12.0
"""Added to the text's width: the label's left and right margins."""
EDGE = 3.0
"""Labels stay this far inside the view."""
REACHES = (0.0, 24.0, 48.0, 80.0)
"""How far a single marker's label may stand off from it, joined by a leader line, before
its marker is counted with its neighbours instead."""
HIDDEN_UNDER = DOT_RADIUS
"""Dots nearer each other than this hide one another: counted from the start, since no
label could say which dot is which."""
CLUSTER_ROUNDS = ((40.0, True), (70.0, True), (40.0, False), (80.0, False), (160.0, False))
"""How near a marker must be to one left unlabelled to join its count, and whether it must be
of the same kind, round by round: "3 body cams" beside two callers' own labels reads better
than "3 body cams · 2 callers", so kinds mix only when keeping them apart did not fit."""

_PLURAL = {
    "caller": ("caller", "callers"),
    "bodycam": ("body cam", "body cams"),
    "officer": ("officer", "officers"),
    "drone": ("drone", "drones"),
    "camera": ("camera", "cameras"),
}
_KIND_ORDER = ("caller", "bodycam", "officer", "drone", "camera")


def _kind_rank(kind: str) -> int:
    return _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def intersects(self, other: Box) -> bool:
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def inside(self, other: Box) -> bool:
        return (
            self.x >= other.x
            and self.y >= other.y
            and self.right <= other.right
            and self.bottom <= other.bottom
        )

    def clamped(self, area: Box) -> Box:
        """Moved (not resized) to lie inside `area` where it fits."""
        x = min(max(self.x, area.x), area.right - self.w)
        y = min(max(self.y, area.y), area.bottom - self.h)
        return Box(x, y, self.w, self.h)


@dataclass(frozen=True)
class Mark:
    """A marker on screen and what its own label would say."""

    name: str
    kind: str
    x: float
    y: float
    text: str
    selected: bool = False

    @property
    def dot(self) -> Box:
        return Box(self.x - DOT_RADIUS, self.y - DOT_RADIUS, 2 * DOT_RADIUS, 2 * DOT_RADIUS)

    @property
    def rank(self) -> int:
        """Lower goes first: the selected feed, then callers, then by kind."""
        if self.selected:
            return 0
        return 1 + _kind_rank(self.kind)


@dataclass(frozen=True)
class Label:
    """A label as drawn: its text and box, the kind whose colour it wears ("" for a mixed
    count), and the markers it stands for (one, or a collapsed group)."""

    text: str
    box: Box
    kind: str
    members: tuple[str, ...]
    leader: tuple[float, float, float, float] | None = None
    """A line from the marker to its label (x1, y1, x2, y2), where the label had to stand
    off from it; None where the label is beside its marker."""

    @property
    def is_count(self) -> bool:
        return len(self.members) > 1


def count_text(kinds: Sequence[str]) -> str:
    """ "3 body cams", or "2 body cams · 1 drone" for a mix, most numerous first, or
    "caller + body cam" for one of each."""
    counts = Counter(kinds)
    order = sorted(
        counts, key=lambda k: (-counts[k], _KIND_ORDER.index(k) if k in _KIND_ORDER else 9)
    )
    if len(counts) > 1 and all(n == 1 for n in counts.values()):
        return " + ".join(_PLURAL.get(kind, (kind, kind))[0] for kind in order)
    parts = []
    for kind in order:
        one, many = _PLURAL.get(kind, (kind, kind + "s"))
        parts.append(f"{counts[kind]} {one if counts[kind] == 1 else many}")
    return " · ".join(parts)


def place_labels(
    marks: Sequence[Mark],
    area: Box,
    measure: Callable[[str], float],
    keep_clear: Sequence[Box] = (),
) -> list[Label]:
    """Labels for `marks` (those whose dot lies in `area`): none overlapping another, a dot
    or `keep_clear`, all inside `area`. `measure` gives a text's width in pixels."""
    shown = [m for m in marks if area.x <= m.x <= area.right and area.y <= m.y <= area.bottom]
    groups: list[list[Mark]] = []
    labels: list[Label] = []
    left_out: list[Mark] = []
    groups = _regroup(shown, [], shown, HIDDEN_UNDER, same_kind=False)
    for radius, same_kind in ((0.0, True), *CLUSTER_ROUNDS):
        if radius:
            groups = _regroup(shown, groups, left_out, radius, same_kind=same_kind)
        labels, left_out = _place_round(shown, groups, area, measure, keep_clear)
        if not left_out:
            break
    return labels


def _place_round(
    shown: Sequence[Mark],
    groups: Sequence[Sequence[Mark]],
    area: Box,
    measure: Callable[[str], float],
    keep_clear: Sequence[Box],
) -> tuple[list[Label], list[Mark]]:
    """One greedy pass: each single mark and each group, in order of importance, gets its
    first free place. Returns the labels and the marks left without one."""
    grouped = {m.name for g in groups for m in g}
    items: list[tuple[int, list[Mark]]] = [(m.rank, [m]) for m in shown if m.name not in grouped]
    items += [(min(m.rank for m in g), list(g)) for g in groups]
    items.sort(key=lambda item: (item[0], item[1][0].y, item[1][0].x))
    taken = [m.dot for m in shown] + list(keep_clear)
    labels: list[Label] = []
    left_out: list[Mark] = []
    for _, members in items:
        if len(members) == 1:
            mark = members[0]
            text, kind = mark.text, mark.kind
        else:
            text = count_text([m.kind for m in members])
            kinds = {m.kind for m in members}
            kind = kinds.pop() if len(kinds) == 1 else ""
        width = math.ceil(measure(text) + LABEL_PADDING)
        found = _first_free(members, width, area, taken, REACHES)
        if found is None:
            left_out.extend(members)
            continue
        box, reach = found
        taken.append(box)
        leader = _leader(_middle(members), box) if reach else None
        labels.append(Label(text, box, kind, tuple(m.name for m in members), leader))
    return labels, left_out


def _regroup(
    shown: Sequence[Mark],
    groups: Sequence[Sequence[Mark]],
    left_out: Sequence[Mark],
    radius: float,
    *,
    same_kind: bool,
) -> list[list[Mark]]:
    """Groups for the next round: every mark left out gathers the marks within `radius`
    of it (of its kind, with `same_kind`) and, through them, theirs, joining any group
    they were already in. The selected feed keeps its own label and joins no group."""
    parent: dict[str, str] = {m.name: m.name for m in shown}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    def join(a: str, b: str) -> None:
        parent[root(a)] = root(b)

    for group in groups:
        for m in group[1:]:
            join(m.name, group[0].name)
    seeds = [m for m in left_out if not m.selected]
    in_net = {m.name for g in groups for m in g} | {m.name for m in seeds}
    frontier = list(seeds)
    while frontier:
        mark = frontier.pop()
        for other in shown:
            if other is mark or other.selected or (same_kind and other.kind != mark.kind):
                continue
            if math.hypot(other.x - mark.x, other.y - mark.y) <= radius:
                if other.name not in in_net:
                    in_net.add(other.name)
                    frontier.append(other)
                join(other.name, mark.name)
    by_root: dict[str, list[Mark]] = {}
    for m in shown:
        if m.name in in_net:
            by_root.setdefault(root(m.name), []).append(m)
    return [g for g in by_root.values() if len(g) > 1]


def _dots(members: Sequence[Mark]) -> Box:
    """What a label must leave clear around its own marker or group: dots and gap."""
    left = min(m.x for m in members) - DOT_RADIUS - GAP
    top = min(m.y for m in members) - DOT_RADIUS - GAP
    right = max(m.x for m in members) + DOT_RADIUS + GAP
    bottom = max(m.y for m in members) + DOT_RADIUS + GAP
    return Box(left, top, right - left, bottom - top)


def _middle(members: Sequence[Mark]) -> Mark:
    if len(members) == 1:
        return members[0]
    x = sum(m.x for m in members) / len(members)
    y = sum(m.y for m in members) / len(members)
    return Mark("", members[0].kind, x, y, "")


def _leader(mark: Mark, box: Box) -> tuple[float, float, float, float]:
    """From the edge of the mark's dot to the nearest point of its label."""
    x = min(max(mark.x, box.x), box.right)
    y = min(max(mark.y, box.y), box.bottom)
    length = math.hypot(x - mark.x, y - mark.y) or 1.0
    start = DOT_RADIUS - 2
    return (
        mark.x + (x - mark.x) * start / length,
        mark.y + (y - mark.y) * start / length,
        x,
        y,
    )


def _places(around: Box, w: float, reach: float = 0.0) -> list[Box]:
    """The eight places beside `around` (stood off by `reach`) for a label `w` wide, in
    order of preference."""
    around = Box(around.x - reach, around.y - reach, around.w + 2 * reach, around.h + 2 * reach)
    h = LABEL_HEIGHT
    mid_x, mid_y = around.x + around.w / 2, around.y + around.h / 2
    # The diagonals sit a little in from the corners, so the label still reads as its dot's.
    inset = (DOT_RADIUS + GAP) * 0.3
    left, right, top, bottom = around.x, around.right, around.y, around.bottom
    return [
        Box(right, mid_y - h / 2, w, h),
        Box(left - w, mid_y - h / 2, w, h),
        Box(right - inset, top - h + inset, w, h),
        Box(right - inset, bottom - inset, w, h),
        Box(left - w + inset, top - h + inset, w, h),
        Box(left - w + inset, bottom - inset, w, h),
        Box(mid_x - w / 2, top - h, w, h),
        Box(mid_x - w / 2, bottom, w, h),
    ]


def _first_free(
    members: Sequence[Mark],
    width: float,
    area: Box,
    taken: Sequence[Box],
    reaches: Sequence[float] = (0.0,),
) -> tuple[Box, float] | None:
    inner = Box(area.x + EDGE, area.y + EDGE, area.w - 2 * EDGE, area.h - 2 * EDGE)
    if width > inner.w or inner.h < LABEL_HEIGHT:
        return None
    around = _dots(members)
    own = [m.dot for m in members]
    for reach in reaches:
        for place in _places(around, width, reach):
            box = place.clamped(inner)
            if box != place and any(box.intersects(dot) for dot in own):
                continue  # pushed back over its own dot by the edge
            if not any(box.intersects(other) for other in taken):
                return box, reach
    return None


# -- the scale bar --------------------------------------------------------------------------

EARTH_CIRCUMFERENCE_M = 40_075_016.686
"""At the equator, on the WGS 84 sphere Web Mercator uses."""
TILE_SIZE = 256


def metres_per_pixel(lat: float, zoom: float) -> float:
    """Ground metres per view pixel at `lat` on a Web Mercator map at `zoom` (256-px tiles)."""
    return EARTH_CIRCUMFERENCE_M * math.cos(math.radians(lat)) / (TILE_SIZE * 2**zoom)


@dataclass(frozen=True)
class ScaleBar:
    metres: float
    pixels: float
    text: str


def scale_bar(metres_per_px: float, longest_px: float = 140.0) -> ScaleBar:
    """The longest round length (1, 2 or 5 times a power of ten metres) no longer than
    `longest_px` on screen, and how it reads ("200 m", "1 km", "2.5 km" never)."""
    if metres_per_px <= 0 or not math.isfinite(metres_per_px):
        return ScaleBar(0.0, 0.0, "")
    most = metres_per_px * longest_px
    power = 10 ** math.floor(math.log10(most))
    metres = max(step * power for step in (1, 2, 5) if step * power <= most)
    if metres >= 1000:
        km = metres / 1000
        text = f"{km:g} km"
    else:
        text = f"{metres:g} m"
    return ScaleBar(metres, metres / metres_per_px, text)
