"""Recording a WebRTC caller: the frames aiortc decodes, encoded once to H.264 for a Recorder.

A PyAV source hands its recorder the packets as they arrived; a caller's video reaches
Vigil only as frames aiortc has already decoded, so there is nothing to copy and the
evidence has to be encoded again. `CallerRecorder` takes every frame the WebRTC source
receives (media/live/webrtc.py `frame_sink`, before the wall's one-frame handoff, which drops
frames a busy screen cannot show), and its own thread (`encode-NAME`) encodes them with
libx264 into the same `Recorder` (media/recording/recorder.py) the other feeds use, so segments, the
ledger, recovery and export see one kind of recording.

How, and why:

- libx264, preset ultrafast, tune zerolatency, CRF 20, one encoder thread. The input is a
  phone's already-compressed stream (some 2 Mbit/s of VP8 or H.264), so what matters is
  fidelity to what arrived, not bits saved. Compared while choosing, on the caller
  benchmark's 720p card decoded from 2 Mbit/s VP8 (2-core machine): ultrafast at CRF 20
  kept 54 dB PSNR against its input for 4 ms of CPU a frame, veryfast at CRF 20 52 dB for
  14 ms. tests/benchmarks/bench_evidence.py measures the settings chosen: about 0.10 of a
  core per 720p30 caller. One thread: the cost stays on this thread, where it is counted
  (`stats().encode_cpu_s`), and one caller can never take more than a core.
- A key frame every 2 s, forced by the frames' time rather than counted in frames
  (phones vary their frame rate), so the recorder can cut segments at 2-4 s. Headers are
  repeated at each one (libx264 does when the muxer asks for no global header), so every
  segment plays alone.
- The caller's own size, down-scaled only above 720 lines (aspect kept, even sizes).
  A new picture size (Chromium adapts resolution to the bandwidth; a phone turns) or a
  new track starts a new encoder and a new recorder session, so a new segment.
- Timestamps are the sender's capture clock as aiortc gives them (RTP time from the
  track's start, 90 kHz), counted from the session's first frame; a frame without one
  gets its arrival time. A jump of more than 5 s from what the arrival times say (aiortc
  reads a reordered RTP timestamp as a wrap) is re-anchored on arrival. Frames whose time
  goes back are dropped and counted. Each packet carries its frame's arrival (Unix time)
  into the recorder, so segments' UTC times are when the pictures came, not when encoded.
- Recording never slows the wall: `put` runs on the event loop and only appends to a
  queue of at most `MAX_QUEUE_FRAMES` (1 s at 30 fps); when the encoder is behind, new
  frames are refused and counted (`frames_shed`) rather than waited for, so a slow
  machine records fewer frames per second, evenly, rather than a hole. The encode thread
  runs 5 steps nicer (media/niceness.py), so the wall's decoding wins a contested core.
- Only after consent: frames come only from a WHIP session, and app/callers/gateway/desk.py refuses
  the WHIP offer until the caller has agreed, and closes the session when they decline
  or withdraw. No sound: the caller page asks for none (resources/caller/caller.js,
  `audio: false`; the 999 call carries the voice) and app/callers/gateway/whip.py reads only
  the video track, so there is none to record.

No Qt here.
"""

from __future__ import annotations

import collections
import io
import logging
import threading
import time
from dataclasses import dataclass
from fractions import Fraction

import av
import av.container
import av.error
import av.video.frame
import av.video.stream

from media.niceness import lower_priority
from media.recording.recorder import Recorder

log = logging.getLogger(__name__)

ENCODER = "libx264"
TIME_BASE = Fraction(1, 90000)
"""The encoded stream's clock: RTP's video clock, and MPEG-TS's."""
MAX_QUEUE_FRAMES = 30
RESYNC_S = 5.0
RATE_HINT = 30
"""The frame rate x264's rate control assumes; timestamps are the frames' own."""


@dataclass(frozen=True)
class EncodeSettings:
    preset: str = "ultrafast"
    crf: int = 20
    key_frame_s: float = 2.0
    max_height: int = 720
    threads: int = 1
    nice: int = 5
    """Added to the encode thread's niceness (Linux: per thread)."""

    def options(self) -> dict[str, object]:
        return {
            "preset": self.preset,
            "tune": "zerolatency",
            "crf": str(self.crf),
            "threads": str(self.threads),
            "forced-idr": "1",  # a forced key frame is an IDR: a segment can start there
        }


