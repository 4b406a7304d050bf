"""One recording segment: a short MPEG-TS file that is either whole on disk or not yet a `.ts`.

A `Segment` is written as `NAME.ts.part`: packets are stream-copied in (the muxer sees the
bytes as they arrived, with their own timestamps), hashed on their way to the file, and on
`close()` the muxer's trailer is written, the file flushed and fsynced, renamed to
`NAME.ts` and the folder fsynced. Only then does anyone hear of it, so a crash or a power
cut at any moment leaves closed segments whole and at most this one as a `.part`.

The recorder (media/recording/recorder.py) decides when segments open and close; this module only
writes one, and says nothing about threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import av.container
import av.error
import av.stream

MPEGTS_OPTIONS = {"mpegts_copyts": "1"}  # keep the source's timestamps exactly: no offset

_NAME = re.compile(r"^\d{8}T\d{6}\.\d{3}Z-(\d+)\.ts(\.part)?$")


@dataclass(frozen=True)
class SegmentInfo:
    """One closed segment: whole on disk, fsynced, under its final name."""

    path: Path
    feed: str
    sequence: int
    session: int
    """Which connection of the source it came from (1, 2, ... as the source reconnects)."""
    started_at: float
    """Unix time (UTC) the segment's first packet arrived; `ended_at` the last one's."""
    ended_at: float
    first_pts_s: float
    """The earliest presentation time among its packets, in the source's own timeline."""
    last_pts_s: float
    duration_s: float
    """From `first_pts_s` to the end of its last packet (its pts plus its duration)."""
    packets: dict[str, int]
    """Packets written per stream, by label: "video", "audio", "klv", ..."""
    bytes: int
    sha256: str
    """Of the bytes as written, hashed on their way to the file."""
    starts_with_key_frame: bool
    notes: tuple[str, ...] = ()
    """Anything a reviewer should know: a gap before it, a late cut, a reset clock."""


@dataclass(slots=True)
class PacketCopy:
    """A demuxed packet as it arrived: its bytes and timing, apart from the source's packet
    object (which the muxer would rescale in place)."""

    stream: int
    """Its stream's place in the recorded stream list."""
    data: bytes
    pts: int
    dts: int
    duration: int | None
    time_base: Fraction
    key: bool
    wall: float
    """time.time() when it arrived: what the segment's UTC start and end are made of."""
    mono: float


class SegmentFile(Protocol):
    """What a segment is written to: a new file, opened by `Recorder(opener=...)`."""

    def write(self, data: bytes, /) -> int | None: ...
    def flush(self) -> None: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...


def open_segment_file(path: Path) -> SegmentFile:
    # "x": never open over an existing file; buffered, so a short write is retried, not lost.
    return open(path, "xb")


def segment_name(started_at: float, sequence: int) -> str:
    """`20261121T141500.123Z-000042.ts`: the UTC start, then the recorder's count, so that
    names sort by time and say when they begin."""
    seconds, millis = divmod(round(started_at * 1000), 1000)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds))
    return f"{stamp}.{millis:03d}Z-{sequence:06d}.ts"


def next_sequence(folder: Path) -> int:
    """One past the highest sequence in `folder`, so a restarted recorder never reuses one."""
    try:
        found = [int(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    except OSError:
        return 1
    return max(found, default=0) + 1


def fsync_folder(folder: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk too (POSIX)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _HashingWriter:
    """Counts and hashes bytes on their way to the file. It has no seek, so the muxer writes
    strictly in order and the hash is the file's."""

    def __init__(self, file: SegmentFile) -> None:
        self.file = file
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.file.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


class Segment:
    """One segment being written, from its first packet until `close()` or `abandon()`.
    I/O errors (OSError) are raised to the caller; the `.part` stays until it is whole."""

    def __init__(
        self,
        path: Path,
        templates: list[av.stream.Stream],
        labels: list[str],
        opener: Callable[[Path], SegmentFile],
        *,
        feed: str,
        sequence: int,
        session: int,
        start_s: float,
        starts_with_key_frame: bool,
        notes: list[str],
    ) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")
        self.feed, self.sequence, self.session = feed, sequence, session
        self.start_s = start_s
        """Decoding time of its first cut-deciding packet, in seconds: cuts count from here."""
        self.notes = notes
        self.labels = labels
        self.packets = [0] * len(templates)
        self.last_dts: dict[int, int] = {}
        self.starts_with_key_frame = starts_with_key_frame
        self._first_pts_s: float | None = None
        self._last_pts_s = self._end_pts_s = 0.0
        self._started_at = self._ended_at = 0.0
        self._file = opener(self.part)
        self._writer = _HashingWriter(self._file)
        self._container = av.open(self._writer, "w", format="mpegts", options=MPEGTS_OPTIONS)
        # opaque: the codec parameters are the template's own; no encoder is looked up.
        self._streams = [
            self._container.add_stream_from_template(t, opaque=True) for t in templates
        ]

    def write(self, p: PacketCopy) -> bool:
        """Mux one packet; False (and nothing written) if the muxer refuses it."""
        last = self.last_dts.get(p.stream)
        if last is not None and p.dts <= last:  # the muxer would refuse it
            return False
        packet = av.Packet(p.data)  # wraps the copied bytes: no second copy
        packet.stream = self._streams[p.stream]
        packet.time_base = p.time_base
        packet.pts, packet.dts, packet.duration = p.pts, p.dts, p.duration
        packet.is_keyframe = p.key
        try:
            self._container.mux_one(packet)
        except OSError:
            raise
        except av.error.FFmpegError:  # refused (bad timing or data): that packet alone
            return False
        if not sum(self.packets):
            self._started_at = p.wall
        self.last_dts[p.stream] = p.dts
        self.packets[p.stream] += 1
        self._ended_at = p.wall
        start = float(p.pts * p.time_base)
        end = start + float((p.duration or 0) * p.time_base)
        self._first_pts_s = start if self._first_pts_s is None else min(self._first_pts_s, start)
        self._last_pts_s = max(self._last_pts_s, start)
        self._end_pts_s = max(self._end_pts_s, end)
        return True

    def close(self) -> SegmentInfo | None:
        """Trailer, flush, fsync, rename, fsync the folder: only then is it a `.ts`. An
        empty segment is removed instead (None)."""
        self._container.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if not sum(self.packets):
            self.part.unlink(missing_ok=True)
            return None
        os.rename(self.part, self.path)
        fsync_folder(self.path.parent)
        first = self._first_pts_s or 0.0
        return SegmentInfo(
            path=self.path,
            feed=self.feed,
            sequence=self.sequence,
            session=self.session,
            started_at=self._started_at,
            ended_at=self._ended_at,
            first_pts_s=first,
            last_pts_s=self._last_pts_s,
            duration_s=max(0.0, self._end_pts_s - first),
            packets=dict(zip(self.labels, self.packets, strict=True)),
            bytes=self._writer.size,
            sha256=self._writer.sha256.hexdigest(),
            starts_with_key_frame=self.starts_with_key_frame,
            notes=tuple(self.notes),
        )

    def abandon(self) -> None:
        """After an I/O error: let go of the file as far as the disk allows. A `.part` that
        holds packets stays for the recovery pass; an empty one is removed."""
        for close in (self._container.close, self._file.close):
            # The disk is failing: the trailer and the flush may well fail too.
            with contextlib.suppress(Exception):
                close()
        if not sum(self.packets):
            with contextlib.suppress(OSError):
                self.part.unlink(missing_ok=True)
