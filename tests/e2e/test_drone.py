"""A drone feed end to end: H.264 and MISB ST 0601 KLV in MPEG-TS over UDP on loopback, into
the real `vigil run --offscreen`, read back through `vigil status` only.

The sender is the demo's encoder (tests/servers.py `UdpTsSender` with an `Orbit`): the KLV
goes in a PyAV data stream (`add_data_stream("klv")`), a local set every fifth frame, each
stamped with the wall-clock time it was sent. A `RecordedOrbit` remembers which orbit time
went with which stamp, so a position in status can be checked against exactly what was sent.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import media.telemetry.klv
from media.demo import YORK, Orbit
from media.telemetry.geo import distance_m
from media.telemetry.klv import DroneTelemetry
from tests.e2e.harness import RunningVigil
from tests.servers import UdpTsSender, free_port

STARTUP_S = 45.0
"""From `vigil run` to the first frame: start-up, the first key frame, the demuxer's probe.
Generous for a busy two-core machine; the issue's 2 s is measured from the first frame."""
LOCATION_AFTER_FIRST_FRAME_S = 2.0
"""The issue: the drone is on the map within 2 s of its first frame on the wall."""

# Quantisation of what ST 0601 puts on the wire (see tests/media/telemetry/test_klv.py's STEP).
ALT_STEP_M = 19_900 / 65_535
LAT_STEP_DEG = 180 / 0xFFFFFFFE
OFFSET_STEP_DEG = 0.15 / 65_534


@dataclass(frozen=True)
class RecordedOrbit(Orbit):
    """An `Orbit` that remembers the orbit time it was asked for at each time stamp."""

    sent: dict[float, float] = field(default_factory=dict, compare=False, repr=False)

    def at(self, t: float, unix_time: float) -> DroneTelemetry:
        self.sent[unix_time] = t
        return super().at(t, unix_time)

    def sent_with(self, stamp: float) -> DroneTelemetry:
        """What was sent with the KLV time stamp `stamp` (tag 2 keeps microseconds)."""
        sent = dict(self.sent)
        unix_time = min(sent, key=lambda u: abs(u - stamp))
        assert abs(unix_time - stamp) < 2e-6, f"nothing was sent stamped {stamp}"
        return super().at(sent[unix_time], unix_time)


def drone_config(path: Path, port: int) -> Path:
    path.write_text(
        f'[[feeds]]\nname = "Drone 1"\nkind = "drone"\nurl = "udp://127.0.0.1:{port}"\n'
    )
    return path


def only_feed(status: dict[str, Any]) -> dict[str, Any]:
    feeds: list[dict[str, Any]] = status["feeds"]
    (feed,) = feeds
    return feed


@dataclass
class Seen:
    """One `vigil status` answer, when it was asked for and when it came back (monotonic
    seconds): what it says was true at some moment in between."""

    asked: float
    at: float
    feed: dict[str, Any]


def poll(wall: RunningVigil) -> Iterator[Seen]:
    """`vigil status` answers, back to back, as fast as the command runs."""
    while True:
        if wall.process.poll() is not None:
            raise AssertionError(f"vigil exited early: {wall.process.communicate()}")
        asked = time.monotonic()
        result = wall.status()
        if result.returncode == 0:
            yield Seen(asked, time.monotonic(), only_feed(json.loads(result.stdout)))


def first(seen: Iterator[Seen], check: Callable[[dict[str, Any]], bool], by: float) -> Seen:
    last: dict[str, Any] | str = "no answer yet"
    for answer in seen:
        if check(answer.feed):
            return answer
        last = answer.feed
        if answer.at > by:
            break
    raise AssertionError(f"status never satisfied the check; last: {last}")


