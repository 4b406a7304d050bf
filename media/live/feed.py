"""What a feed is: its identity and kind, its connection state, and where its pictures land.

A `Feed` is the model the wall's tiles show. Its source (a decode thread) writes to it; the
GUI reads from it at display rate. Reads and writes are of whole immutable values or go
through the slot's lock, so no reader ever sees half an update.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from media.live.audio import AudioTap
from media.live.slot import FrameSlot
from media.live.stats import FeedStats
from media.telemetry import DroneTelemetry, KlvStats

if TYPE_CHECKING:
    import av
    import av.stream

STALL_AFTER_S = 2.0
"""A live feed that delivers no frame for this long is shown as stalled."""


class FeedKind(enum.StrEnum):
    CALLER = "caller"
    BODYCAM = "bodycam"
    OFFICER = "officer"
    DRONE = "drone"
    CAMERA = "camera"


class FeedState(enum.StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    FAILED = "failed"


class Decoding(enum.StrEnum):
    """How much of a feed's video its source decodes. Packets always flow to the recorder
    and telemetry is always read, whatever is decoded."""

    ALL = "all"
    """Every frame: the feed is on view."""
    KEY_FRAMES = "key frames"
    """Key frames only: a picture now and then for a feed nobody looks at closely."""
    NONE = "none"
    """No picture at all: nobody here needs one (a room server records and forwards)."""


class StreamRole(enum.StrEnum):
    """Which of a camera's streams a feed's pictures come from."""

    MAIN = "main"
    """The camera's full stream: always the one recorded."""
    SUB = "sub"
    """Its smaller sub-stream (`FeedSpec.substream_url`), for tiles it still fills."""


class RtspTransport(enum.StrEnum):
    TCP = "tcp"
    UDP = "udp"


@dataclass(frozen=True)
class FeedSpec:
    """How to reach a feed. `url` never holds a password; `password` is kept out of repr."""

    name: str
    kind: FeedKind
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    rtsp_transport: RtspTransport = RtspTransport.TCP
    loop: bool = False
    """Replay a local file from the start when it ends (demo and test material)."""
    incident: str | None = None
    """The incident reference the feed was opened for (callers), shown on its tile."""
    substream_url: str | None = None
    """The same camera's smaller stream, for tiles it still fills (same credentials as
    `url`); the main stream is the one recorded. See media/live/substream.py."""


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    accuracy_m: float | None
    at: float
    """Unix time of the fix."""
    heading_deg: float | None = None
    """Direction of travel (callers) or of the nose (drones), degrees from true north."""
    speed_mps: float | None = None


@dataclass(frozen=True)
class Connection:
    """The source's own view of the link, replaced whole on every change."""

    state: FeedState
    error: str | None = None
    next_attempt_at: float | None = None
    """Monotonic time of the next reconnect attempt, while reconnecting."""


class PacketSink(Protocol):
    """Takes a feed's packets as demuxed, before decoding (the recorder). Called on the
    decode thread: each call must return at once and never raise."""

    def begin(self, streams: Sequence[av.stream.Stream]) -> None:
        """A new connection (a new container): its packets of these streams follow."""

    def put(self, packet: av.Packet[Any]) -> None: ...

    def end(self) -> None:
        """The connection ended."""


_ids = itertools.count(1)


class Feed:
    """One live feed: identity, connection state, statistics, latest picture and audio."""

    def __init__(self, spec: FeedSpec, *, feed_id: str | None = None) -> None:
        self.id = feed_id or f"feed-{next(_ids)}"
        self.spec = spec
        self.slot = FrameSlot()
        self.stats = FeedStats()
        self.audio = AudioTap()
        self.location: Location | None = None
        self.telemetry: DroneTelemetry | None = None
        """The latest drone telemetry (MISB ST 0601 KLV in the stream), when it carries any."""
        self.klv: KlvStats | None = None
        """What the stream's KLV reader kept and dropped; None for feeds without KLV."""
        self.recording = False
        """Segments of this feed are being written now (its recorder keeps this true)."""
        self.recording_stopped: str | None = None
        """Why this feed's recording stopped for good (a full disk, a failed write), for the
        tile and the alerts; None while it records, or where it was never recorded."""
        self.packet_sink: PacketSink | None = None
        """Where the source hands each packet before decoding it: the feed's recorder."""
        self.packet_taps: tuple[PacketSink, ...] = ()
        """Others given each packet after the recorder (a room server's restream to its
        desks). Replaced whole, never changed in place: the source reads it per packet."""
        self.can_end = False
        """Whether the control room can end this feed from its tile (a caller's stream)."""
        self.picture_listener: Callable[[Feed], None] | None = None
        """Called on the decode thread after each new picture lands in the slot; it must
        only hand the news on (the wall rings a bell on its GUI thread), never block."""
        self.decoding = Decoding.ALL
        """How much video the source decodes; read by its thread at every packet, so a
        change takes effect at the next one (and pictures resume at the next key frame)."""
        self.stream = StreamRole.MAIN
        """The stream the pictures come from now (a feed with a sub-stream switches)."""
        self.substream_problem: str | None = None
        """Why the sub-stream is not used, in a few plain words (down, another codec or
        shape, not smaller than the main), for the tile and `vigil status`; None if fine."""
        self._connection = Connection(FeedState.CONNECTING)
        self._display_size = (0, 0)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> FeedKind:
        return self.spec.kind

    # -- connection state --------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        return self._connection

    def set_connection(self, connection: Connection) -> None:
        self._connection = connection

    def state(self, now: float | None = None) -> FeedState:
        """The state to show: a live feed without a frame for `STALL_AFTER_S` is stalled (or,
        where not every frame is decoded, without a packet)."""
        connection = self._connection
        if connection.state is FeedState.LIVE:
            age = self.quiet_s(now)
            if age is not None and age >= STALL_AFTER_S:
                return FeedState.STALLED
        return connection.state

    def quiet_s(self, now: float | None = None) -> float | None:
        """Seconds since the feed last showed it is alive: its last picture, or its last
        packet where not every frame is decoded (key frames come only now and then)."""
        if self.decoding is Decoding.ALL:
            return self.stats.last_frame_age(now)
        return self.stats.last_packet_age(now)

    # -- what the screen wants ---------------------------------------------------------

    @property
    def display_size(self) -> tuple[int, int]:
        """Device pixels the picture is shown at; (0, 0) while no tile shows it."""
        return self._display_size

    def set_display_size(self, width: int, height: int) -> None:
        # One tuple, assigned whole: the decode thread reads it without a lock.
        self._display_size = (max(0, width), max(0, height))

    def __repr__(self) -> str:
        return (
            f"Feed({self.id!r}, {self.name!r}, {self.kind.value}, {self._connection.state.value})"
        )
