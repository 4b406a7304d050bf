"""The control-room look: a dark palette for rooms lit low at night, and one colour per kind."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from media.live import FeedKind, FeedState

BACKGROUND = QColor("#0b0d10")
TILE_BACKGROUND = QColor("#14171c")
TEXT = QColor("#e6e9ee")
TEXT_DIM = QColor("#9aa3ad")
ACCENT = QColor("#3fa9f5")
WARNING = QColor("#ffb319")
"""Amber: information that is getting old (a GPS fix), not yet trouble."""
ERROR_TEXT = QColor("#ff8787")
"""Text saying something went wrong or needs correcting, readable on the dark palette."""
SUCCESS_TEXT = QColor("#69db7c")
INCIDENT = QColor("#ffd8a8")
"""Incident references: warm, so a caller's tile reads as one of a group at a glance."""

KIND_COLOURS: dict[FeedKind, QColor] = {
    FeedKind.CALLER: QColor("#e8590c"),
    FeedKind.BODYCAM: QColor("#1c7ed6"),
    FeedKind.OFFICER: QColor("#7048e8"),
    FeedKind.DRONE: QColor("#2f9e44"),
    FeedKind.CAMERA: QColor("#868e96"),
}

STATE_COLOURS: dict[FeedState, QColor] = {
    FeedState.CONNECTING: QColor("#868e96"),
    FeedState.LIVE: QColor("#2b8a3e"),
    FeedState.STALLED: QColor("#f08c00"),
    FeedState.RECONNECTING: QColor("#e03131"),
    FeedState.ENDED: QColor("#495057"),
    FeedState.FAILED: QColor("#c92a2a"),
}


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: QColor("#101318"),
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: QColor("#0d1014"),
        QPalette.ColorRole.AlternateBase: QColor("#161a20"),
        QPalette.ColorRole.ToolTipBase: QColor("#1d2229"),
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: QColor("#1b2027"),
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: QColor("#ff6b6b"),
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: QColor("#0b0d10"),
        QPalette.ColorRole.PlaceholderText: TEXT_DIM,
    }
    for role, colour in roles.items():
        palette.setColor(role, colour)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, TEXT_DIM)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, TEXT_DIM)
    app.setPalette(palette)


def show_indicator_outlines(widget: QWidget) -> None:
    """Make a check box's or radio button's indicator stand out on the dark palette.

    Fusion outlines indicators in the window colour darkened, which on a near-black window
    leaves an unticked box invisible; this widget alone gets a lighter window colour, which
    nothing else of a check box or radio button paints."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#7d8895"))
    widget.setPalette(palette)