def heading_error(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def assert_position_as_sent(location: dict[str, Any], orbit: RecordedOrbit) -> None:
    """The status location is the orbit's position and heading at the time it was stamped
    with, to within the wire's quantisation (millimetres, and 0.006° of heading)."""
    sent = orbit.sent_with(location["at"])
    assert sent.sensor_lat is not None
    assert sent.sensor_lon is not None
    assert sent.heading_deg is not None
    off = distance_m(location["lat"], location["lon"], sent.sensor_lat, sent.sensor_lon)
    assert off < 1.0, f"status puts the drone {off:.2f} m from where it said it was"
    assert location["heading"] is not None
    assert heading_error(location["heading"], sent.heading_deg) < 1.0
    # Half a lap away would be 800 m off: make sure the check could fail.
    assert distance_m(YORK[0], YORK[1], location["lat"], location["lon"]) == pytest.approx(
        orbit.radius_m, abs=5
    )


def assert_telemetry_as_sent(telemetry: dict[str, Any], orbit: Orbit) -> None:
    """Altitude, frame centre and the four ground corners are the orbit's (they do not
    change as it circles), each within its tag's quantisation."""
    sent = orbit.at(0, 0)
    assert telemetry["altitude_m"] == pytest.approx(sent.sensor_alt_m, abs=ALT_STEP_M / 2)
    assert telemetry["frame_centre"] == pytest.approx(
        [sent.frame_centre_lat, sent.frame_centre_lon], abs=LAT_STEP_DEG
    )
    assert sent.corners is not None
    assert len(telemetry["corners"]) == 4
    for got, want in zip(telemetry["corners"], sent.corners, strict=True):
        assert got == pytest.approx(list(want), abs=OFFSET_STEP_DEG + LAT_STEP_DEG)


def test_drone_position_is_in_status_within_2_s_of_its_first_frame(short_tmp: Path) -> None:
    """In: a TOML config with one `kind = "drone"` feed on udp://127.0.0.1:PORT, and the
    demo encoder sending 320x240 H.264 at 15 fps with ST 0601 KLV (three local sets a
    second) from a drone circling York at 400 m, 150 m up.
    Out: `vigil status` shows the feed's location at most 2 s after it first shows
    frames > 0 (both seen by polling status back to back); the lat/lon is where the orbit
    put the drone at the reported time stamp (under a metre), the heading within 1°; the
    feed's telemetry holds the altitude, frame centre and four corners as sent, and counts
    KLV packets with none dropped."""
    port = free_port(socket.SOCK_DGRAM)
    orbit = RecordedOrbit(YORK)
    config = drone_config(short_tmp / "vigil.toml", port)
    wall = RunningVigil(short_tmp / "base", ["--config", config])
    sender = UdpTsSender(port, orbit=orbit).start()
    try:
        answers = poll(wall)
        started = time.monotonic()
        framed = first(answers, lambda f: f["frames"] > 0, by=started + STARTUP_S)
        located = framed
        if framed.feed["location"] is None:
            # Wait well past the 2 s, so a failure says how late the location was.
            located = first(answers, lambda f: f["location"] is not None, by=framed.at + 10)
        later = first(
            answers,
            lambda f: f["telemetry"]["klv_packets"] >= located.feed["telemetry"]["klv_packets"] + 3,
            by=time.monotonic() + 10,
        )
    finally:
        sender.stop()
        code, _, err = wall.stop()
    assert sender.error is None
    assert code == 0, err
    delay = located.at - framed.at
    print(
        f"first frame seen {framed.at - started:.2f} s after start; "
        f"location seen {delay:.2f} s after the first frame "
        f"(a status answer takes {framed.at - framed.asked:.2f} s)"
    )
    assert delay <= LOCATION_AFTER_FIRST_FRAME_S, (
        f"location came {delay:.2f} s after the first frame"
    )
    feed = located.feed
    assert (feed["kind"], feed["state"]) == ("drone", "live")
    assert (feed["width"], feed["height"], feed["codec"]) == (320, 240, "h264")
    for answer in (located, later):
        assert_position_as_sent(answer.feed["location"], orbit)
        assert_telemetry_as_sent(answer.feed["telemetry"], orbit)
        assert answer.feed["telemetry"]["klv_dropped"] == 0
    assert later.feed["location"]["at"] > feed["location"]["at"], "the position moves on"
    assert later.feed["frames"] > feed["frames"]


@pytest.fixture
def damaged_klv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the demo encoder send its local sets in turn whole, with a wrong checksum, and
    cut 10 bytes short (in this test process only: vigil reads what arrives)."""
    encode = media.telemetry.klv.encode_packet
    turn = itertools.count()

    def damaged(telemetry: DroneTelemetry) -> bytes:
        packet = encode(telemetry)
        match next(turn) % 3:
            case 1:
                return packet[:-1] + bytes([packet[-1] ^ 0xFF])
            case 2:
                return packet[:-10]
            case _:
                return packet

    monkeypatch.setattr("media.demo.encode_packet", damaged)


@pytest.mark.usefixtures("damaged_klv")
def test_damaged_klv_is_counted_dropped_while_the_video_plays_on(short_tmp: Path) -> None:
    """In: the same drone feed, but of every three KLV local sets one is whole, one has a
    wrong checksum and one is cut short.
    Out: the feed goes live and keeps counting frames; status `telemetry.klv_dropped`
    counts the damaged sets (about two for each good one) and goes on rising; the
    position still comes from the good sets and is where the orbit put the drone; vigil
    exits cleanly on SIGTERM with no traceback in its log."""
    port = free_port(socket.SOCK_DGRAM)
    orbit = RecordedOrbit(YORK)
    config = drone_config(short_tmp / "vigil.toml", port)
    base = short_tmp / "base"
    wall = RunningVigil(base, ["--config", config])
    sender = UdpTsSender(port, orbit=orbit).start()
    try:
        answers = poll(wall)
        started = time.monotonic()
        before = first(
            answers,
            lambda f: f["state"] == "live" and (f["telemetry"] or {}).get("klv_dropped", 0) >= 4,
            by=started + STARTUP_S,
        )
        after = first(
            answers,
            lambda f: f["telemetry"]["klv_dropped"] >= before.feed["telemetry"]["klv_dropped"] + 6,
            by=time.monotonic() + 10,
        )
    finally:
        sender.stop()
        code, _, err = wall.stop()
    assert sender.error is None
    assert code == 0, err
    a, b = before.feed, after.feed
    print(
        f"over {after.at - before.at:.1f} s: frames {a['frames']} -> {b['frames']}, "
        f"klv good {a['telemetry']['klv_packets']} -> {b['telemetry']['klv_packets']}, "
        f"dropped {a['telemetry']['klv_dropped']} -> {b['telemetry']['klv_dropped']}"
    )
    assert b["state"] == "live"
    assert b["frames"] >= a["frames"] + 15, "the picture keeps coming (15 fps)"
    assert b["last_frame_age_s"] < 1
    good = b["telemetry"]["klv_packets"] - a["telemetry"]["klv_packets"]
    bad = b["telemetry"]["klv_dropped"] - a["telemetry"]["klv_dropped"]
    assert good >= 2
    assert 2 * good - 2 <= bad <= 2 * good + 2, (good, bad)
    assert_position_as_sent(b["location"], orbit)
    assert_telemetry_as_sent(b["telemetry"], orbit)
    log = (base / "logs" / "vigil.log").read_text()
    assert "Traceback" not in log
