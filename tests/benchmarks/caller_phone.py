"""The caller benchmark's phone: headless Chromium (as tests/phone.py drives it) playing the
numbered .y4m card as its camera, in its own process (Playwright's sync API must not share
the wall's Qt/asyncio loop).

A script injected before the page's own (`add_init_script`) watches from inside the page:

- the Agree tap's own event time, getUserMedia, the peer connection's ICE gathering and
  connection, and the WHIP request (fetch) going out and its answer coming back;
- the start bitrate the answer gives the encoder (`x-google-start-bitrate`), if any;
- every camera frame the page previews (`requestVideoFrameCallback` on `#preview`): the
  frame number read from its barcode strip (drawn small into a canvas, the middle row of
  the strip sampled as `read_frame_number` does) and the frame's `captureTime`, when the
  fake camera produced it (else its `expectedDisplayTime`).

Page times are on the page's `performance.now()` clock; each page's offset to this
machine's monotonic clock is measured by round trips (the shortest of 15 wins), so every
figure lands on the clock the wall process uses.

    python -m tests.benchmarks.caller_phone --workdir DIR --card FILE --mode vigil|bare
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from tests.phone import CHROMIUM, chromium_args, phone

WATCH_JS = r"""
(() => {
  const bench = { marks: {}, frames: [], clock: "", pcs: 0, hooked: false, answer_kbps: null };
  window.__bench = bench;
  const mark = (name, at) => {
    if (!(name in bench.marks)) bench.marks[name] = at === undefined ? performance.now() : at;
  };
  document.addEventListener("click", (event) => {
    const id = event.target && event.target.id;
    if (id) mark("click_" + id, event.timeStamp);
  }, true);
  const devices = navigator.mediaDevices;
  if (devices && devices.getUserMedia) {
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      mark("gum_start");
      const stream = await getUserMedia(constraints);
      mark("gum_done");
      return stream;
    };
  }
  const fetchNative = window.fetch.bind(window);
  window.fetch = async (url, init) => {
    const whip = String(url).endsWith("/whip") && init && init.method === "POST";
    if (whip) mark("whip_sent");
    const response = await fetchNative(url, init);
    if (whip) mark("whip_answered");
    return response;
  };
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    setRemoteDescription(description) {
      if (description && description.type === "answer" && description.sdp) {
        const start = /x-google-start-bitrate=(\d+)/.exec(description.sdp);
        bench.answer_kbps = start ? Number(start[1]) : null;
      }
      return super.setRemoteDescription(description);
    }
    constructor(...args) {
      super(...args);
      bench.pc = this;
      bench.pcs += 1;
      mark("pc_created");
      this.addEventListener("icegatheringstatechange", () => {
        if (this.iceGatheringState === "complete") mark("gathering_complete");
      });
      this.addEventListener("iceconnectionstatechange", () => {
        mark("ice_" + this.iceConnectionState);
      });
      this.addEventListener("connectionstatechange", () => {
        mark("pc_" + this.connectionState);
      });
    }
  };
  const canvas = document.createElement("canvas");
  canvas.width = 256;
  canvas.height = 4;
  let context = null;
  function onFrame(now, meta) {
    const video = document.getElementById("preview");
    if (!video) return;
    const bar = Math.max(4, Math.round(meta.height / 24));
    context.drawImage(video, 0, meta.height - bar, meta.width, bar, 0, 0, 256, 4);
    const row = context.getImageData(0, 2, 256, 1).data;
    let number = 0;
    for (let bit = 0; bit < 16; bit += 1) {
      const x = Math.floor((bit + 0.5) * 16) * 4;
      number = (number << 1) | ((row[x] + row[x + 1] + row[x + 2]) / 3 > 127 ? 1 : 0);
    }
    const captured = meta.captureTime !== undefined && meta.captureTime > 0;
    if (!bench.clock) bench.clock = captured ? "captureTime" : "expectedDisplayTime";
    bench.frames.push([number, captured ? meta.captureTime : meta.expectedDisplayTime,
                       meta.width, meta.height]);
    video.requestVideoFrameCallback(onFrame);
  }
  setInterval(() => {
    const video = document.getElementById("preview");
    if (bench.hooked || !video || !video.srcObject) return;
    if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
    bench.hooked = true;
    context = canvas.getContext("2d", { willReadFrequently: true });
    video.requestVideoFrameCallback(onFrame);
  }, 10);
})();
"""

SENDER_STATS_JS = """
async () => {
  const pc = window.__bench && window.__bench.pc;
  if (!pc) return null;
  const out = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video") out.outbound = s;
    if (s.type === "media-source" && s.kind === "video") out.source = s;
    if (s.type === "remote-inbound-rtp" && s.kind === "video") out.remote = s;
    if (s.type === "codec" && (s.mimeType || "").startsWith("video/")) out.codec = s.mimeType;
  });
  return JSON.parse(JSON.stringify(out));
}
"""


def calibrate(page: Any, tries: int = 15) -> dict[str, float]:
    """Offset from the page's performance.now() (ms) to this machine's monotonic clock
    (s): monotonic = now / 1000 + offset, within +- rtt / 2."""
    best: tuple[float, float] | None = None
    for _ in range(tries):
        before = time.monotonic()
        page_now = page.evaluate("performance.now()")
        after = time.monotonic()
        if best is None or after - before < best[0]:
            best = (after - before, (before + after) / 2 - page_now / 1000)
    assert best is not None
    return {"offset_s": best[1], "rtt_s": best[0]}


def wait_for(path: Path, timeout_s: float, poll_s: float = 0.005) -> float | None:
    """Monotonic time `path` was seen (polled every `poll_s`), or None at the time-out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return time.monotonic()
        time.sleep(poll_s)
    return None


