"""Callers and officers who stream from a phone's browser: one-time links, consent, the text
message, the caller desk, and the HTTPS gateway (gateway/) that phones talk to."""

from app.callers.consent import Answer, ConsentBook
from app.callers.links import CallerLink, LinkBook, LinkError, LinkState
from app.callers.sms import SmsError, validate_e164

__all__ = [
    "Answer",
    "CallerLink",
    "ConsentBook",
    "LinkBook",
    "LinkError",
    "LinkState",
    "SmsError",
    "validate_e164",
]
