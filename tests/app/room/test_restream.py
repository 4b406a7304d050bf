"""Each feed's restream to the desks (app/room/restream.py): packets as a source demuxes them,
muxed once into MPEG-TS and handed to every desk watching, a late desk starting at the last
key frame, a slow one skipped to the next. Real H.264 made by PyAV; real asyncio."""

from __future__ import annotations

import asyncio
import io
from fractions import Fraction

import av
import numpy as np
import pytest

import app.room.restream as restream_module
from app.room.restream import Restream

GOP = 10


def h264_stream(frames: int, *, size: tuple[int, int] = (160, 120)) -> bytes:
    """MPEG-TS of `frames` pictures of noise (big packets), a key frame every GOP."""
    out_buf = io.BytesIO()
    with av.open(out_buf, "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.codec_context.options = {"g": str(GOP), "preset": "ultrafast", "tune": "zerolatency"}
        rng = np.random.default_rng(7)
        for i in range(frames):
            picture = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return out_buf.getvalue()


def decoded(data: bytes) -> list[bool]:
    """Whether each picture a desk would decode from `data` was a key frame."""
    with av.open(io.BytesIO(data), format="mpegts") as container:
        return [frame.key_frame for frame in container.decode(video=0)]


async def drain(watcher: restream_module.Watcher, wait_s: float = 0.2) -> bytes:
    """What the desk has been sent: all of it, once nothing more comes within `wait_s`."""
    got = b""
    while True:
        try:
            chunk = await asyncio.wait_for(watcher.next(), wait_s)
        except TimeoutError:
            return got
        if not chunk:
            return got
        got += chunk


def test_every_desk_gets_whole_pictures_and_a_late_one_starts_at_the_last_key_frame() -> None:
    """In: 45 pictures, a key frame every 10; desk A watching from the start; desk B
    starting after 25 (mid group of pictures); then the feed removed.
    Out: A decodes all 45, the first a key frame; B decodes the pictures from the key
    frame at 20 on (25 of them), its first a key frame; both streams end when
    the feed is removed."""

    async def scenario() -> tuple[list[bool], list[bool], bytes]:
        data = h264_stream(45)
        restream = Restream("Cam-1", asyncio.get_running_loop())
        a = restream.watch()
        container = av.open(io.BytesIO(data), format="mpegts")
        video = container.streams.video[0]
        packets = [p for p in container.demux(video) if p.size]
        await asyncio.to_thread(restream.begin, [video])
        for packet in packets[:25]:
            restream.put(packet)
        await asyncio.sleep(0.05)
        b = restream.watch()
        for packet in packets[25:]:
            restream.put(packet)
        await asyncio.sleep(0.05)
        got_a, got_b = await drain(a), await drain(b)
        restream.close()
        return decoded(got_a), decoded(got_b), await a.next()

    seen_a, seen_b, after = asyncio.run(scenario())
    assert len(seen_a) == 45
    assert seen_a[0]
    assert len(seen_b) == 25
    assert seen_b[0]
    assert after == b""


def test_a_desk_that_falls_behind_is_moved_on_to_the_next_key_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In: 50 pictures of noise, a key frame every 10, and a queue limit of a third of
    them; a desk that reads nothing while the first 40 go by, then reads, then the next
    10; a desk reading as they come.
    Out: the slow desk was skipped at least once and never held more than the limit; what
    it reads after begins at a key frame and decodes; the other desk got all 50."""
    data = h264_stream(50)
    limit = len(data) // 3
    monkeypatch.setattr(restream_module, "MAX_QUEUED_BYTES", limit)

    async def scenario() -> tuple[int, int, list[bool], list[bool]]:
        restream = Restream("Cam-1", asyncio.get_running_loop())
        slow, steady = restream.watch(), restream.watch()
        container = av.open(io.BytesIO(data), format="mpegts")
        video = container.streams.video[0]
        packets = [p for p in container.demux(video) if p.size]
        got_steady = b""
        restream.begin([video])
        for number, packet in enumerate(packets):
            restream.put(packet)
            await asyncio.sleep(0)
            got_steady += await drain(steady, 0.001)
            if number == 39:
                held = len(await drain(slow, 0.001))
                skipped = slow.skipped
        late = await drain(slow)
        return skipped, held, decoded(late), decoded(got_steady)

    skipped, held, late, steady = asyncio.run(scenario())
    assert skipped >= 1
    assert held <= limit
    assert late
    assert late[0]
    assert len(steady) == 50