@dataclass(frozen=True)
class CallerEncodeStats:
    frames_in: int
    """Frames the WebRTC source handed over."""
    frames_encoded: int
    frames_shed: int
    """Refused because the encoder was `MAX_QUEUE_FRAMES` behind."""
    frames_invalid: int
    """Dropped: their time went back, or the encoder refused them."""
    sessions: int
    """Encoder sessions begun: one per track and per picture size."""
    width: int
    height: int
    """Of the encoded picture (0 before the first frame)."""
    encoded_s: float
    """Seconds of video encoded, by the frames' timestamps."""
    encode_cpu_s: float
    """CPU time the encode thread has spent: scaling and x264, all of it."""
    queued: int
    last_error: str | None


def output_size(width: int, height: int, max_height: int) -> tuple[int, int]:
    """The caller's size, scaled down to `max_height` lines if taller, both even."""
    if height > max_height:
        width, height = round(width * max_height / height), max_height
    return max(2, width - width % 2), max(2, height - height % 2)


@dataclass(slots=True)
class _Frame:
    frame: av.VideoFrame
    arrived_at: float
    mono: float


@dataclass(slots=True)
class _Session:
    holder: av.container.OutputContainer
    """The never-written container that owns the encoder's stream."""
    stream: av.video.stream.VideoStream
    size: tuple[int, int]
    origin_source: int | None = None
    origin_mono: float = 0.0
    first_pts: int | None = None
    last_pts: int | None = None
    last_mono: float = 0.0
    last_key_pts: int | None = None
    last_arrival: float = 0.0


_BEGIN, _END, _STOP = "begin", "end", "stop"


