"""A clip cut out of recorded segments: one MPEG-TS, every stream copied, nothing re-encoded.

An export (app/evidence/bundle/export.py) hands `cut_clip` a feed's segments in time order, each
with the UTC time its first packet arrived (the ledger's `start_utc`) and the SHA-256 the
ledger holds, and a UTC range. It writes one MPEG-TS holding every stream of those segments
(video, sound, KLV telemetry) by stream copy: the packets' bytes exactly as recorded, and,
while the source stayed connected, their timestamps too.

How a packet's time becomes UTC. A segment's first packet (in file order) arrived at the
segment's `start_utc`, and the source's own clock runs on from there:

    utc(packet) = segment.start_utc + (packet.pts - first_packet.pts)     (seconds)

with `first_packet.pts` read from the segment file itself, never from a database.

Where the clip starts and ends. Video decodes only from a key frame, so the copy starts at
the last video key frame at or before the first frame inside the range; the frames before
the range that this brings in are the pre-roll, stated (`CutResult.preroll_s`), never
hidden. It ends with the last video frame at or before the range's end. Sound and KLV are
copied from the key frame's time to the range's end. A feed with no video is cut the same
way on its first stream (every sound packet is a key frame).

Why MPEG-TS and not MP4: the segments are MPEG-TS and carry KLV data streams, for which MP4
has no standard place; copying into the same container keeps every stream and every
timestamp (`mpegts_copyts`), and ffprobe, ffplay and VLC read it.

Across segments. Consecutive segments of one connection continue one source clock, so
their timestamps are copied as they are. Where the source reconnected (its clock jumped or
went back), the later segments' timestamps are moved by one constant so that the file's
clock goes on by the UTC time that passed; `CutResult.timeline` says, for every segment,
which pts in the output is which UTC time, so any frame's time can be read with ffprobe.
A pause between video frames longer than `GAP_FACTOR` frame spacings (and `MIN_GAP_S`) is
a gap, stated with its UTC ends and never filled.

Each segment is read into memory, hashed and compared with the SHA-256 given before
anything is taken from it, in both passes: what is written is exactly the bytes the
ledger vouches for, even if the file changes between the ledger's check and the copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import av.error
import av.stream

from media.clips.index import (
    TS_TIME_BASE,
    Frame,
    SegmentIndex,
    codec_name,
    index_segment,
    packet_pts,
    primary_label,
    seconds,
)
from media.recording import MPEGTS_OPTIONS

GAP_FACTOR = 3.0
MIN_GAP_S = 0.25
"""Below this, a late frame is jitter in the source, not missing recording."""
_SAME_CLOCK_S = 1.0
"""Two segments continue one source clock when their pts and UTC advance agree this well."""
_PROGRESS_PACKETS = 400

Progress = Callable[[float, str], None]


class ClipCutError(Exception):
    """The clip cannot be cut; the text says why in words a person understands."""


class NoRecordingError(ClipCutError):
    """No video frame (or, for a feed without video, no packet) lies in the range."""


class SegmentChangedError(ClipCutError):
    """A segment's bytes do not hash to the SHA-256 given for it."""

    def __init__(self, index: int, path: Path, sha256: str, size: int) -> None:
        super().__init__(f"{path}: {size} bytes hash to {sha256}, not to the hash given")
        self.index, self.path, self.sha256, self.size = index, path, sha256, size


@dataclass(frozen=True)
class CutSegment:
    path: Path
    start_utc: float
    """Unix time the segment's first packet arrived (the ledger's start_utc)."""
    sha256: str | None = None
    """When given, the file's bytes must hash to it (lowercase hex)."""
    name: str = ""
    """What notes call it ("segment 42"); by default its place in the list."""


@dataclass(frozen=True)
class Gap:
    """A stretch with no video: from the frame (or asked start) before to the one after."""

    after_utc: float
    before_utc: float

    @property
    def seconds(self) -> float:
        return self.before_utc - self.after_utc


@dataclass(frozen=True)
class StreamCopy:
    index: int
    kind: str
    """"video", "audio", "data" (KLV), ..."""
    codec: str
    packets: int


@dataclass(frozen=True)
class TimelinePoint:
    """From the segment's first packet on, output pts `pts_s` is UTC `utc` (Unix time), and
    each later pts is that much later, until the next point."""

    segment: int
    pts_s: float
    utc: float


