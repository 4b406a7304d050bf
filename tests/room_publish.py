"""The room server publishing the feeds it pulls into its Janus, run inside a network
namespace the test made (tests/netns.py): `RoomServer` with its managed Janus, pulling
looping H.264 clips as a drone's and a camera's feeds, and aiortc subscribers through
Room.subscribe.

`python -m tests.room_publish FOLDER SCENARIO` prints one JSON line of what it saw:

- `room`: a 320x240 30 fps H.264 clip (a key frame a second, 3 s long, so its source
  reconnects every 3 s) as a drone's and an officer's feeds, and an MPEG-4 Part 2 camera
  clip. Says how soon after start both were published, who Janus lists, the feeds' status;
  how soon after the officer's feed is removed Janus lists it no more; what a subscriber of
  the drone decoded (frames, sizes) across the source's reconnections; then Janus is killed
  (SIGKILL): how soon the drone was published again and a new subscriber decoded a picture;
  and the server's CPU with the drone published and, at the end, unpublished.
- `bench N SECONDS`: N feeds of a 1280x720 30 fps clip (about 2.5 Mbit/s, a key frame every
  2 s), published with no subscriber; the server's CPU over SECONDS published, then over
  SECONDS with every feed unpublished (the pulling, recording and restreaming go on), and
  the difference per feed: what publishing costs the server (aiortc's RTP packetisation,
  SRTP and the event loop's share).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from app.config import load
from app.paths import BaseDir
from app.room.server import RoomServer
from media.testcard import TestCard

API_PORT = 8444
H264 = ("Drone-1", "Officer-1")
PULLS: list[asyncio.Future[None]] = []


def write_clip(
    path: Path,
    *,
    codec: str = "libx264",
    size: tuple[int, int] = (320, 240),
    seconds: float = 3,
    fps: int = 30,
    gop: int = 30,
    bitrate: int | None = None,
) -> None:
    """A clip of TestCard pictures, a key frame every `gop` frames."""
    width, height = size
    card = TestCard("PUB", width, height, (90, 160, 210))
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            options = {"preset": "ultrafast", "keyint": str(gop), "min-keyint": str(gop)}
            if bitrate:
                stream.codec_context.bit_rate = bitrate
            stream.codec_context.options = options
        base = card.render(0)
        for i in range(int(seconds * fps)):
            picture = base if size[0] > 640 else card.render(i)
            if size[0] > 640:  # a moving band and noise: a real bitrate without drawing
                picture = picture.copy()
                band = (i * 16) % (height - 40)
                picture[band : band + 40] = 255 - picture[band : band + 40]
                noise = np.random.default_rng(i).integers(0, 24, (height, width, 1), np.uint8)
                picture = picture + noise
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def write_config(folder: Path, feeds: list[tuple[str, str, Path]]) -> Path:
    config = folder / "vigil.toml"
    text = "".join(
        f'[[feeds]]\nname = "{name}"\nkind = "{kind}"\nurl = "{path}"\nloop = true\n\n'
        for name, kind, path in feeds
    )
    config.write_text(
        text + f'[server]\nlisten = "127.0.0.1:{API_PORT}"\n\n'
        '[sfu]\napi_port = 8088\nadmin_port = 7088\nrtp_ports = "35000-35400"\n\n'
        "[recording]\nsegment_seconds = 2\n"
    )
    return config


async def until(check: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(step)


def feed_status(server: RoomServer, name: str) -> dict[str, Any]:
    return next(f for f in server.status()["feeds"] if f["name"] == name)


async def listed(server: RoomServer) -> list[str]:
    if server.room is None:
        return []
    try:
        return sorted(str(p.get("display")) for p in await server.room.publishers())
    except Exception as exc:  # Janus down: say so rather than fail the run
        return [f"error: {exc}"]


class Viewer:
    """An aiortc subscriber of one feed in the room: counts the frames it decodes."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames = 0
        self.sizes: set[tuple[int, int]] = set()
        self.first_at: float | None = None

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            async def pull() -> None:
                while True:
                    try:
                        frame = await track.recv()
                    except MediaStreamError:
                        return
                    if self.first_at is None:
                        self.first_at = time.monotonic()
                    self.frames += 1
                    self.sizes.add((frame.width, frame.height))

            PULLS.append(asyncio.ensure_future(pull()))

    async def watch(self, server: RoomServer, name: str) -> None:
        assert server.room is not None
        feed_id = next(p["id"] for p in await server.room.publishers() if p.get("display") == name)
        subscription = await server.room.subscribe(int(feed_id))
        await self.pc.setRemoteDescription(RTCSessionDescription(subscription.offer_sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await subscription.start(self.pc.localDescription.sdp)


def cpu_s() -> float:
    """This process's CPU time so far, every thread (user + system)."""
    times = os.times()
    return times.user + times.system


async def cores_over(seconds: float) -> float:
    started, wall = cpu_s(), time.monotonic()
    await asyncio.sleep(seconds)
    return round((cpu_s() - started) / (time.monotonic() - wall), 4)


async def room(folder: Path) -> dict[str, Any]:
    drone, camera = folder / "drone.mp4", folder / "camera.mp4"
    write_clip(drone)
    write_clip(camera, codec="mpeg4")
    feeds = [
        ("Drone-1", "drone", drone),
        ("Officer-1", "officer", drone),
        ("Cam-2", "camera", camera),
    ]
    config = load(write_config(folder, feeds))
    server = RoomServer(config, BaseDir(folder / "base").ensure())
    out: dict[str, Any] = {}
    viewers: list[Viewer] = []
    started = time.monotonic()
    await server.start()
    try:
        published = await until(
            lambda: all(feed_status(server, n).get("sfu") == "published" for n in H264), 20
        )
        out["published_after_s"] = round(time.monotonic() - started, 2) if published else None
        await until(lambda: _lists(server, *H264), 10)
        out["publishers"] = await listed(server)
        out["status"] = {n: feed_status(server, n) for n in (*H264, "Cam-2")}

        officer = next(f for f in server.feeds.feeds if f.name == "Officer-1")
        removed = time.monotonic()
        server.feeds.remove(officer)
        gone = await until(lambda: _lists(server, "Drone-1", exactly=True), 10)
        out["removed"] = {
            "gone_after_s": round(time.monotonic() - removed, 2) if gone else None,
            "publishers": await listed(server),
        }
        cpu_published = await cores_over(3)  # before any subscriber decodes in this process

        viewer = Viewer()
        viewers.append(viewer)
        asked = time.monotonic()
        await viewer.watch(server, "Drone-1")
        await until(lambda: viewer.frames >= 150, 20)  # 5 s: across the clip's loops
        out["viewer"] = {
            "frames": viewer.frames,
            "sizes": sorted(viewer.sizes),
            "first_frame_s": round(viewer.first_at - asked, 2) if viewer.first_at else None,
        }
        drone_feed = next(f for f in server.feeds.feeds if f.name == "Drone-1")
        out["connects"] = drone_feed.stats.connects
        publisher = server.publishing.publishers[drone_feed.id]
        out["publications"] = publisher.publications

        janus = server.janus
        assert janus is not None
        assert janus.pid is not None
        killed = time.monotonic()
        os.kill(janus.pid, signal.SIGKILL)
        again = await until(
            lambda: (
                janus.restarts >= 1
                and publisher.publications >= 2
                and publisher.status() == "published"
            ),
            20,
        )
        out["republished_after_s"] = round(time.monotonic() - killed, 2) if again else None
        await until(lambda: _lists(server, "Drone-1"), 10)
        out["publishers_after_restart"] = await listed(server)
        second = Viewer()
        viewers.append(second)
        await second.watch(server, "Drone-1")
        await until(lambda: second.frames >= 30, 15)
        out["second_viewer"] = {
            "frames": second.frames,
            "sizes": sorted(second.sizes),
            "first_frame_after_kill_s": round(second.first_at - killed, 2)
            if second.first_at
            else None,
        }
        out["janus_restarts"] = janus.restarts
        for v in viewers:
            await v.pc.close()
        viewers.clear()

        await server.publishing.close()  # every feed unpublished: the same server without it
        cpu_unpublished = await cores_over(3)
        out["cpu"] = {
            "published_cores": cpu_published,
            "unpublished_cores": cpu_unpublished,
            "per_feed_cores": round(cpu_published - cpu_unpublished, 4),
        }
        out["publishers_unpublished"] = await listed(server)
        out["final"] = feed_status(server, "Drone-1")
    finally:
        for v in viewers:
            await v.pc.close()
        await server.close()
    return out


def _lists(server: RoomServer, *names: str, exactly: bool = False) -> Any:
    async def check() -> bool:
        now = await listed(server)
        return now == sorted(names) if exactly else set(names) <= set(now)

    return check()


async def bench(folder: Path, count: int, seconds: float) -> dict[str, Any]:
    clip = folder / "720p.mp4"
    write_clip(clip, size=(1280, 720), seconds=4, gop=60, bitrate=2_500_000)
    with av.open(str(clip)) as container:
        kbps = round(container.bit_rate / 1000) if container.bit_rate else None
    names = [f"Cam-{i + 1}" for i in range(count)]
    config = load(write_config(folder, [(n, "camera", clip) for n in names]))
    server = RoomServer(config, BaseDir(folder / "base").ensure())
    await server.start()
    try:
        ready = await until(
            lambda: all(feed_status(server, n).get("sfu") == "published" for n in names), 30
        )
        await asyncio.sleep(2)
        published = await cores_over(seconds)
        janus_pid = server.janus.pid if server.janus else None
        sent = {
            n: (p.frames_sent, p.dropped + (p._track.dropped if p._track else 0))
            for n, p in _by_name(server).items()
        }
        await server.publishing.close()
        await asyncio.sleep(1)
        unpublished = await cores_over(seconds)
        frames = [feed_status(server, n)["frames"] for n in names]
    finally:
        await server.close()
    return {
        "feeds": count,
        "clip": {"size": "1280x720", "fps": 30, "kbps": kbps},
        "all_published": bool(ready),
        "seconds": seconds,
        "published_cores": published,
        "unpublished_cores": unpublished,
        "per_feed_cores": round((published - unpublished) / count, 4),
        "frames_sent": sent,
        "frames_decoded_by_server": frames,
        "janus_pid": janus_pid,
    }


def _by_name(server: RoomServer) -> dict[str, Any]:
    return {p.name: p for p in server.publishing.publishers.values()}


if __name__ == "__main__":
    where, scenario = Path(sys.argv[1]), sys.argv[2]
    if scenario == "room":
        result = asyncio.run(room(where))
    else:
        result = asyncio.run(bench(where, int(sys.argv[3]), float(sys.argv[4])))
    print(json.dumps(result), flush=True)
