"""Recording: every packet of a live feed kept on disk, unchanged, as it arrives.

A `Recorder` keeps one feed's evidence. The feed's source hands it each demuxed packet
before decoding (`put`); it copies the bytes and queues them, and its own writer thread
(`record-BWV-4521`) stream-copies them into short MPEG-TS segments (media/recording/segment.py):
each starts at a video key frame, so it plays alone, and is cut at the first key frame
after `segment_s`; a feed without video is cut on time. A crash or a power cut loses at
most the open segment, which is left as a `.part`.

Nothing here may slow the wall: the decode thread only copies and enqueues, never waits
and never touches the disk. When the disk falls behind, the queue refuses new packets for
a while (see `put`); when the disk is full, recording stops, says why (`on_error`, `stats`)
and leaves what is already written alone. Any other I/O error (the process out of file
descriptors, memory for a moment) interrupts recording only: the open segment is let go as
a full disk's is, `stats` says the recorder is retrying, and it tries again at the next key
frame, for as long as it takes.
"""

from __future__ import annotations

import collections
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import av.container
import av.error
import av.stream

from media.recording.health import RecorderStats, stops_for_good
from media.recording.segment import (
    PacketCopy,
    Segment,
    SegmentFile,
    SegmentInfo,
    next_sequence,
    open_segment_file,
    segment_name,
)

if TYPE_CHECKING:
    from media.live import Feed

log = logging.getLogger(__name__)

SEGMENT_S = 4.0
MIN_SEGMENT_S, MAX_SEGMENT_S = 2.0, 10.0
NO_KEY_FRAME_CUT_S = 60.0
"""A video stream with no key frame for this long is cut (or first opened) without one:
an open segment without end would put everything since the last key frame at risk."""
_TICK_S = 0.001  # a key frame exactly `segment_s` on must cut, whatever float rounding says
MAX_BEHIND_S = 10.0
MAX_QUEUE_BYTES = 32 * 1024 * 1024
PREROLL_PACKETS = 1024
"""Sound and KLV held while the first key frame is awaited, written at the segment's head."""


@dataclass(slots=True)
class _Begin:
    holder: av.container.OutputContainer
    """A never-written muxer that owns copies of the streams' codec parameters: the source
    closes its container on reconnect, and a template must outlive it."""
    templates: list[av.stream.Stream]
    labels: list[str]
    primary: int
    """The stream whose packets decide cuts: the video, else the first."""
    has_video: bool
    mono: float


@dataclass(slots=True)
class _Mark:
    kind: str  # "end" (the connection ended), "gap" (packets were refused), "stop"
    mono: float
    dropped: int = 0


def _labels(streams: Sequence[av.stream.Stream]) -> list[str]:
    names = [s.type if s.type != "data" else (getattr(s, "name", None) or "data") for s in streams]
    return [n if names.count(n) == 1 else f"{n}{i}" for i, n in enumerate(names)]


