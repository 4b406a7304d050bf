"""Callers and officers who stream from a phone's browser: one-time links, consent, the text
message, and the gateway (gateway/): the caller desk and the HTTPS endpoints phones talk to;
viewer links, whose page a room server's `ViewerDesk` serves (viewing.py)."""

from app.callers.consent import Answer, ConsentBook
from app.callers.gateway.limits import RefusedError
from app.callers.links import (
    CallerLink,
    GoneLinkError,
    LinkBook,
    LinkError,
    LinkKind,
    LinkState,
    make_link,
    viewer_feeds,
)
from app.callers.route import CallerRoute, CannotCarryError, MediaSession, RoutedSource
from app.callers.sms import SmsError, validate_e164
from app.callers.viewing import ViewerDesk, ViewerPage

__all__ = [
    "Answer",
    "CallerLink",
    "CallerRoute",
    "CannotCarryError",
    "ConsentBook",
    "GoneLinkError",
    "LinkBook",
    "LinkError",
    "LinkKind",
    "LinkState",
    "MediaSession",
    "RefusedError",
    "RoutedSource",
    "SmsError",
    "ViewerDesk",
    "ViewerPage",
    "make_link",
    "validate_e164",
    "viewer_feeds",
]