class CallerRecorder:
    """Encodes one caller's frames into `recorder`. Give it to the feed's WebRtcSource as
    its `frame_sink`; `stop()` flushes the encoder, closes the open segment and ends both
    threads (this one's and the recorder's)."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        settings: EncodeSettings | None = None,
        max_queue_frames: int = MAX_QUEUE_FRAMES,
    ) -> None:
        self.recorder = recorder
        self.settings = settings or EncodeSettings()
        self._max_frames = max_queue_frames
        self._cond = threading.Condition()
        self._queue: collections.deque[_Frame | str] = collections.deque()
        self._frames_queued = 0
        self._closed = False
        self._shedding = False
        self._counts = collections.Counter[str]()
        self._size = (0, 0)
        self._encoded_s = 0.0
        self._closed_s = 0.0  # seconds encoded in sessions already closed
        self._cpu_s = 0.0
        self._error: str | None = None
        self._session: _Session | None = None  # the encode thread's own
        self._thread = threading.Thread(
            target=self._run, name=f"encode-{recorder.feed_name}", daemon=True
        )
        self._thread.start()

    # -- the event loop's side: returns at once, never raises -----------------------------

    def begin(self) -> None:
        self._enqueue(_BEGIN)

    def put(self, frame: av.VideoFrame, arrived_at: float) -> None:
        with self._cond:
            if self._closed:
                return
            self._counts["in"] += 1
            if self._frames_queued >= self._max_frames:
                self._counts["shed"] += 1
                if not self._shedding:
                    self._shedding = True
                    log.warning(
                        "%s: the encoder is %d frames behind; refusing frames until it catches up",
                        self.recorder.feed_name,
                        self._frames_queued,
                    )
                return
            self._shedding = False
            self._queue.append(_Frame(frame, arrived_at, time.monotonic()))
            self._frames_queued += 1
            self._cond.notify()

    def end(self) -> None:
        self._enqueue(_END)

    def _enqueue(self, mark: str) -> None:
        with self._cond:
            if self._closed:
                return
            self._queue.append(mark)
            self._cond.notify()

    # -- anyone's side ---------------------------------------------------------------------

    def stats(self) -> CallerEncodeStats:
        with self._cond:
            counts = self._counts
            return CallerEncodeStats(
                frames_in=counts["in"],
                frames_encoded=counts["encoded"],
                frames_shed=counts["shed"],
                frames_invalid=counts["invalid"],
                sessions=counts["sessions"],
                width=self._size[0],
                height=self._size[1],
                encoded_s=self._encoded_s,
                encode_cpu_s=self._cpu_s,
                queued=self._frames_queued,
                last_error=self._error,
            )

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Encode what is queued, close the open segment, end both threads; False if
        either is still running after `timeout_s` each (they are daemons)."""
        self._enqueue(_STOP)
        with self._cond:
            self._closed = True
        if self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        stopped = self.recorder.stop(timeout_s)
        return stopped and not self._thread.is_alive()

    # -- the encode thread -----------------------------------------------------------------

    def _run(self) -> None:
        lower_priority(self.settings.nice)
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                item = self._queue.popleft()
                if isinstance(item, _Frame):
                    self._frames_queued -= 1
            try:
                if isinstance(item, _Frame):
                    self._encode(item)
                elif item == _BEGIN:
                    self._close_session()
                else:
                    self._close_session()
                    self.recorder.end()
                    if item == _STOP:
                        return
            except Exception as exc:  # a bug or a refused frame: this session ends, not the feed
                log.exception("%s: could not encode", self.recorder.feed_name)
                with self._cond:
                    self._counts["invalid"] += 1
                    self._error = f"encoding failed: {exc}"
                self._session = None
            finally:
                with self._cond:
                    self._cpu_s = time.thread_time()

    def _encode(self, item: _Frame) -> None:
        frame = item.frame
        size = output_size(frame.width, frame.height, self.settings.max_height)
        session = self._session
        if session is None or session.size != size:
            session = self._open_session(size)
        pts = self._timestamp(session, item)
        if pts is None:
            with self._cond:
                self._counts["invalid"] += 1
            return
        # A new frame, whatever happens: aiortc's is also being shown by the wall's
        # thread, which reads its time, so it is never changed here.
        picture = frame.reformat(size[0], size[1], "nv12")
        if picture is frame:
            picture = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="nv12")
        picture.pts, picture.time_base = pts, TIME_BASE
        key_every = round(self.settings.key_frame_s * TIME_BASE.denominator)
        if session.last_key_pts is None or pts - session.last_key_pts >= key_every:
            picture.pict_type = av.video.frame.PictureType.I
            session.last_key_pts = pts
        session.last_arrival = item.arrived_at
        for packet in session.stream.encode(picture):
            self.recorder.put(packet, item.arrived_at)
        if session.first_pts is None:
            session.first_pts = pts
        span = (pts - session.first_pts) / TIME_BASE.denominator
        with self._cond:
            self._counts["encoded"] += 1
            self._encoded_s = self._closed_s + span

    def _timestamp(self, session: _Session, item: _Frame) -> int | None:
        """The frame's time on the session's clock, in TIME_BASE units; None if it goes
        back (see the module docstring)."""
        frame = item.frame
        source = (
            round(frame.pts * frame.time_base * TIME_BASE.denominator)
            if frame.pts is not None and frame.time_base is not None
            else None
        )
        if session.last_pts is None:  # the session's first frame is its zero
            session.origin_source, session.origin_mono = source, item.mono
            pts = 0
        else:
            by_arrival = session.last_pts + round(
                (item.mono - session.last_mono) * TIME_BASE.denominator
            )
            if source is None or session.origin_source is None:
                pts = by_arrival
            else:
                pts = source - session.origin_source
                if abs(pts - by_arrival) > RESYNC_S * TIME_BASE.denominator:
                    log.warning(
                        "%s: the caller's timestamps jumped %.1f s; following arrival times",
                        self.recorder.feed_name,
                        (pts - by_arrival) / TIME_BASE.denominator,
                    )
                    session.origin_source = source - by_arrival
                    pts = by_arrival
            if pts <= session.last_pts:
                return None
        session.last_pts, session.last_mono = pts, item.mono
        return pts

    def _open_session(self, size: tuple[int, int]) -> _Session:
        self._close_session()
        holder = av.open(io.BytesIO(), "w", format="mpegts")
        stream = holder.add_stream(ENCODER, rate=RATE_HINT)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "nv12"  # what x264 works in: the conversion is a cheap interleave
        stream.codec_context.time_base = TIME_BASE
        stream.options = self.settings.options()
        self.recorder.begin([stream])
        self._session = _Session(holder, stream, size)
        with self._cond:
            self._counts["sessions"] += 1
            self._size = size
        log.info(
            "%s: recording the caller at %dx%d (%s, CRF %d)",
            self.recorder.feed_name,
            size[0],
            size[1],
            self.settings.preset,
            self.settings.crf,
        )
        return self._session

    def _close_session(self) -> None:
        """Flush the encoder's last packets into the recorder; the next frame opens anew."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            for packet in session.stream.encode(None):
                self.recorder.put(packet, session.last_arrival)
        except av.error.FFmpegError as exc:
            log.warning("%s: the encoder's last packets lost: %s", self.recorder.feed_name, exc)
        if session.first_pts is not None and session.last_pts is not None:
            self._closed_s += (session.last_pts - session.first_pts) / TIME_BASE.denominator
