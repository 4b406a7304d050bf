"""One feed published into the room's Janus and forwarded to several subscribers, run inside
a network namespace the test made (tests/app/room/test_fanout.py): Janus gathers no ICE
candidates on loopback and aiortc ignores 127.0.0.1, so the namespace has a veth pair with
addresses that exist only inside it.

`python -m tests.room_fanout FOLDER SUBSCRIBERS FRAMES` prints one JSON line once every
subscriber has decoded FRAMES frames, or after 30 s: the frames each decoded, their sizes,
who Janus lists as publishing, and the Janus status.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import sys
from pathlib import Path

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

from app.room.janus_api import JanusSession
from app.room.janus_config import JanusSettings
from app.room.janus_process import JanusProcess
from app.room.videoroom import Room

WIDTH, HEIGHT = 320, 240
PULLS: list[asyncio.Future[None]] = []
"""The subscribers' frame readers, kept so none is collected while it runs."""


class Pattern(VideoStreamTrack):
    """30 fps of a picture that changes every frame."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self.count += 1
        picture = np.full((HEIGHT, WIDTH, 3), (self.count * 7) % 256, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts, frame.time_base = pts, fractions.Fraction(time_base)
        return frame


async def watch(
    pc: RTCPeerConnection, counts: list[int], sizes: set[tuple[int, int]], i: int
) -> None:
    @pc.on("track")
    def on_track(track: object) -> None:
        async def pull() -> None:
            while True:
                try:
                    frame = await track.recv()  # type: ignore[attr-defined]
                except MediaStreamError:
                    return  # the connection closed
                counts[i] += 1
                sizes.add((frame.width, frame.height))

        PULLS.append(asyncio.ensure_future(pull()))


async def main(folder: Path, subscribers: int, wanted: int) -> dict[str, object]:
    janus = JanusProcess(
        folder / "janus", JanusSettings(rtp_ports=(32000, 32200)), folder / "janus.log"
    )
    await janus.start()
    assert janus.files is not None
    peers: list[RTCPeerConnection] = []
    try:
        async with JanusSession(janus.files.api_url, janus.files.api_secret) as session:
            room = Room(session, 1, janus.files.admin_secret)
            await room.ensure()
            sender = RTCPeerConnection()
            peers.append(sender)
            sender.addTrack(Pattern())
            await sender.setLocalDescription(await sender.createOffer())
            publisher = await room.publish("Cam-1", sender.localDescription.sdp)
            await sender.setRemoteDescription(RTCSessionDescription(publisher.answer_sdp, "answer"))
            for _ in range(100):  # Janus offers a feed to subscribers once its media is up
                if any(p.get("id") == publisher.feed_id for p in await room.publishers()):
                    break
                await asyncio.sleep(0.1)
            counts = [0] * subscribers
            sizes: set[tuple[int, int]] = set()
            for i in range(subscribers):
                viewer = RTCPeerConnection()
                peers.append(viewer)
                await watch(viewer, counts, sizes, i)
                subscription = await room.subscribe(publisher.feed_id)
                await viewer.setRemoteDescription(
                    RTCSessionDescription(subscription.offer_sdp, "offer")
                )
                await viewer.setLocalDescription(await viewer.createAnswer())
                await subscription.start(viewer.localDescription.sdp)
            for _ in range(300):
                if min(counts) >= wanted:
                    break
                await asyncio.sleep(0.1)
            listed = await room.publishers()
            return {
                "frames": counts,
                "sizes": sorted(sizes),
                "publishers": [p.get("display") for p in listed],
                "janus": janus.status(),
            }
    finally:
        for pc in peers:
            await pc.close()
        await janus.stop()


if __name__ == "__main__":
    where, count, wanted = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(main(where, count, wanted))), flush=True)