def chromium_cpu_s() -> float:
    """CPU seconds of this process's descendants (Playwright's driver and Chromium)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(name)] = int(fields[1])
        cpu[int(name)] = (int(fields[11]) + int(fields[12])) / tick
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    mine.discard(os.getpid())
    return sum(cpu.get(pid, 0.0) for pid in mine)


def page_record(page: Any, clock: dict[str, float]) -> dict[str, Any]:
    bench = page.evaluate(
        "({marks: __bench.marks, clock: __bench.clock, pcs: __bench.pcs, frames: __bench.frames,"
        " answer_kbps: __bench.answer_kbps})"
    )
    return {
        "marks_ms": bench["marks"],
        "frame_clock": bench["clock"],
        "pcs": bench["pcs"],
        "answer_kbps": bench["answer_kbps"],
        "frames": bench["frames"],
        **clock,
    }


def stream(page: Any, workdir: Path, timeout_s: float) -> dict[str, Any]:
    """Wait out the measured window: Chromium's CPU and its sender's figures over it."""
    if wait_for(workdir / "window-start", timeout_s) is None:
        raise RuntimeError("the measured window never started")
    cpu_start = chromium_cpu_s()
    stats_start = page.evaluate(SENDER_STATS_JS)
    if wait_for(workdir / "window-done", timeout_s + 120, poll_s=0.05) is None:
        raise RuntimeError("the measured window never ended")
    cpu_end = chromium_cpu_s()
    stats_end = page.evaluate(SENDER_STATS_JS)
    return {
        "phone_cpu_s": cpu_end - cpu_start,
        "sender_start": stats_start,
        "sender_end": stats_end,
        "clock_end": calibrate(page),
    }


def run_vigil(browser: Any, workdir: Path, timeout_s: float) -> dict[str, Any]:
    urls = json.loads((workdir / "links.json").read_text())["urls"]
    trials = []
    for index, url in enumerate(urls):
        context = phone(browser)
        context.add_init_script(WATCH_JS)
        page = context.new_page()
        page.goto(url)
        clock = calibrate(page)
        page.click("#agree")
        painted = wait_for(workdir / f"painted-{index}", timeout_s)
        trial: dict[str, Any] = {"painted_seen": painted, "stream": None}
        if painted is not None and index == len(urls) - 1:
            trial["stream"] = stream(page, workdir, timeout_s)
        trial.update(page_record(page, clock))
        trial["state"] = page.evaluate("document.body.dataset.state")
        page.click("#end")
        page.wait_for_selector("body[data-state=ended]", timeout=10_000)
        context.close()
        trials.append(trial)
    return {"trials": trials}


def run_bare(browser: Any, workdir: Path, timeout_s: float) -> dict[str, Any]:
    url = json.loads((workdir / "bare.json").read_text())["url"]
    context = browser.new_context(permissions=["camera"])
    context.add_init_script(WATCH_JS)
    page = context.new_page()
    page.goto(url)
    clock = calibrate(page)
    page.evaluate("start()")
    painted = wait_for(workdir / "painted-0", timeout_s)
    trial: dict[str, Any] = {"painted_seen": painted, "stream": None}
    if painted is not None:
        trial["stream"] = stream(page, workdir, timeout_s)
    trial.update(page_record(page, clock))
    context.close()
    return {"trials": [trial]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--card", required=True)
    parser.add_argument("--mode", choices=("vigil", "bare"), required=True)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=chromium_args(Path(args.card))
        )
        try:
            run = run_vigil if args.mode == "vigil" else run_bare
            result = run(browser, workdir, args.timeout)
            result["chromium"] = browser.version
        finally:
            browser.close()
    (workdir / f"phone-{args.mode}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