@dataclass(frozen=True)
class CutResult:
    path: Path
    bytes: int
    sha256: str
    """Of the bytes as written, hashed on their way to the file."""
    first_packet_utc: float
    """The earliest packet written, of any stream."""
    key_frame_utc: float
    """The key frame the copy starts from: at or before `first_frame_utc`."""
    first_frame_utc: float
    """The first video frame inside the asked range; `last_frame_utc` the last one."""
    last_frame_utc: float
    last_packet_utc: float
    frames_in_range: int
    frames_written: int
    frame_interval_s: float
    """The usual spacing of video frames (median), 0 when there is one frame."""
    streams: tuple[StreamCopy, ...]
    segments_used: tuple[int, ...]
    """Indexes into the segments given."""
    gaps: tuple[Gap, ...]
    timeline: tuple[TimelinePoint, ...]
    notes: tuple[str, ...]

    @property
    def preroll_s(self) -> float:
        """How much video before the range the key frame brings in."""
        return self.first_frame_utc - self.key_frame_utc


class _HashingWriter:
    """Hashes and counts bytes on their way to the file; no seek, so the muxer writes in
    order and the hash is the file's."""

    def __init__(self, file: io.BufferedWriter) -> None:
        self.file, self.size, self.sha256 = file, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.file.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def cut_clip(
    segments: Sequence[CutSegment],
    start_utc: float,
    end_utc: float,
    out: Path,
    *,
    progress: Progress | None = None,
) -> CutResult:
    """Write the range's clip to `out` (a new file; an existing one is refused) and say
    exactly what it holds. Raises NoRecordingError when no frame lies in the range,
    SegmentChangedError when a segment's bytes differ from its hash, ClipCutError for
    anything else; nothing is left at `out` after an error."""
    if not end_utc > start_utc:
        raise ClipCutError("the range must end after it starts")
    return _Cut(list(segments), start_utc, end_utc, progress).run(out)


