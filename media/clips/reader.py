"""Reading a clip back from its recorded segments, frame by frame, each frame at its UTC time.

A clip is a feed's UTC range; its pictures lie in the recorder's MPEG-TS segments
(media/recording/segment.py), which keep the source's own timestamps (`mpegts_copyts`). `index_clip`
demuxes each segment once, without decoding, and gives every video frame that falls in the
clip a number and a UTC time: the segment's UTC start (from the evidence ledger, when its
first packet arrived) plus how far the frame's pts lies past that first packet's. That rule
is media/clips/index.py's, used here as is, so a frame has one UTC time in the Review
window, on its still and in an exported bundle. It also names the gaps: stretches of the
clip with no picture (a segment missing, a connection lost).

`ClipDecoder` then gives any frame exactly: it decodes from the key frame before it. It does
not use FFmpeg's timestamp seek, which in MPEG-TS is a binary search that can land after the
key frame wanted; segments are short (2-10 s), so it reads the segment from its start and
skips, without decoding, every packet before that key frame. Decoded frames are kept (up to
`CACHE_BYTES`), so stepping back through a GOP decodes it once. No Qt here; not thread-safe:
one thread uses a decoder (media/clips/player.py runs one on its own thread).
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import itertools
import statistics
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from media.clips.index import index_segment, packet_pts
from media.live import fit_size, scaler_for

CACHE_BYTES = 256 * 1024 * 1024
"""Decoded frames kept for stepping back: about 80 frames of 1080p, a few GOPs of smaller."""
GAP_FRAMES = 2.5
"""A stretch longer than this many frame durations with no picture is reported as a gap;
one or two frames lost in the network are not."""
DEFAULT_FRAME_S = 1 / 25

Pixels = npt.NDArray[np.uint8]


def format_utc(when: float) -> str:
    """A frame's time for people: `2026-11-21 14:15:02.345`, UTC, to the millisecond
    (rounded: a frame at .0999999 s is at .100)."""
    seconds, millis = divmod(round(when * 1000), 1000)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{millis:03d}"


class ClipReadError(Exception):
    """A segment could not be read, holds no video, or a frame could not be decoded."""


@dataclass(frozen=True)
class ClipSegment:
    """One recorded segment file of the clip's feed, with its times as the ledger has them."""

    path: Path
    start_utc: float
    """Unix time (UTC) of the segment's first packet."""
    end_utc: float
    name: str = ""
    """How the ledger names it (relative to the recordings folder); shown on stills."""
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class FrameRef:
    """One video frame of the clip (slots: a six-hour clip has some 650 000)."""

    number: int
    """0-based place in the clip (people are shown number + 1)."""
    utc: float
    segment: int
    """Index into `ClipIndex.segments`."""
    pts: int
    """Presentation time in the segment's video time base, as recorded."""
    key: bool


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of the clip with no picture."""

    start_utc: float
    end_utc: float

    @property
    def seconds(self) -> float:
        return self.end_utc - self.start_utc


@dataclass
class _Scan:
    """One segment's video packets in demux order, as `index_clip` found them."""

    time_base: Fraction
    keys: list[int] = field(default_factory=list)
    """Demux-order positions (ordinals) of the key packets."""
    ordinal_of: dict[int, int] = field(default_factory=dict)
    """pts -> ordinal, for the clip's frames."""
    number_of: dict[int, int] = field(default_factory=dict)
    """pts -> the clip's frame number, for frames in the clip."""

    def key_before(self, ordinal: int) -> int:
        """The last key packet at or before `ordinal` (the segment's start without one)."""
        at = bisect.bisect_right(self.keys, ordinal)
        return self.keys[at - 1] if at else 0


@dataclass(frozen=True, eq=False)
class ClipIndex:
    """Every frame of a clip with its UTC time, and the gaps between them."""

    start_utc: float
    end_utc: float
    segments: tuple[ClipSegment, ...]
    frames: tuple[FrameRef, ...]
    gaps: tuple[Gap, ...]
    frame_s: float
    """The usual time from one frame to the next (the median), for stepping and gaps."""
    width: int
    height: int
    scans: tuple[_Scan, ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.frames)

    def frame_at(self, utc: float) -> int:
        """The number of the frame on screen at `utc`: the last at or before it (the first
        frame for a time before it)."""
        return max(0, bisect.bisect_right(self.frames, utc, key=lambda f: f.utc) - 1)


