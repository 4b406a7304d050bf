"""Evidence: recording into hashed segments, the ledger and the custody log, clips and tagging,
retention and recovery, signing, export to a bundle and its check, and the Review window's store."""

from app.evidence.clips import (
    Clip,
    ClipBook,
    ClipError,
    ClipKeptError,
    ClipWithdrawnError,
    UnknownClipError,
)
from app.evidence.custody import CustodyAction, CustodyLog, os_user
from app.evidence.hashchain import hash_file, immediate, parse_utc, utc_text
from app.evidence.ledger import SegmentLedger

__all__ = [
    "Clip",
    "ClipBook",
    "ClipError",
    "ClipKeptError",
    "ClipWithdrawnError",
    "CustodyAction",
    "CustodyLog",
    "SegmentLedger",
    "UnknownClipError",
    "hash_file",
    "immediate",
    "os_user",
    "parse_utc",
    "utc_text",
]
