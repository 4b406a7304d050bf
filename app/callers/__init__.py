"""Callers and officers who stream from a phone's browser: one-time links, consent, the text
message, and the gateway (gateway/): the caller desk and the HTTPS endpoints phones talk to."""

from app.callers.consent import Answer, ConsentBook
from app.callers.gateway.limits import RefusedError
from app.callers.links import CallerLink, LinkBook, LinkError, LinkState, make_link
from app.callers.route import CallerRoute, CannotCarryError, MediaSession, RoutedSource
from app.callers.sms import SmsError, validate_e164

__all__ = [
    "Answer",
    "CallerLink",
    "CallerRoute",
    "CannotCarryError",
    "ConsentBook",
    "LinkBook",
    "LinkError",
    "LinkState",
    "MediaSession",
    "RefusedError",
    "RoutedSource",
    "SmsError",
    "make_link",
    "validate_e164",
]
