"""Evidence: recording into hashed segments, the ledger and the custody log, clips and tagging,
retention and recovery, signing, export to a bundle and its check, and the Review window's store."""

from app.evidence.audit import AuditReport, audit_evidence
from app.evidence.clips import (
    Clip,
    ClipBook,
    ClipError,
    ClipKeptError,
    ClipWithdrawnError,
    UnknownClipError,
)
from app.evidence.coverage import coverage_warning, open_segment_start, unknown_feed
from app.evidence.custody import CustodyAction, CustodyLog, os_user
from app.evidence.hashchain import hash_file, immediate, parse_utc, utc_text
from app.evidence.ledger import SegmentLedger

__all__ = [
    "AuditReport",
    "Clip",
    "ClipBook",
    "ClipError",
    "ClipKeptError",
    "ClipWithdrawnError",
    "CustodyAction",
    "CustodyLog",
    "SegmentLedger",
    "UnknownClipError",
    "audit_evidence",
    "coverage_warning",
    "hash_file",
    "immediate",
    "open_segment_start",
    "os_user",
    "parse_utc",
    "unknown_feed",
    "utc_text",
]
