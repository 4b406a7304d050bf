"""ReviewStore: what the Review window asks of a base dir's evidence, on real SQLite and real
recorded segments (tests/review_base.py): finding clips, opening one for viewing (frames,
track, custody), stills."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.database import open_database
from app.evidence.clips import ClipError, UnknownClipError
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.review_store import ReviewStore
from media.clips.reader import ClipDecoder, ClipReadError
from media.live.feed import FeedKind
from media.testcard import read_frame_number
from tests.review_base import FEED, START_LAT, STEP_LAT, ReviewBase, make_review_base
from tests.review_media import T0, encode_card


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return encode_card(tmp_path_factory.mktemp("card") / "card.ts", 6.0)


@pytest.fixture
def evidence(tmp_path: Path, card: Path) -> ReviewBase:
    return make_review_base(tmp_path / "base", card)


def custody(evidence: ReviewBase, subject: str) -> list[tuple[str, str, dict]]:
    db = open_database(evidence.base.database)
    try:
        entries = CustodyLog(db).entries(subject)
        assert CustodyLog(db).verify() is None
        return [(e.action, e.actor, e.details_dict) for e in entries]
    finally:
        db.close()


def test_search_by_each_field(evidence: ReviewBase) -> None:
    """Each of the window's fields alone narrows the three clips to the ones it names."""
    store = ReviewStore(evidence.base)

    def ids(**criteria: object) -> set[str]:
        return {clip.id for clip in store.search(**criteria)}  # type: ignore[arg-type]

    walk, crowd, old = evidence.walk, evidence.crowd, evidence.old
    assert ids() == {walk, crowd, old}
    assert ids(text="KNIFE") == {walk}
    assert ids(text="parliament") == {crowd}
    assert ids(tag="Vehicle") == {walk, old}
    assert ids(incident="inc-0099") == {crowd}
    assert ids(feed=FEED) == {walk, old}
    assert ids(kind=FeedKind.DRONE) == {crowd}
    assert ids(start=T0 - 3 * 86400, end=T0 - 86400) == {old}
    assert ids(start=T0 + 1800) == {crowd}
    with pytest.raises(ClipError):
        store.search(tag="no/slashes")
    assert store.feed_names() == ["BWV-4521", "DRONE-7"]


def test_opening_a_clip_reads_its_frames_and_track_and_records_the_viewing(
    evidence: ReviewBase,
) -> None:
    """In: open the 0.95-4.95 s clip as "analyst", then close it. Out: its 40 frames (the
    card's 10-49) from the three ledger segments; its track from the fix at 0 s (the last
    before it starts) to the one at 4 s; view_opened naming the segments and frames, then
    view_closed with the seconds, both by the analyst, the chain whole."""
    now = [T0 + 86400.0]
    store = ReviewStore(evidence.base, actor="analyst", clock=lambda: now[0])
    opened = store.open_clip(evidence.walk.lower())
    index = opened.index
    assert opened.clip.id == evidence.walk
    assert len(index) == 40
    assert [segment.name.split("/")[0] for segment in index.segments] == [FEED] * 3
    assert all(segment.sha256 for segment in index.segments)
    assert index.frames[0].utc == pytest.approx(evidence.frame_utc(10), abs=1e-6)
    decoder = ClipDecoder(index)
    assert read_frame_number(decoder.rgb(0)) == 10
    assert read_frame_number(decoder.rgb(39)) == 49
    decoder.close()
    assert [fix.at - T0 for fix in opened.track] == [0, 1, 2, 3, 4]
    assert opened.track[1].lat == pytest.approx(START_LAT + STEP_LAT)

    now[0] += 42.0
    store.close_clip(opened)
    entries = custody(evidence, evidence.walk)
    assert [(action, actor) for action, actor, _ in entries[-2:]] == [
        (CustodyAction.VIEW_OPENED, "analyst"),
        (CustodyAction.VIEW_CLOSED, "analyst"),
    ]
    opened_details, closed_details = entries[-2][2], entries[-1][2]
    assert opened_details["where"] == "review"
    assert opened_details["feed"] == FEED
    assert opened_details["frames"] == 40
    assert opened_details["segments"] == [s.name for s in index.segments]
    assert closed_details["seconds"] == 42.0


