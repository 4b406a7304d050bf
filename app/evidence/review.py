"""The Review window, composed: the window (widgets/evidence/review_window.py) given the base dir's
evidence through a `ReviewStore` (app/evidence/review_store.py), and the wall's map settings.

`open_review(base)` makes and shows it; the main window's Evidence ▸ Review clips… calls it.
The window may be closed and shown again; closing it closes the open clip's viewing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QWidget

from app.config import Config
from app.evidence.review_store import OpenedClip, ReviewStore
from app.map import MapView
from app.map.panel_settings import map_setup
from app.paths import BaseDir
from media.clips import Still
from widgets.evidence import ClipQuery, ClipRecord, OpenedClipRecord, ReviewServices, ReviewWindow


def review_services(store: ReviewStore, *, export_folder: Path | None = None) -> ReviewServices:
    """The window's services, each a call on `store` (which may run on any thread)."""

    def search(query: ClipQuery) -> Sequence[ClipRecord]:
        return store.search(
            text=query.text,
            tag=query.tag,
            incident=query.incident,
            feed=query.feed,
            kind=query.kind,
            start=query.start,
            end=query.end,
        )

    def export_still(opened: OpenedClipRecord, number: int, out: Path) -> Still:
        return store.export_still(_own(opened), number, out)

    def export_clip(clip_id: str, out: Path, progress: Callable[[float, str], None]) -> str:
        result = store.export_clip(clip_id, out, progress)
        return (
            f"{result.folder} ({result.frames} frames; manifest SHA-256 "
            f"{result.manifest_sha256}, signed by key {result.fingerprint[:16]}…)"
        )

    return ReviewServices(
        search=search,
        feed_names=store.feed_names,
        open_clip=store.open_clip,
        close_clip=lambda opened: store.close_clip(_own(opened)),
        export_still=export_still,
        export_clip=export_clip,
        export_folder=export_folder or Path.home(),
    )


def _own(opened: OpenedClipRecord) -> OpenedClip:
    """The window hands back what the store gave it."""
    if not isinstance(opened, OpenedClip):
        raise TypeError(f"not a clip this store opened: {opened!r}")
    return opened


def open_review(
    base: BaseDir,
    parent: QWidget | None = None,
    map_view: MapView | None = None,
    *,
    actor: str | None = None,
    config: Config | None = None,
    export_folder: Path | None = None,
    store: ReviewStore | None = None,
) -> ReviewWindow:
    """Make the Review window over `base`'s evidence (or `store`'s: a room's desk's) and
    show it."""
    store = store or ReviewStore(base, actor=actor, config=config)
    services = review_services(store, export_folder=export_folder)
    window = ReviewWindow(services, map_setup(map_view), parent)
    window.show()
    window.raise_()
    return window
