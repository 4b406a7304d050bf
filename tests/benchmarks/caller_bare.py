"""The caller benchmark's baseline: the same phone stream into a bare aiortc RTCPeerConnection.

No Qt, no gateway, no feed: a plain asyncio loop with an aiohttp server on loopback
(plain HTTP: 127.0.0.1 is a secure context, so the page may open the camera) that serves
a page doing what the caller page's video half does (same camera constraints, preview,
send-only transceiver, non-trickle offer after ICE gathering) and answers its WHIP POST
with a default RTCPeerConnection, media offered on 127.0.0.1 as the gateway does. Its
answer goes through the gateway's own `with_start_bitrate` at the default
`GatewaySettings.video_start_kbps`, as the wall's does, so Chromium sends both the same
stream (720p from the first frame). The track's frames are received and discarded; only
the frame number is read from one row of the Y plane (no conversion), so its delay can be
set beside the wall's.

Files in the work folder, as with caller_wall.py: bare.json (the page's address),
`painted-0` at the first frame, `window-start`, `window-done`; it stops on `stop`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription

from app.callers.gateway.whip import with_start_bitrate
from app.config import GatewaySettings
from tests.benchmarks import caller_window, measure
from tests.benchmarks.caller_card import read_luma_number

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>bare receiver</title></head>
<body><video id="preview" muted playsinline autoplay></video>
<script>
"use strict";
async function start() {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: {facingMode: {ideal: "environment"}, width: {ideal: 1280}, height: {ideal: 720}},
    audio: false,
  });
  const track = stream.getVideoTracks()[0];
  const preview = document.getElementById("preview");
  preview.srcObject = stream;
  preview.play().catch(() => {});
  const pc = new RTCPeerConnection({iceServers: []});
  pc.addTransceiver(track, {direction: "sendonly", streams: [stream]});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const timer = setTimeout(resolve, 2000);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
    });
  });
  const response = await fetch("/whip", {method: "POST", body: pc.localDescription.sdp,
                                         headers: {"Content-Type": "application/sdp"}});
  await pc.setRemoteDescription({type: "answer", sdp: await response.text()});
}
</script></body></html>
"""


class Receiver:
    def __init__(self, workdir: Path, seconds: float, settle_s: float) -> None:
        self.workdir = workdir
        self.seconds = seconds
        self.settle_s = settle_s
        self.pcs: list[RTCPeerConnection] = []
        self.events: dict[str, float] = {}
        self.frames: list[tuple[int, float, int, int]] = []
        self.count = 0
        self.window: dict[str, Any] = {}
        self.codec: str | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.start_kbps = GatewaySettings().video_start_kbps
        """The gateway's own default: the phone's encoder starts where it does for the wall."""

    def event(self, name: str, when: float | None = None) -> None:
        self.events.setdefault(name, time.monotonic() if when is None else when)

    async def page(self, _request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def whip(self, request: web.Request) -> web.Response:
        self.event("whip_in")
        pc = RTCPeerConnection()
        self.pcs.append(pc)

        def track(track: Any) -> None:
            if track.kind == "video":
                task = asyncio.ensure_future(self.receive(track))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

        def ice() -> None:
            self.event(f"ice_{pc.iceConnectionState}")

        def connection() -> None:
            self.event(f"pc_{pc.connectionState}")

        pc.on("track", track)
        pc.on("iceconnectionstatechange", ice)
        pc.on("connectionstatechange", connection)

        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        sdp = pc.localDescription.sdp
        if self.start_kbps:  # as WhipSession.answer does
            sdp = with_start_bitrate(sdp, self.start_kbps)
        video = next((line for line in sdp.splitlines() if line.startswith("a=rtpmap:")), "")
        self.codec = video.split(" ", 1)[-1].split("/")[0].lower() or None
        self.event("whip_out")
        return web.Response(status=201, text=sdp, content_type="application/sdp")

    async def receive(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:  # the track ended
                return
            now = time.monotonic()
            if not isinstance(frame, av.VideoFrame):
                continue
            self.count += 1
            if self.count == 1:
                self.event("first_decoded", now)
                (self.workdir / "painted-0").touch()
                asyncio.get_event_loop().call_later(self.settle_s, self.start_window)
            if "end" not in self.window:
                plane = frame.planes[0]
                luma = np.frombuffer(memoryview(plane), np.uint8).reshape(
                    frame.height, plane.line_size
                )
                number = read_luma_number(luma, frame.width, frame.height)
                self.frames.append((number, now, frame.width, frame.height))

    def start_window(self) -> None:
        self.window.update(caller_window.opened(), count=self.count)
        (self.workdir / "window-start").touch()
        asyncio.get_event_loop().call_later(self.seconds, self.end_window)

    def end_window(self) -> None:
        self.window.update(caller_window.closed(), count_end=self.count)
        (self.workdir / "window-done").touch()


async def serve(args: argparse.Namespace) -> dict[str, Any]:
    from app.callers.gateway.ice import offer_addresses
    from tests.servers import free_port

    offer_addresses(["127.0.0.1"])  # as the gateway does: media on loopback only
    workdir = Path(args.workdir)
    receiver = Receiver(workdir, args.seconds, args.settle)
    app = web.Application()
    app.router.add_get("/", receiver.page)
    app.router.add_post("/whip", receiver.whip)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    (workdir / "bare.json.part").write_text(json.dumps({"url": f"http://127.0.0.1:{port}/"}))
    os.replace(workdir / "bare.json.part", workdir / "bare.json")
    while not (workdir / "stop").exists():
        await asyncio.sleep(0.05)
    for pc in receiver.pcs:
        await pc.close()
    await runner.cleanup()
    result: dict[str, Any] = {
        "events": receiver.events,
        "codec": receiver.codec,
        "start_kbps": receiver.start_kbps,
    }
    window = receiver.window
    if "end" in window:
        result["stream"] = {
            **caller_window.figures(window),
            "frames": window["count_end"] - window["count"],
            "received": [list(f) for f in receiver.frames],
        }
    result["peak_rss_mb"] = measure.peak_rss_mb()
    return result


def main() -> None:
    args = caller_window.arguments().parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = asyncio.run(serve(args))
    (Path(args.workdir) / "bare-result.json").write_text(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
