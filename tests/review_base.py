"""A base dir for the Review tests, as a running wall leaves one: the test card recorded by
the real Recorder into the evidence ledger, tagged clips, and the feed's track.

BWV-4521 (a body cam) is recorded for 6 s from T0, with a fix every second walking north
up Stonegate in York. Three clips:

- `walk`: BWV-4521 from 0.95 s to 4.95 s (frames 10..49 of the card, over all three
  2 s segments), tags "weapon, vehicle", incident INC-0042, a two-line note;
- `crowd`: DRONE-7 (a drone), 30 s an hour later, no recording, tag "crowd", INC-0099;
- `old`: BWV-4521 two days earlier, no recording, tag "vehicle", no incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.database import open_database
from app.evidence.clips import ClipBook
from app.evidence.custody import CustodyLog
from app.evidence.ledger import SegmentLedger
from app.map.tracks import TrackBook, TrackPoint, TrackSource
from app.paths import BaseDir
from media.live.feed import FeedKind
from tests.review_media import FPS, T0, first_pts_s, record, recorded

FEED = "BWV-4521"
START_LAT, START_LON = 53.96070, -1.08370
STEP_LAT = 0.00005  # about 5.6 m north each second: a brisk walk


@dataclass(frozen=True)
class ReviewBase:
    base: BaseDir
    walk: str
    crowd: str
    old: str
    zero: float
    """UTC time of the card's frame 0: frame n is at zero + n / FPS."""

    def frame_utc(self, n: int) -> float:
        return self.zero + n / FPS


def make_review_base(root: Path, card: Path, *, unlisted: tuple[int, ...] = ()) -> ReviewBase:
    """Record `card` (tests/review_media.encode_card, 6 s) under `root` and tag it. The
    segments at the places in `unlisted` (0, 1, 2) are left out of the ledger, as if lost."""
    base = BaseDir(root).ensure()
    infos = record(card, base.recordings / FEED, FEED)
    zero = T0 + first_pts_s(card)
    db = open_database(base.database)
    try:
        ledger = SegmentLedger(db, base.recordings, clock_sync=lambda: "unknown")
        for n, info in enumerate(infos):
            if n in unlisted:
                info.path.unlink()  # a file no entry names would be a finding of its own
                continue
            start, end = recorded(info)
            ledger.add(FEED, info.sequence, info.path, start, end, duration_s=info.duration_s)
        TrackBook(db).record_many(
            TrackPoint(
                feed_id="feed-1",
                feed_name=FEED,
                kind=FeedKind.BODYCAM,
                at=T0 + second,
                lat=START_LAT + STEP_LAT * second,
                lon=START_LON,
                accuracy_m=8.0,
                heading_deg=0.0,
                speed_mps=1.4,
                altitude_m=None,
                source=TrackSource.GPS,
            )
            for second in range(7)
        )
        book = ClipBook(db, CustodyLog(db), clock=lambda: T0 + 7 * 86400)
        walk = book.tag(
            FEED,
            zero + 0.95,
            zero + 4.95,
            tags="weapon, vehicle",
            note="Knife seen at the door\nSuspect walks north",
            incident="INC-0042",
            kind=FeedKind.BODYCAM,
            actor="operator",
        )
        crowd = book.tag(
            "DRONE-7",
            T0 + 3600,
            T0 + 3630,
            tags="crowd",
            note="Crowd gathering on Parliament Street",
            incident="INC-0099",
            kind=FeedKind.DRONE,
            actor="operator",
        )
        old = book.tag(FEED, T0 - 2 * 86400, T0 - 2 * 86400 + 20, tags="vehicle", actor="operator")
    finally:
        db.close()
    return ReviewBase(base, walk.id, crowd.id, old.id, zero)
