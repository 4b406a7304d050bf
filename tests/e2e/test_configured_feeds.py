"""Feeds from a config file, end to end: a good one goes live while broken ones beside it
fail or retry on their own tiles, and nobody else notices."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from media.testcard import TestCard
from tests.e2e.harness import RunningVigil


def write_clip(path: Path, seconds: float = 2, fps: int = 25) -> None:
    card = TestCard("FILE", 320, 240, (200, 120, 90))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast"}
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(card.render(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_good_feed_lives_beside_broken_ones(short_tmp: Path) -> None:
    """In: a looping local clip, a path that does not exist, and a UDP port nobody sends to.
    Out: the clip is live at its own pace; the missing path FAILED naming the path; the
    silent port is CONNECTING/RECONNECTING, never live; the clip keeps counting frames."""
    clip = short_tmp / "clip.mp4"
    write_clip(clip)
    config = short_tmp / "vigil.toml"
    config.write_text(
        f'[[feeds]]\nname = "Clip"\nurl = "{clip}"\nloop = true\n\n'
        f'[[feeds]]\nname = "Missing"\nurl = "{short_tmp}/no-such.mp4"\n\n'
        '[[feeds]]\nname = "Silent"\nkind = "drone"\nurl = "udp://127.0.0.1:9"\n'
    )
    wall = RunningVigil(short_tmp / "base", ["--config", config])
    try:

        def by_name(status: dict) -> dict:
            return {feed["name"]: feed for feed in status["feeds"]}

        first = by_name(
            wall.wait_for(
                lambda s: (
                    by_name(s)["Clip"]["state"] == "live"
                    and by_name(s)["Missing"]["state"] == "failed"
                )
            )
        )
        assert "no-such.mp4" in first["Missing"]["error"]
        assert first["Silent"]["state"] in ("connecting", "reconnecting")
        later = by_name(
            wall.wait_for(lambda s: by_name(s)["Clip"]["frames"] > first["Clip"]["frames"] + 50)
        )
        assert later["Clip"]["state"] == "live"
        assert (later["Clip"]["width"], later["Clip"]["height"]) == (320, 240)
        assert later["Clip"]["fps"] < 40, "a file plays at its own pace, not as fast as it decodes"
        assert later["Silent"]["state"] != "live"
    finally:
        code, _, err = wall.stop()
    assert code == 0, err
