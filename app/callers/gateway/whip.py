"""One WHIP session (RFC 9725): a phone's SDP offer in, our answer out, its video track on.

The phone sends, we only receive. aiortc settles codecs inside `setRemoteDescription`, so
the preferred codec is set on a receive-only transceiver made before the offer is read;
the other codecs the phone offers stay acceptable after it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription

from app.callers.gateway.limits import RefusedError

log = logging.getLogger(__name__)

CODECS = ("video/VP8", "video/H264")


class WhipSession:
    """A phone's peer connection. `on_track` gets its video track; `on_state` each change
    of the connection's state ("connected", "disconnected", "failed", "closed")."""

    def __init__(
        self,
        *,
        ice_servers: Sequence[RTCIceServer] = (),
        preferred_codec: str | None = None,
        start_kbps: int | None = None,
        on_track: Callable[[MediaStreamTrack], None],
        on_state: Callable[[str], None],
    ) -> None:
        self.id = secrets.token_urlsafe(12)
        self.codec: str | None = None
        self._preferred = preferred_codec
        self._start_kbps = start_kbps
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        self._on_state = on_state

        @self._pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                on_track(track)
            # Callers share no sound (the 999 call carries their voice); anything else
            # offered is left unread.

        @self._pc.on("connectionstatechange")
        def _state() -> None:
            on_state(self._pc.connectionState)

    async def answer(self, offer_sdp: str) -> str:
        """Our SDP answer to the phone's offer, with our candidates in it (no trickle)."""
        try:
            check_offer(offer_sdp)
        except RefusedError:
            await self.close()
            raise
        if self._preferred is not None:
            transceiver = self._pc.addTransceiver("video", direction="recvonly")
            capabilities = RTCRtpReceiver.getCapabilities("video")
            codecs = capabilities.codecs if capabilities else []
            first = [c for c in codecs if c.mimeType.lower() == self._preferred.lower()]
            transceiver.setCodecPreferences(first + [c for c in codecs if c not in first])
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await self._pc.setLocalDescription(await self._pc.createAnswer())
        except (ValueError, OperationError, InvalidAccessError, InvalidStateError) as exc:
            await self.close()
            raise RefusedError(400, f"cannot answer this offer: {exc}") from None
        answer = self._pc.localDescription.sdp
        self.codec = _video_codec(answer)
        return with_start_bitrate(answer, self._start_kbps) if self._start_kbps else answer

    async def bytes_received(self) -> int:
        """Bytes received so far on the session's transport (media with its RTP, RTCP and
        encryption overhead: aiortc counts bytes per transport, not per stream)."""
        report = await self._pc.getStats()
        return sum(
            int(getattr(stats, "bytesReceived", 0) or 0)
            for stats in report.values()
            if getattr(stats, "type", None) == "transport"
        )

    async def close(self) -> None:
        await self._pc.close()


def check_offer(offer_sdp: str) -> SessionDescription:
    """The phone's offer, parsed; RefusedError 400 when it is not SDP or has no video (so
    nothing malformed reaches aiortc, nor the room's Janus)."""
    try:
        parsed = SessionDescription.parse(offer_sdp)
    # aiortc's parser asserts on some malformed lines (a bare "m=video")
    except (ValueError, IndexError, KeyError, AssertionError) as exc:
        why = str(exc) or type(exc).__name__
        raise RefusedError(400, f"the offer is not SDP: {why}") from None
    kinds = [media.kind for media in parsed.media]
    if "video" not in kinds:
        raise RefusedError(400, f"the offer has no video (only {kinds or 'nothing'})")
    return parsed


def with_start_bitrate(sdp: str, kbps: int) -> str:
    """The answer with a start bitrate for the phone's encoder on every video format.

    Chromium starts its bandwidth estimate at 300 kbit/s and aiortc's receiver reports
    raise it only about 8 % a second, so without this a caller arrives at 360p and reaches
    540p after some 20 s (measured: tests/benchmarks/bench_caller.py). `x-google-start-
    bitrate` is libwebrtc's own parameter (Chrome, Safari, Android WebView); others ignore
    it. Formats without an fmtp line get one."""
    lines = sdp.split("\r\n")
    out: list[str] = []
    in_video = False
    for line in lines:
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        skip = "apt=" in line or "x-google-start-bitrate" in line  # rtx, or done already
        if in_video and line.startswith("a=fmtp:") and not skip:
            out.append(f"{line};x-google-start-bitrate={kbps}")
        else:
            out.append(line)
        if in_video and line.startswith("a=rtpmap:") and not line.lower().endswith("/rtx/90000"):
            payload = line[len("a=rtpmap:") :].split(" ", 1)[0]
            if not any(x.startswith(f"a=fmtp:{payload} ") for x in lines):
                out.append(f"a=fmtp:{payload} x-google-start-bitrate={kbps}")
    return "\r\n".join(out)


def _video_codec(sdp: str) -> str | None:
    """The codec the answer settled on: the first of the video section's formats."""
    for media in SessionDescription.parse(sdp).media:
        if media.kind == "video" and media.rtp.codecs:
            return media.rtp.codecs[0].mimeType.split("/")[1].lower()
    return None
