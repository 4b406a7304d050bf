"""A caller's video as Janus forwards it: plain RTP to a loopback port, read by FFmpeg.

The room server records a caller from what the SFU already has, not from a WebRTC peer of
its own: Janus's VideoRoom `rtp_forward` sends the publisher's video, still the phone's own
H.264, as plain RTP to a UDP port on 127.0.0.1, and the caller's feed source (a PyAV
`FeedSource`, media/live/source.py) opens an SDP file describing that port, as it opens any
URL. Its packets then go to the feed's recorder unchanged, as every packet feed's do: no
decode, no re-encode, no SRTP or jitter buffer in Python.

`RtpForward` is the source's `Relay` (media/live/relay.py): `local_url` is the SDP file,
`open_options` lets FFmpeg read files, UDP and RTP and nothing else. Each time the source
opens (the first time, and after any stall) it asks the phone for a key frame through Janus
(`keyframe`, thread-safe), so a segment can begin at once rather than at the phone's next
key frame, which a WebRTC encoder sends only when asked. No Qt here.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from pathlib import Path

LOOPBACK = "127.0.0.1"
PAYLOAD_TYPE = 96
"""The payload type Janus rewrites the forwarded packets to, and the SDP file names."""
SOCKET_BUFFER_BYTES = 2 * 1024 * 1024
"""The receiving socket's buffer: a 1080p key frame from a phone is some 200 kB in a burst."""
OPEN_OPTIONS = {
    "protocol_whitelist": "file,udp,rtp",
    "buffer_size": str(SOCKET_BUFFER_BYTES),
    "analyzeduration": "500000",
    "probesize": "1000000",
    "fflags": "nobuffer",
    "flags": "low_delay",
}
"""FFmpeg reads the SDP file, then RTP over UDP; nothing else may be opened from it. It
probes as briefly as any live feed does (media/live/opening.py's options, which these
replace, rather than FFmpeg's own 5 s of analysis)."""


def free_port_pair(host: str = LOOPBACK) -> int:
    """An even UDP port on `host` that is free with the one after it (FFmpeg binds RTP on
    the port and RTCP on the next), as the kernel has them now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1]) & ~1
        if port < 1024:
            continue
        with contextlib.ExitStack() as held:
            try:
                for candidate in (port, port + 1):
                    sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    sock.bind((host, candidate))
            except OSError:
                continue
            return port
    raise OSError("no free pair of UDP ports on loopback")


def sdp_for(port: int, codec: str = "H264", payload_type: int = PAYLOAD_TYPE) -> str:
    """The session description of one H.264 (or other) RTP stream arriving on `port` of
    loopback, from loopback only (RFC 4570's source filter, which FFmpeg applies)."""
    fmtp = f"a=fmtp:{payload_type} packetization-mode=1\n" if codec.upper() == "H264" else ""
    return (
        "v=0\n"
        f"o=- 0 0 IN IP4 {LOOPBACK}\n"
        "s=vigil caller forwarded by Janus\n"
        f"c=IN IP4 {LOOPBACK}\n"
        "t=0 0\n"
        f"m=video {port} RTP/AVP {payload_type}\n"
        f"a=rtpmap:{payload_type} {codec}/90000\n"
        f"{fmtp}"
        f"a=source-filter: incl IN IP4 * {LOOPBACK}\n"
        "a=recvonly\n"
    )


class RtpForward:
    """One caller's forwarded video as a feed source's relay: the SDP file at `path`
    describing `port`. `keyframe` is called (from the source's thread) whenever the source
    opens, to ask the phone for a key frame; it must return at once."""

    def __init__(
        self, path: Path, port: int, *, keyframe: Callable[[], None], codec: str = "H264"
    ) -> None:
        self.path = path
        self.port = port
        self.codec = codec
        self.fatal: str | None = None
        self._keyframe = keyframe
        self.opens = 0

    @property
    def local_url(self) -> str:
        return str(self.path)

    def open_options(self) -> dict[str, str] | None:
        self.opens += 1
        self._keyframe()
        return dict(OPEN_OPTIONS)

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(sdp_for(self.port, self.codec))

    def stop(self, timeout_s: float = 0.0) -> None:
        self.path.unlink(missing_ok=True)

    def explain(self, error: str) -> str:
        return f"no video from the phone through the room's Janus ({error})"