class Recorder:
    """Records one feed into `folder`. `attach(feed)` and its source does the rest (or call
    `begin`, `put` and `end` as a source would); `stop()` closes the open segment and ends
    the writer. A full disk stops it for good (`STOPS_FOR_GOOD`): make a new one to record
    again; any other I/O error is retried at the next key frame.

    `on_closed(SegmentInfo)` and `on_error(message)` are called on the writer thread: they
    should hand the news on and return (a slow one holds up the writing)."""

    def __init__(
        self,
        folder: Path,
        feed_name: str,
        *,
        segment_s: float = SEGMENT_S,
        on_closed: Callable[[SegmentInfo], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        opener: Callable[[Path], SegmentFile] = open_segment_file,
        max_behind_s: float = MAX_BEHIND_S,
        max_queue_bytes: int = MAX_QUEUE_BYTES,
    ) -> None:
        if not MIN_SEGMENT_S <= segment_s <= MAX_SEGMENT_S:
            raise ValueError(f"segment_s must be {MIN_SEGMENT_S:g}-{MAX_SEGMENT_S:g} s")
        self.folder = folder
        self.feed_name = feed_name
        self.segment_s = segment_s
        self.on_closed = on_closed
        self.on_error = on_error
        self._opener = opener
        self._max_behind_s = max_behind_s
        self._max_bytes = max_queue_bytes
        self._feed: Feed | None = None
        # Shared by the decode thread, the writer and readers of `stats()`, under the lock.
        self._cond = threading.Condition()
        self._queue: collections.deque[PacketCopy | _Begin | _Mark] = collections.deque()
        self._queued_bytes = 0
        self._in_hand: float | None = None
        self._shedding = False
        self._dropped_in_gap = 0
        self._closed = False
        self._writing = False
        self._error: str | None = None
        self._retrying = False
        self._interruptions = 0
        self._last_interruption: str | None = None
        self._interrupted_at: float | None = None
        self._counts = collections.Counter[str]()
        self._sessions = 0
        # The decode thread's own: stream index in its container -> index in the session.
        self._index_of: dict[int, int] = {}
        # The writer's own.
        self._session: _Begin | None = None
        self._segment: Segment | None = None
        self._sequence: int | None = None
        self._preroll: collections.deque[PacketCopy] = collections.deque()
        self._waiting_since: float | None = None
        self._notes: list[str] = []
        self._thread = threading.Thread(target=self._run, name=f"record-{feed_name}", daemon=True)
        self._thread.start()

    # -- the decode thread's side: returns at once, never raises --------------------------

    def attach(self, feed: Feed, *, packets: bool = True) -> None:
        """Take the feed's packets from its source (from its next packet on), and keep
        `feed.recording` true exactly while live packets are going into segments. With
        `packets=False` only the latter: someone else puts packets in (a WebRTC caller's
        encoder, media/recording/caller_recorder.py), and the feed's own source has none to give."""
        self._feed = feed
        if packets:
            feed.packet_sink = self

    def begin(self, streams: Sequence[av.stream.Stream]) -> None:
        """A new connection: these streams' packets follow. Closes the open segment."""
        if self._closed:
            return
        try:
            holder = av.open(io.BytesIO(), "w", format="mpegts")
            kept: list[av.stream.Stream] = []
            templates: list[av.stream.Stream] = []
            for stream in streams:
                try:
                    templates.append(holder.add_stream_from_template(stream, opaque=True))
                    kept.append(stream)
                except (ValueError, av.error.FFmpegError) as exc:  # MPEG-TS cannot carry it
                    log.warning("%s: cannot record stream %s: %s", self.feed_name, stream, exc)
            self._index_of = {s.index: i for i, s in enumerate(kept)}
            if not templates:
                self._report("not recording: MPEG-TS cannot carry this feed's streams")
            kinds = [s.type for s in templates]
            primary = kinds.index("video") if "video" in kinds else 0
            begin = _Begin(
                holder, templates, _labels(templates), primary, "video" in kinds, time.monotonic()
            )
            self._enqueue(begin, 0, force=True)
        except Exception:  # the decode thread must go on whatever happens here
            log.exception("%s: recorder could not begin", self.feed_name)

    def put(self, packet: av.Packet[Any], arrived_at: float | None = None) -> None:
        """Queue a copy of one demuxed packet, before it is decoded. Returns at once.
        `arrived_at` (Unix time) is when its picture arrived, for an encoder that hands
        packets over a little after their frames came (else: now).

        When the writer is more than `max_behind_s` (or `max_queue_bytes`) behind, new
        packets are refused until it has caught up by half, and recording resumes at the
        next key frame in a new segment. Of the choices this is the least bad for evidence:
        waiting would freeze the wall; an unbounded queue would take the whole program
        (every feed) down when memory runs out; dropping the oldest would punch holes inside
        a segment already under way, leaving files that look whole but hide missing frames.
        Refusing the newest keeps every segment whole and decodable, and the loss is one
        counted gap between two segments, stated in the notes of the one after it."""
        try:
            index = self._index_of.get(packet.stream_index)
            if index is None or self._closed:
                return
            # Either timestamp stands in for a missing other (in the copy; the source's stays).
            pts = packet.pts if packet.pts is not None else packet.dts
            dts = packet.dts if packet.dts is not None else packet.pts
            if pts is None or dts is None or pts < dts:  # no place in time; the muxer refuses it
                self._count("invalid")
                return
            # A copy, taken now: what the writer muxes is exactly what arrived, whatever the
            # decoder or the muxer's own time-base rescaling later do to the packet object.
            data = bytes(packet)
            copy = PacketCopy(
                index,
                data,
                pts,
                dts,
                packet.duration,
                packet.time_base,
                packet.is_keyframe,
                time.time() if arrived_at is None else arrived_at,
                time.monotonic(),
            )
            self._enqueue(copy, len(data))
        except Exception:
            log.exception("%s: recorder could not take a packet", self.feed_name)

    def end(self) -> None:
        """The connection ended: close the open segment now, not when the next one begins."""
        self._index_of = {}
        self._enqueue(_Mark("end", time.monotonic()), 0, force=True)

    def _enqueue(
        self, item: PacketCopy | _Begin | _Mark, size: int, *, force: bool = False
    ) -> None:
        with self._cond:
            if self._closed:
                return
            if not force:
                behind = self._behind(item.mono)
                if self._shedding:
                    caught_up = (
                        self._queued_bytes <= self._max_bytes // 2
                        and behind <= self._max_behind_s / 2
                    )
                    if not caught_up:
                        self._dropped_in_gap += 1
                        self._counts["dropped"] += 1
                        return
                    self._shedding = False
                    self._queue.append(_Mark("gap", item.mono, self._dropped_in_gap))
                    self._publish()
                elif self._queued_bytes + size > self._max_bytes or behind > self._max_behind_s:
                    log.warning(
                        "%s: recording %.1f s behind; refusing packets until it catches up",
                        self.feed_name,
                        behind,
                    )
                    self._shedding = True
                    self._dropped_in_gap = 1
                    self._counts["dropped"] += 1
                    self._publish()
                    return
            self._queue.append(item)
            self._queued_bytes += size
            self._cond.notify()

    def _behind(self, now: float) -> float:
        oldest = self._in_hand
        if oldest is None and self._queue:
            oldest = self._queue[0].mono
        return max(0.0, now - oldest) if oldest is not None else 0.0

    # -- anyone's side ---------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        """Live packets are being taken and written into segments."""
        return self._writing and not self._shedding and not self._closed

    def stats(self) -> RecorderStats:
        with self._cond:
            counts = self._counts
            return RecorderStats(
                recording=self.recording,
                segments_closed=counts["segments"],
                bytes_written=counts["bytes"],
                packets_written=counts["written"],
                packets_dropped=counts["dropped"],
                packets_invalid=counts["invalid"],
                packets_skipped=counts["skipped"],
                behind_s=self._behind(time.monotonic()),
                queued_bytes=self._queued_bytes,
                sessions=self._sessions,
                last_error=self._error,
                retrying=self._retrying,
                interruptions=self._interruptions,
                last_interruption=self._last_interruption,
            )

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Close the open segment properly and end the writer; False if the writer is still
        stuck (in a hung disk) after `timeout_s`. It is a daemon: it never holds up exit."""
        feed = self._feed
        if feed is not None and feed.packet_sink is self:
            feed.packet_sink = None
        self._enqueue(_Mark("stop", time.monotonic()), 0, force=True)
        with self._cond:
            self._closed = True
            self._publish()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _count(self, name: str, n: int = 1) -> None:
        with self._cond:
            self._counts[name] += n

    def _publish(self) -> None:
        """Mirror the state into the feed's REC mark (called holding the lock)."""
        if self._feed is not None:
            self._feed.recording = self.recording

    def _set_writing(self, writing: bool) -> None:
        with self._cond:
            self._writing = writing
            self._publish()

    def _report(self, message: str) -> None:
        with self._cond:
            self._error = message
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:
                log.exception("%s: on_error callback failed", self.feed_name)

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                item = self._queue.popleft()
                self._in_hand = item.mono
                if isinstance(item, PacketCopy):
                    self._queued_bytes -= len(item.data)
            try:
                if isinstance(item, PacketCopy):
                    self._on_packet(item)
                    continue
                try:
                    self._close_segment()
                finally:  # a failed close still ends what the mark ends
                    self._drop_preroll()
                    if isinstance(item, _Begin):
                        self._session = item
                        with self._cond:
                            self._sessions += 1
                    elif item.kind == "gap":
                        self._notes.append(
                            f"follows a gap: {item.dropped} packets refused while the disk "
                            "was behind"
                        )
                    else:
                        self._session = None
            except Exception as exc:  # OSError: the disk failed; anything else: a bug
                if not isinstance(exc, OSError):
                    log.exception("%s: recorder failed", self.feed_name)
                if not isinstance(exc, OSError) or stops_for_good(exc):
                    self._fail(exc)
                    return
                self._interrupt(exc)
            finally:
                with self._cond:
                    self._in_hand = None
            if isinstance(item, _Mark) and item.kind == "stop":
                return

    def _on_packet(self, p: PacketCopy) -> None:
        """The cut rule: a segment opens at a key frame of the video (any packet of a feed
        without video) and closes at the first such packet `segment_s` after its start."""
        session = self._session
        if session is None:
            return
        t = float(p.dts * p.time_base)
        primary = p.stream == session.primary
        can_start = primary and (p.key or not session.has_video)
        segment = self._segment
        if segment is not None:
            last = segment.last_dts.get(p.stream)
            if last is not None and p.dts <= last:
                if not can_start:
                    self._count("invalid")
                    return
                self._close_segment(final=False)  # the source's clock went back: start afresh
                self._notes.append("the source's timestamps went back: new segment")
            elif can_start and t - segment.start_s >= self.segment_s - _TICK_S:
                late = t - segment.start_s
                if late > MAX_SEGMENT_S:  # a long GOP: still cut at a key frame, and say so
                    segment.notes.append(
                        f"key frames rarer than {MAX_SEGMENT_S:g} s: cut at {late:.1f} s"
                    )
                self._close_segment(final=False)
            elif primary and session.has_video and t - segment.start_s >= NO_KEY_FRAME_CUT_S:
                self._close_segment(final=False)
                self._notes.append(f"no key frame for {NO_KEY_FRAME_CUT_S:g} s: cut without one")
                can_start = True
        if self._segment is None:
            if primary and self._waiting_since is None:
                self._waiting_since = t
            waited = t - self._waiting_since if self._waiting_since is not None else 0.0
            if primary and not can_start and waited >= NO_KEY_FRAME_CUT_S:
                self._notes.append(f"no key frame for {NO_KEY_FRAME_CUT_S:g} s: opened without one")
                can_start = True
            if not can_start:
                if primary:
                    self._count("skipped")  # undecodable before a key frame
                else:
                    self._preroll.append(p)
                    if len(self._preroll) > PREROLL_PACKETS:
                        self._preroll.popleft()
                        self._count("skipped")
                return
            self._open_segment(session, p, t)
        self._write(p)

    def _open_segment(self, session: _Begin, first: PacketCopy, start_s: float) -> None:
        held, self._preroll = self._preroll, collections.deque()
        opened_at = held[0].wall if held else first.wall
        if self._sequence is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            # next_sequence() reads an unlistable folder as empty; out of descriptors, that
            # would number segments from 1 again. Fail here instead, and retry.
            with os.scandir(self.folder):
                pass
            self._sequence = next_sequence(self.folder)
        while True:
            path = self.folder / segment_name(opened_at, self._sequence)
            if not path.exists() and not path.with_name(path.name + ".part").exists():
                break
            self._sequence += 1  # never write over anything already there
        self._segment = Segment(
            path,
            session.templates,
            session.labels,
            self._opener,
            feed=self.feed_name,
            sequence=self._sequence,
            session=self._sessions,
            start_s=start_s,
            starts_with_key_frame=first.key or not session.has_video,
            notes=self._notes,
        )
        self._notes = []
        self._sequence += 1
        self._waiting_since = None
        for early in held:
            self._write(early)

    def _write(self, p: PacketCopy) -> None:
        assert self._segment is not None
        if not self._segment.write(p):
            self._count("invalid")
            return
        self._count("written")
        if not self._writing:
            self._set_writing(True)
        if self._retrying:
            self._resumed()

    def _drop_preroll(self) -> None:
        if self._preroll:
            self._count("skipped", len(self._preroll))
            self._preroll.clear()
        self._waiting_since = None

    def _close_segment(self, *, final: bool = True) -> None:
        """`final`: no segment follows at once, so the REC mark goes out; a cut is not."""
        if final and self._writing:
            self._set_writing(False)
        segment = self._segment
        if segment is None:
            return
        info = segment.close()  # on an OSError it stays the open one, for _fail()
        self._segment = None
        if info is None:
            return
        with self._cond:
            self._counts["segments"] += 1
            self._counts["bytes"] += info.bytes
        if self.on_closed is not None:
            try:
                self.on_closed(info)
            except Exception:  # a listener's bug must not stop the recording
                log.exception("%s: on_closed callback failed", self.feed_name)

    def _interrupt(self, exc: OSError) -> None:
        """An error that may pass: let the open segment go (a `.part` holding packets stays
        for the recovery pass, as after a full disk), say so, and open the next segment at
        the next key frame. The first failure of a run is a warning; its retries are counted
        and logged at debug, so a long outage is two lines, not one per key frame."""
        segment, self._segment = self._segment, None
        if segment is not None:
            segment.abandon()
        self._drop_preroll()
        reason = exc.strerror or repr(exc)
        where = f" ({segment.part.name})" if segment is not None else ""
        message = f"recording interrupted: {reason}{where}; retrying at the next key frame"
        first = not self._retrying
        with self._cond:
            self._retrying = True
            self._interruptions += 1
            self._last_interruption = message
            self._error = message
            self._writing = False
            self._publish()
        if first:
            self._interrupted_at = time.monotonic()
            self._notes.append(f"follows an interruption: {reason}")
            log.warning("%s: %s", self.feed_name, message)
        else:
            log.debug("%s: %s", self.feed_name, message)

    def _resumed(self) -> None:
        since = self._interrupted_at
        lasted = time.monotonic() - since if since is not None else 0.0
        with self._cond:
            self._retrying = False
            self._error = None
            attempts = self._interruptions
        self._interrupted_at = None
        log.warning(
            "%s: recording resumed after %.1f s interrupted (%d failed attempts since start)",
            self.feed_name,
            lasted,
            attempts,
        )

    def _fail(self, exc: BaseException) -> None:
        """Stop for good, keeping every closed segment as it is; the open one is abandoned
        (a `.part` holding packets stays for the recovery pass). Says why, once."""
        segment, self._segment = self._segment, None
        with self._cond:
            self._closed = True
            self._writing = False
            self._retrying = False
            self._queue.clear()
            self._queued_bytes = 0
            self._publish()
        if segment is not None:
            segment.abandon()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
        where = f" ({segment.part.name})" if segment is not None else ""
        message = f"recording stopped: {reason}{where}"
        log.error("%s: %s", self.feed_name, message)
        if self._feed is not None:
            self._feed.recording_stopped = message
        self._report(message)


def replay(recorder: Recorder, url: str) -> int:
    """Push every packet of a file (or any URL) through `recorder` as fast as it demuxes,
    as a source would: one connection of video, sound and KLV. Returns the packets given.
    For tests, and for benchmarks of what recording costs a feed without its decoding."""
    with av.open(url) as container:
        streams: list[Any] = [*container.streams.video[:1], *container.streams.audio[:1]]
        streams += [d for d in container.streams.data if d.name == "klv"]
        recorder.begin(streams)
        given = 0
        for packet in container.demux(streams):
            if packet.size:
                recorder.put(packet)
                given += 1
        recorder.end()
    return given