def test_a_clip_without_recording_opens_empty_and_an_unknown_one_is_refused(
    evidence: ReviewBase,
) -> None:
    store = ReviewStore(evidence.base)
    opened = store.open_clip(evidence.crowd)
    assert len(opened.index) == 0
    assert opened.track == ()
    with pytest.raises(UnknownClipError):
        store.open_clip("CLIP-20000101-000000")


def test_still_is_the_decoded_frame_with_its_hash_and_custody(
    evidence: ReviewBase, tmp_path: Path
) -> None:
    """In: frame 21 of the clip (the card's 30) written as a still by "analyst". Out: the
    PNG's top-left 160x120 is that frame as decoded, exactly; the band names the feed and
    time; its PNG text says which segment; `sha256sum -c` accepts the hash file; a
    still_export entry names the file, its hash, the frame and the segment's hash."""
    store = ReviewStore(evidence.base, actor="analyst")
    opened = store.open_clip(evidence.walk)
    still = store.export_still(opened, 20, tmp_path / "out" / "still.png")
    decoder = ClipDecoder(opened.index)
    expected = decoder.rgb(20)
    decoder.close()
    assert read_frame_number(expected) == 30
    with Image.open(still.path) as image:
        pixels = np.asarray(image.convert("RGB"))
        text = dict(image.text)
    assert np.array_equal(pixels[:120, :160], expected)
    assert pixels.shape[0] > 120 + 60, "a band of five lines beneath"
    ref = opened.index.frames[20]
    segment = opened.index.segments[ref.segment]
    assert text["Vigil-Feed"] == FEED
    assert text["Vigil-Frame"] == "21 of 40"
    assert text["Vigil-Segment"] == segment.name
    assert text["Vigil-Segment-SHA256"] == segment.sha256
    check = subprocess.run(
        ["sha256sum", "-c", "still.png.sha256"], cwd=still.path.parent, check=False
    )
    assert check.returncode == 0
    action, actor, details = custody(evidence, evidence.walk)[-1]
    assert (action, actor) == (CustodyAction.STILL_EXPORT, "analyst")
    assert details["file"] == str(still.path)
    assert details["sha256"] == still.sha256
    assert details["frame"] == 21
    assert details["segment_sha256"] == segment.sha256


def test_a_still_of_a_changed_segment_is_refused(evidence: ReviewBase, tmp_path: Path) -> None:
    """In: a clip opened, then its frame's segment file changed behind Vigil's back (bytes
    added at its end: it still decodes). Out: the still is refused, naming the segment;
    no PNG is written and no still_export entry claims the ledger's hash for it."""
    store = ReviewStore(evidence.base, actor="analyst")
    opened = store.open_clip(evidence.walk)
    segment = opened.index.segments[opened.index.frames[20].segment]
    with open(segment.path, "ab") as file:
        file.write(b"\x47" + bytes(187))
    with pytest.raises(ClipReadError, match=f"segment {segment.name} no longer hashes"):
        store.export_still(opened, 20, tmp_path / "out" / "still.png")
    assert not (tmp_path / "out" / "still.png").exists()
    actions = [action for action, _, _ in custody(evidence, evidence.walk)]
    assert CustodyAction.STILL_EXPORT not in actions


def test_the_review_and_the_export_count_the_same_frames(
    evidence: ReviewBase, secret_service, tmp_path: Path
) -> None:
    """In: the clip opened for review and exported through the store. Out: the bundle's
    frames are the Review's: as many, the first and last at the same UTC times, to the
    microsecond, so "frame 22 of 40" on a still names the bundle's frame 22."""
    store = ReviewStore(evidence.base, actor="analyst")
    index = store.open_clip(evidence.walk).index
    result = store.export_clip(evidence.walk, tmp_path / "bundle")
    assert result.folder == tmp_path / "bundle"
    assert result.frames == len(index)
    assert result.first_frame_utc == pytest.approx(index.frames[0].utc, abs=1e-6)
    assert result.last_frame_utc == pytest.approx(index.frames[-1].utc, abs=1e-6)