class _Cut:
    def __init__(
        self,
        segments: list[CutSegment],
        start: float,
        end: float,
        progress: Progress | None,
    ) -> None:
        self.segments, self.start, self.end = segments, start, end
        self._progress = progress
        self._done = 0
        self._total = 1
        self.notes: list[str] = []
        self.indexed: list[SegmentIndex] = []
        self.holder = av.open(io.BytesIO(), "w", format="mpegts")
        """A never-written muxer owning copies of each stream's codec parameters."""
        self.templates: dict[tuple[str, str], av.stream.Stream] = {}
        self.shifts: dict[int, float] = {}
        self.out_streams: dict[str, av.stream.Stream] = {}
        self.take: set[tuple[int, int]] = set()
        self.key_utc = self.first_packet = self.last_packet = 0.0
        self.counts: dict[str, int] = {}
        self.last_dts: dict[str, int] = {}

    def _tick(self, done: int, what: str) -> None:
        self._done += done
        if self._progress is not None:
            self._progress(min(1.0, self._done / self._total), what)

    def _read(self, index: int) -> bytes:
        segment = self.segments[index]
        try:
            data = segment.path.read_bytes()
        except OSError as exc:
            raise ClipCutError(f"cannot read {segment.path}: {exc.strerror or exc}") from exc
        if segment.sha256 is not None:
            digest = hashlib.sha256(data).hexdigest()
            if digest != segment.sha256.lower():
                raise SegmentChangedError(index, segment.path, digest, len(data))
        return data

    def _open(self, index: int, data: bytes) -> av.container.InputContainer:
        try:
            return av.open(io.BytesIO(data), "r", format="mpegts")
        except av.error.FFmpegError as exc:
            path = self.segments[index].path
            raise ClipCutError(f"{path} is not readable MPEG-TS: {exc}") from exc

    def run(self, out: Path) -> CutResult:
        try:
            sizes = [s.path.stat().st_size for s in self.segments]
        except OSError as exc:
            raise ClipCutError(f"a segment cannot be read: {exc.strerror or exc}") from exc
        # Progress counts bytes read: every segment in pass 1, then the ones used.
        self._total = max(1, sum(sizes) * 2)
        try:
            frames = self._index()
            chosen = self._choose(frames)
            used = range(frames[chosen[0]].segment, frames[chosen[-1]].segment + 1)
            self._total = self._done + max(1, sum(sizes[i] for i in used))
            self.shifts = self._shifts(used)
            return self._copy(out, frames, chosen, used)
        finally:
            self.holder.close()

    # -- pass 1: where every frame is, in UTC ------------------------------------------

    def _index(self) -> list[Frame]:
        for index, segment in enumerate(self.segments):
            data = self._read(index)
            with self._open(index, data) as container:
                entry = index_segment(container, index, segment.start_utc)
                for stream, label, codec in zip(
                    container.streams, entry.labels, entry.codecs, strict=True
                ):
                    if (label, codec) not in self.templates:
                        template = self.holder.add_stream_from_template(stream, opaque=True)
                        self.templates[label, codec] = template
                self.indexed.append(entry)
            self._tick(len(data), f"indexing segment {index + 1} of {len(self.segments)}")
        if self._any_video():  # a segment without video has no frames of a feed with video
            for entry in self.indexed:
                if not entry.has_video:
                    entry.frames = []
        return [f for e in self.indexed for f in e.frames]

    def _any_video(self) -> bool:
        return any(e.has_video for e in self.indexed)

    def _name(self, index: int) -> str:
        return self.segments[index].name or f"segment {index + 1}"

    def _choose(self, frames: list[Frame]) -> list[int]:
        """Positions (in decode order) of the frames to write: from the key frame at or
        before the first frame in the range to the last frame in it."""
        inside = [i for i, f in enumerate(frames) if self.start <= f.utc <= self.end]
        if not inside:
            raise NoRecordingError("no recorded frame lies between the range's start and end")
        first = inside[0]
        key = next((i for i in range(first, -1, -1) if frames[i].key), None)
        if key is None:
            key = first
            self.notes.append(
                "no key frame before the first frame: the first pictures may not decode"
            )
        return list(range(key, inside[-1] + 1))

    # -- pass 2: the copy --------------------------------------------------------------

    def _shifts(self, used: range) -> dict[int, float]:
        """Seconds added to each used segment's timestamps: none while one source clock
        runs on (its pts advance as UTC does from one segment's first packet to the
        next's); after a reconnect, enough that the file's clock goes on with UTC."""
        shifts: dict[int, float] = {}
        before: int | None = None
        for i in used:
            entry, segment = self.indexed[i], self.segments[i]
            if entry.anchor_pts_s is None:  # nothing timed in it: nothing to move
                shifts[i] = shifts[before] if before is not None else 0.0
                continue
            if before is None:
                shifts[i], before = 0.0, i
                continue
            prev = self.indexed[before]
            assert prev.anchor_pts_s is not None
            assert prev.last_pts_s is not None
            pts_step = entry.anchor_pts_s - prev.anchor_pts_s
            utc_step = segment.start_utc - self.segments[before].start_utc
            if pts_step > 0 and abs(pts_step - utc_step) <= _SAME_CLOCK_S:
                shifts[i] = shifts[before]
            else:
                # Where UTC would put it, but never before the last packet already written:
                # every stream's decoding times must go forward.
                at = max(prev.anchor_pts_s + utc_step, prev.last_pts_s + 0.001) + shifts[before]
                shifts[i] = round((at - entry.anchor_pts_s) * 90_000) / 90_000  # whole ticks
                self.notes.append(
                    f"{self._name(i)} starts a new source clock (a reconnect): its timestamps "
                    f"are moved by {shifts[i]:+.6f} s so that the file's clock follows UTC"
                )
            before = i
        return shifts

    def _copy(self, out: Path, frames: list[Frame], chosen: list[int], used: range) -> CutResult:
        written = [frames[i] for i in chosen]
        self.take = {(f.segment, f.ordinal) for f in written}
        self.key_utc = self.first_packet = self.last_packet = written[0].utc
        try:
            file = open(out, "xb")  # noqa: SIM115 - closed below, whatever happens
        except FileExistsError:
            raise ClipCutError(f"{out} exists already") from None
        writer = _HashingWriter(file)
        try:
            with av.open(writer, "w", format="mpegts", options=MPEGTS_OPTIONS) as output:
                self._add_streams(output, used)
                for i in used:
                    self._copy_segment(i, output)
            file.flush()
            file.close()
        except BaseException:
            with contextlib.suppress(OSError):
                file.close()
            out.unlink(missing_ok=True)
            raise
        inside = [f for f in written if self.start <= f.utc <= self.end]
        return CutResult(
            path=out,
            bytes=writer.size,
            sha256=writer.sha256.hexdigest(),
            first_packet_utc=self.first_packet,
            key_frame_utc=self.key_utc,
            first_frame_utc=min(f.utc for f in inside),
            last_frame_utc=max(f.utc for f in inside),
            last_packet_utc=self.last_packet,
            frames_in_range=len(inside),
            frames_written=len(written),
            frame_interval_s=self._interval(frames),
            streams=tuple(
                StreamCopy(n, label.rstrip("0123456789"), codec_name(s), self.counts.get(label, 0))
                for n, (label, s) in enumerate(self.out_streams.items())
            ),
            segments_used=tuple(used),
            gaps=tuple(self._gaps(written, inside, frames)),
            timeline=tuple(self._timeline(used)),
            notes=tuple(self.notes),
        )

    def _add_streams(self, output: av.container.OutputContainer, used: range) -> None:
        """One output stream per label of the segments used, in the order first met."""
        for i in used:
            entry = self.indexed[i]
            for label, codec in zip(entry.labels, entry.codecs, strict=True):
                made = self.out_streams.get(label)
                if made is None:
                    template = self.templates[label, codec]
                    self.out_streams[label] = output.add_stream_from_template(template, opaque=True)
                elif codec_name(made) != codec:
                    raise ClipCutError(
                        f"the feed's {label} changed from {codec_name(made)} to {codec} at "
                        f"{self._name(i)}: export the times before and after it as two clips"
                    )

    def _copy_segment(self, index: int, output: av.container.OutputContainer) -> None:
        entry, segment = self.indexed[index], self.segments[index]
        anchor = entry.anchor_pts_s
        data = self._read(index)
        if anchor is None:  # nothing with a timestamp: nothing to copy
            self._tick(len(data), f"copied segment {index + 1} of {len(self.segments)}")
            return
        primary = primary_label(entry.labels, self._any_video())
        ordinal = seen = refused = 0
        with self._open(index, data) as container:
            for packet in container.demux():
                pts = packet_pts(packet)
                if not packet.size or pts is None:
                    continue
                seen += 1
                if seen % _PROGRESS_PACKETS == 0:
                    self._tick(0, f"copying segment {index + 1} of {len(self.segments)}")
                label = entry.labels[packet.stream.index]
                utc = segment.start_utc + seconds(pts, packet.time_base) - anchor
                if label == primary:
                    wanted = (index, ordinal) in self.take
                    ordinal += 1
                else:  # a microsecond's slack: UTC times are kept to the microsecond
                    wanted = self.key_utc - 1e-6 <= utc <= self.end + 1e-6
                if not wanted:
                    continue
                ticks = round(self.shifts[index] / float(packet.time_base or TS_TIME_BASE))
                dts = (packet.dts if packet.dts is not None else pts) + ticks
                if label in self.last_dts and dts <= self.last_dts[label]:
                    refused += 1  # the muxer would refuse it
                    continue
                packet.pts, packet.dts = pts + ticks, dts
                packet.stream = self.out_streams[label]
                output.mux_one(packet)
                self.last_dts[label] = dts
                self.counts[label] = self.counts.get(label, 0) + 1
                self.first_packet = min(self.first_packet, utc)
                self.last_packet = max(self.last_packet, utc)
        if refused:
            self.notes.append(
                f"{self._name(index)}: {refused} packets left out, their decoding times did not "
                "go forward"
            )
        self._tick(len(data), f"copied segment {index + 1} of {len(self.segments)}")

    def _interval(self, frames: list[Frame]) -> float:
        steps = [
            b.pts_s - a.pts_s
            for a, b in itertools.pairwise(frames)
            if a.segment == b.segment and b.pts_s > a.pts_s
        ]
        return statistics.median(steps) if steps else 0.0

    def _timeline(self, used: range) -> list[TimelinePoint]:
        points = []
        for i in used:
            anchor = self.indexed[i].anchor_pts_s
            if anchor is not None:
                points.append(TimelinePoint(i, anchor + self.shifts[i], self.segments[i].start_utc))
        return points

    def _gaps(self, written: list[Frame], inside: list[Frame], frames: list[Frame]) -> list[Gap]:
        """Pauses in the video, measured on the output's clock: the source's own clock
        within a connection (so jitter in when segments arrived is not taken for a gap),
        and UTC across a reconnect (which is how the output's clock was set there)."""
        limit = max(MIN_GAP_S, GAP_FACTOR * self._interval(frames))
        gaps = []
        first, last = min(f.utc for f in inside), max(f.utc for f in inside)
        if first - self.start > limit:
            gaps.append(Gap(self.start, first))
        ordered = sorted(written, key=lambda f: f.pts_s + self.shifts[f.segment])
        for a, b in itertools.pairwise(ordered):
            step = (b.pts_s + self.shifts[b.segment]) - (a.pts_s + self.shifts[a.segment])
            if step > limit and b.utc > self.start and a.utc < self.end:
                gaps.append(Gap(a.utc, b.utc))
        if self.end - last > limit:
            gaps.append(Gap(last, self.end))
        return gaps
