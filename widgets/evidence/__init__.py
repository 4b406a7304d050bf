"""Qt views for evidence: the tag dialog, and the Review window (search, player, timeline,
track)."""

from widgets.evidence.review_model import ClipQuery, ClipRecord, OpenedClipRecord, ReviewServices
from widgets.evidence.review_window import ReviewWindow
from widgets.evidence.tag_dialog import TagDetails, TagDialog, TaggedMoment

__all__ = [
    "ClipQuery",
    "ClipRecord",
    "OpenedClipRecord",
    "ReviewServices",
    "ReviewWindow",
    "TagDetails",
    "TagDialog",
    "TaggedMoment",
]