def index_clip(
    segments: Sequence[ClipSegment],
    start_utc: float,
    end_utc: float,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ClipIndex:
    """Demux each segment (no decoding) and number the frames of `start..end`.

    A frame belongs to the clip when `start <= utc <= end`, as in an export's bundle
    (media/clips/cut.py), so "frame 22 of 40" on a still is frame 22 of the bundle's 40.
    Raises ClipReadError for a file that cannot be read or has no video;
    `progress(done, total)` is called after each segment."""
    found: list[tuple[float, int, int, bool]] = []  # utc, segment, pts, key
    scans: list[_Scan] = []
    deltas: list[float] = []
    size = (0, 0)
    for n, segment in enumerate(segments):
        scan, seen, seg_size = _scan(segment)
        scans.append(scan)
        size = size if size != (0, 0) else seg_size
        times = sorted(utc for utc, _, _ in seen)
        deltas += [b - a for a, b in itertools.pairwise(times) if b > a]
        found += [(utc, n, pts, key) for utc, pts, key in seen]
        if progress is not None:
            progress(n + 1, len(segments))
    frame_s = statistics.median(deltas) if deltas else DEFAULT_FRAME_S
    found.sort()
    kept = [f for f in found if start_utc <= f[0] <= end_utc]
    frames = tuple(
        FrameRef(number, utc, seg, pts, key) for number, (utc, seg, pts, key) in enumerate(kept)
    )
    for ref in frames:
        scans[ref.segment].number_of[ref.pts] = ref.number
    return ClipIndex(
        start_utc=start_utc,
        end_utc=end_utc,
        segments=tuple(segments),
        frames=frames,
        gaps=tuple(_gaps(frames, start_utc, end_utc, frame_s)),
        frame_s=frame_s,
        width=size[0],
        height=size[1],
        scans=tuple(scans),
    )


def _scan(segment: ClipSegment) -> tuple[_Scan, list[tuple[float, int, bool]], tuple[int, int]]:
    """One segment's video frames as (utc, pts, key), by media/clips/index.py's rule, so a
    frame has the same UTC time here, on a still and in an exported bundle's manifest."""
    where = segment.name or str(segment.path)
    try:
        container = av.open(str(segment.path))
    except (OSError, av.error.FFmpegError) as exc:
        raise ClipReadError(f"cannot read segment {where}: {exc}") from exc
    with container:
        if not container.streams.video:
            raise ClipReadError(f"segment {where} holds no video")
        video = container.streams.video[0]
        if video.time_base is None:
            raise ClipReadError(f"segment {where}: its video has no time base")
        try:
            listed = index_segment(container, 0, segment.start_utc)
        except av.error.FFmpegError as exc:
            raise ClipReadError(f"segment {where}: {exc}") from exc
        size = (video.codec_context.width, video.codec_context.height)
    scan = _Scan(video.time_base)
    frames = []
    for frame in listed.frames:
        # Back to the stream's own ticks: decoded frames are matched to their packets by it.
        pts = round(frame.pts_s / scan.time_base)
        if frame.key:
            scan.keys.append(frame.ordinal)
        scan.ordinal_of[pts] = frame.ordinal
        frames.append((frame.utc, pts, frame.key))
    return scan, frames, size


def _gaps(frames: Sequence[FrameRef], start: float, end: float, frame_s: float) -> Iterator[Gap]:
    limit = GAP_FRAMES * frame_s
    if not frames:
        yield Gap(start, end)
        return
    if frames[0].utc - start > limit:
        yield Gap(start, frames[0].utc)
    for before, after in itertools.pairwise(frames):
        if after.utc - before.utc > limit:
            yield Gap(before.utc + frame_s, after.utc)
    if end - frames[-1].utc > limit:
        yield Gap(frames[-1].utc + frame_s, end)


class _Pass:
    """One decoding run through one segment, from a key packet on."""

    def __init__(self, index: ClipIndex, segment: int, first: int) -> None:
        self.segment = segment
        self.first = first
        """The ordinal of the key packet decoding began at."""
        self.fed = first - 1
        """The ordinal of the last packet given to the decoder."""
        self.seen: set[int] = set()
        """pts of the frames this pass has put out."""
        self.frames = self._run(index.segments[segment].path)

    def _run(self, path: Path) -> Generator[av.VideoFrame, None, None]:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            ordinal = -1
            for packet in container.demux(stream):
                # Counted as media/clips/index.py counts them, so the ordinals agree.
                if packet.size and packet_pts(packet) is not None:
                    ordinal += 1
                    if ordinal < self.first:
                        continue  # before the key frame: read, never decoded
                    self.fed = ordinal
                # The empty packet at the end flushes the frames the decoder still holds.
                for frame in packet.decode():
                    if frame.pts is not None:
                        self.seen.add(frame.pts)
                    yield frame

    def can_reach(self, scan: _Scan, pts: int) -> bool:
        """Whether decoding on from here puts out the frame with `pts` (not out already)."""
        ordinal = scan.ordinal_of.get(pts)
        if ordinal is None or pts in self.seen:
            return False
        return self.first <= scan.key_before(ordinal) <= self.fed + 1


class ClipDecoder:
    """Decodes the clip's frames by number, from the key frame before each, keeping what it
    decodes for later steps back. Close it when done (it may hold a file open)."""

    def __init__(self, index: ClipIndex, *, cache_bytes: int = CACHE_BYTES) -> None:
        self.index = index
        self._cache: collections.OrderedDict[int, av.VideoFrame] = collections.OrderedDict()
        self._cache_bytes = cache_bytes
        self._held = 0
        self._pass: _Pass | None = None
        self._reformatter = VideoReformatter()
        self.decoded = 0
        """Frames decoded so far: what the cache saves shows here."""

    def frame(self, number: int) -> av.VideoFrame:
        """The decoded frame `number` of the clip. ClipReadError if it cannot be decoded."""
        if not 0 <= number < len(self.index.frames):
            raise ClipReadError(f"no frame {number + 1}; the clip has {len(self.index.frames)}")
        cached = self._cache.get(number)
        if cached is not None:
            self._cache.move_to_end(number)
            return cached
        ref = self.index.frames[number]
        scan = self.index.scans[ref.segment]
        run = self._pass
        if run is None or run.segment != ref.segment or not run.can_reach(scan, ref.pts):
            self.close()
            first = scan.key_before(scan.ordinal_of[ref.pts])
            run = self._pass = _Pass(self.index, ref.segment, first)
        try:
            for frame in run.frames:
                self.decoded += 1
                got = scan.number_of.get(frame.pts) if frame.pts is not None else None
                if got is None:
                    continue  # before the clip's start: decoded only to reach what follows
                self._keep(got, frame)
                if got == number:
                    return frame
        except (OSError, av.error.FFmpegError) as exc:
            self.close()
            raise ClipReadError(f"frame {number + 1}: {exc}") from exc
        self.close()
        name = self.index.segments[ref.segment].name
        raise ClipReadError(f"frame {number + 1} could not be decoded from segment {name}")

    def picture(self, number: int, box: tuple[int, int]) -> tuple[Pixels, int, int, int]:
        """Frame `number` as BGRA at the largest size inside `box` with its aspect ratio:
        pixels (rows of `stride` bytes), width, height, stride."""
        frame = self.frame(number)
        width, height = fit_size(frame.width, frame.height, *box, None)
        out = self._reformatter.reformat(
            frame, width, height, "bgra", interpolation=scaler_for(frame, width, height)
        )
        plane = out.planes[0]
        stride = plane.line_size
        pixels = np.frombuffer(memoryview(plane), np.uint8).reshape(height, stride // 4, 4)
        return pixels, width, height, stride

    def rgb(self, number: int) -> Pixels:
        """Frame `number` at its full decoded size as RGB24 rows (height, width, 3)."""
        return np.asarray(self.frame(number).to_ndarray(format="rgb24"), dtype=np.uint8)

    def close(self) -> None:
        if self._pass is not None:
            self._pass.frames.close()  # closes the segment file
            self._pass = None

    def _keep(self, number: int, frame: av.VideoFrame) -> None:
        if number in self._cache:
            return
        self._cache[number] = frame
        self._held += _frame_bytes(frame)
        while self._held > self._cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._held -= _frame_bytes(old)


def _frame_bytes(frame: av.VideoFrame) -> int:
    return sum(plane.buffer_size for plane in frame.planes)
