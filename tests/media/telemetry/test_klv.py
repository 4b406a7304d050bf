"""MISB ST 0601 KLV: published packets decode to their published values, our encoder's
packets round-trip within each tag's quantisation, and a KlvReader fed broken, mixed or
cut-up data-stream payloads (and a real MPEG-TS file through PyAV) keeps going and counts.
"""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction
from pathlib import Path

import av
import pytest

from media.telemetry.klv import (
    UAS_LOCAL_SET_KEY,
    DroneTelemetry,
    KlvError,
    KlvReader,
    KlvStats,
    checksum,
    encode_packet,
    local_set,
    parse_packet,
    split_packets,
)
from media.testcard import TestCard

# The example packet MISB publishes in ST 0902.5 (values from ST 0601's own examples),
# byte for byte as reproduced in vidterra/misb.js's README; its checksum is 0xAA43.
ST0902_EXAMPLE = bytes.fromhex(
    "060E2B34020B01010E0103010100000081D2020800046050584E0180030A4D697373696F6E20"
    "3132050271C20602FD3D070208B80A085072656461746F720B07454F204E6F73650C0E47656F"
    "64657469632057475338340D045595B66D0E045B5360C40F02C2211002CD9C1102D917120472"
    "4A0A20130487F84B86140400000000150403830926160212811704F101A229180414BC082B19"
    "0234F3301C01010102010703052F2F5553410C01070D060055005300411602000A4101065E22"
    "0170F592F02373364AF8AA9162C00F2EB2DA16B74341000841A0BE365B5AB96A36450102AA43"
)

# Local set 0 of klv_metadata_test_sync.ts, a STANAG 4609 sample clip of the QGIS FMV
# plugin: a packet from a real encoder, with offset corners (checksum 0xFF59).
REAL_CLIP_PACKET = bytes.fromhex(
    "060e2b34020b01010e0103010100000081dc02080005602866187a93480800055df6b0d09f"
    "d60a085072656461746f720c0e47656f64657469632057475338340502a2cf060200000702"
    "00460d0431d18bf60e04c7b07cec0f023aa110020acf1102081b120490c87b051304e2127e"
    "951404000000000b07454f204e6f73651602123b15040046461e170431d46e921804c7b830"
    "1119020c71030a313233343536372d38391a0207011b0205e11c02fbd31d02091f1e02f9a7"
    "1f02fa33200203a32102f760410106302001010102010203052f2f555341050006035553"
    "410c01020d0355534116020d090102ff59"
)

# One quantisation step per field, written out from ST 0601's mappings (not from the code).
STEP = {
    "heading_deg": 360 / 65535,
    "pitch_deg": 40 / 65534,
    "roll_deg": 100 / 65534,
    "sensor_lat": 180 / 0xFFFFFFFE,
    "sensor_lon": 360 / 0xFFFFFFFE,
    "sensor_alt_m": 19900 / 65535,
    "frame_centre_lat": 180 / 0xFFFFFFFE,
    "frame_centre_lon": 360 / 0xFFFFFFFE,
    "frame_centre_elev_m": 19900 / 65535,
    "hfov_deg": 180 / 65535,
    "vfov_deg": 180 / 65535,
    "sensor_rel_azimuth_deg": 360 / 0xFFFFFFFF,
    "sensor_rel_elevation_deg": 360 / 0xFFFFFFFE,
    "sensor_rel_roll_deg": 360 / 0xFFFFFFFF,
    "slant_range_m": 5_000_000 / 0xFFFFFFFF,
    "time_utc": 1e-6,
}
OFFSET_STEP = 0.15 / 65534

SAMPLE = DroneTelemetry(
    time_utc=1_767_225_600.123456,
    heading_deg=271.3,
    pitch_deg=-4.25,
    roll_deg=12.5,
    sensor_lat=51.501364,
    sensor_lon=-0.14189,
    sensor_alt_m=412.0,
    frame_centre_lat=51.5033,
    frame_centre_lon=-0.1276,
    frame_centre_elev_m=11.5,
    corners=((51.51, -0.14), (51.51, -0.115), (51.497, -0.115), (51.497, -0.14)),
    hfov_deg=31.7,
    vfov_deg=17.9,
    sensor_rel_azimuth_deg=350.25,
    sensor_rel_elevation_deg=-35.5,
    sensor_rel_roll_deg=0.75,
    slant_range_m=1834.2,
    mission_id="OP THAMES 2026-014",
    platform="NPAS-DJI-M30T",
    sensor_name="EO Wide",
)


def reference_checksum(data: bytes) -> int:
    """ST 0601's reference algorithm, as printed there."""
    bcc = 0
    for i, byte in enumerate(data):
        bcc += byte << (8 * ((i + 1) % 2))
    return bcc & 0xFFFF


def assert_close(got: DroneTelemetry, want: DroneTelemetry) -> None:
    for name, step in STEP.items():
        a, b = getattr(got, name), getattr(want, name)
        assert a == pytest.approx(b, abs=step / 2 + 1e-9), name
    for name in ("mission_id", "platform", "sensor_name"):
        assert getattr(got, name) == getattr(want, name), name
    assert got.corners is not None
    assert want.corners is not None
    for (lat, lon), (want_lat, want_lon) in zip(got.corners, want.corners, strict=True):
        assert lat == pytest.approx(want_lat, abs=OFFSET_STEP + STEP["sensor_lat"])
        assert lon == pytest.approx(want_lon, abs=OFFSET_STEP + STEP["sensor_lon"])


# Known-good packets ----------------------------------------------------------------------


def test_standard_example_packet_decodes_to_its_published_values() -> None:
    """ST 0902.5's example local set: checksum 0xAA43 verifies, and every tag reads as the
    value ST 0601 gives for those bytes (time 2009-01-12 22:08:22Z, heading 159.9744°,
    sensor at 60.17682°N 128.42676°E, 14190.72 m, ...); tags 12, 22, 48 and 94 are skipped
    and counted."""
    assert checksum(ST0902_EXAMPLE[:-2]) == 0xAA43
    t = parse_packet(ST0902_EXAMPLE)
    assert dt.datetime.fromtimestamp(t.time_utc or 0, dt.UTC) == dt.datetime(
        2009, 1, 12, 22, 8, 22, tzinfo=dt.UTC
    )
    assert (t.mission_id, t.platform, t.sensor_name) == ("Mission 12", "Predator", "EO Nose")
    assert t.heading_deg == pytest.approx(159.9744, abs=1e-4)
    assert t.pitch_deg == pytest.approx(-0.4315251, abs=1e-4)
    assert t.roll_deg == pytest.approx(3.405814, abs=1e-4)
    assert t.sensor_lat == pytest.approx(60.1768229669783, abs=1e-9)
    assert t.sensor_lon == pytest.approx(128.426759042045, abs=1e-9)
    assert t.sensor_alt_m == pytest.approx(14190.72, abs=0.01)
    assert t.hfov_deg == pytest.approx(144.5713, abs=1e-4)
    assert t.vfov_deg == pytest.approx(152.6436, abs=1e-4)
    assert t.sensor_rel_azimuth_deg == pytest.approx(160.719211474396, abs=1e-7)
    assert t.sensor_rel_elevation_deg == pytest.approx(-168.792324833941, abs=1e-7)
    assert t.sensor_rel_roll_deg == 0.0
    assert t.slant_range_m == pytest.approx(68590.98, abs=0.01)
    assert t.frame_centre_lat == pytest.approx(-10.5423886331461, abs=1e-9)
    assert t.frame_centre_lon == pytest.approx(29.157890122923, abs=1e-9)
    assert t.frame_centre_elev_m == pytest.approx(3216.037, abs=0.01)
    assert t.corners is None  # the example carries no corner tags
    assert t.ls_version == 6
    assert t.unknown_tags == 4


def test_packet_from_a_real_clip_passes_the_checksum_and_has_its_corners() -> None:
    """A real encoder's packet: its checksum (0xFF59) verifies with ST 0601's algorithm
    (a plain byte sum would reject it), and its four offset corners come back as absolute
    points around the frame centre, within the offsets' ±0.075°."""
    assert checksum(REAL_CLIP_PACKET[:-2]) == reference_checksum(REAL_CLIP_PACKET[:-2]) == 0xFF59
    assert sum(REAL_CLIP_PACKET[:-2]) & 0xFFFF != 0xFF59
    t = parse_packet(REAL_CLIP_PACKET)
    assert t.mission_id == "1234567-89"
    assert t.sensor_lat == pytest.approx(35.028662, abs=1e-6)
    assert t.sensor_lon == pytest.approx(-79.186773, abs=1e-6)
    assert t.corners is not None
    assert t.frame_centre_lat is not None
    assert t.frame_centre_lon is not None
    for lat, lon in t.corners:
        assert abs(lat - t.frame_centre_lat) <= 0.075
        assert abs(lon - t.frame_centre_lon) <= 0.075
    assert len(set(t.corners)) == 4


def test_checksum_matches_the_standards_reference_loop() -> None:
    """Random buffers of even and odd lengths: checksum() equals the reference loop
    `bcc += byte << (8 * ((i + 1) % 2))` masked to 16 bits."""
    rng = random.Random(601)
    for size in (0, 1, 2, 3, 17, 250, 1001):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert checksum(data) == reference_checksum(data)


# Round trips -----------------------------------------------------------------------------


def test_every_field_round_trips_within_its_quantisation() -> None:
    """A telemetry with every field set, encoded and parsed: each number comes back within
    half a quantisation step of its tag, texts exactly, corners (as offsets) within one
    offset step; the packet's checksum is valid and nothing is counted unknown."""
    packet = encode_packet(SAMPLE)
    assert packet.startswith(UAS_LOCAL_SET_KEY)
    assert packet[-4:-2] == b"\x01\x02"
    back = parse_packet(packet)
    assert_close(back, SAMPLE)
    assert back.unknown_tags == 0
    assert back.ls_version == 17
    # ST 0601: the time stamp is the first item, the checksum the last.
    assert packet[16 + 2] == 0x02


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("heading_deg", 0.0, 360.0),
        ("pitch_deg", -20.0, 20.0),
        ("roll_deg", -50.0, 50.0),
        ("sensor_lat", -90.0, 90.0),
        ("sensor_lon", -180.0, 180.0),
        ("sensor_alt_m", -900.0, 19_000.0),
        ("frame_centre_elev_m", -900.0, 19_000.0),
        ("hfov_deg", 0.0, 180.0),
        ("sensor_rel_azimuth_deg", 0.0, 360.0),
        ("sensor_rel_elevation_deg", -180.0, 180.0),
        ("slant_range_m", 0.0, 5_000_000.0),
    ],
)
def test_range_ends_round_trip_and_beyond_them_clamps(field: str, low: float, high: float) -> None:
    """Each end of a tag's range comes back as itself (within a step); a value past either
    end is written as that end, not wrapped round or turned into the error value."""
    for value, want in ((low, low), (high, high), (low - 10, low), (high + 10, high)):
        back = parse_packet(encode_packet(DroneTelemetry(**{field: value})))
        assert getattr(back, field) == pytest.approx(want, abs=STEP.get(field, 1e-6)), value


def test_wide_picture_corners_go_as_full_corner_tags() -> None:
    """Corners 0.3° from the frame centre (beyond the offsets' ±0.075°) are written with
    ST 0601's full corner tags 82..89 and come back within a latitude step."""
    wide = DroneTelemetry(
        frame_centre_lat=10.0,
        frame_centre_lon=20.0,
        corners=((10.3, 19.7), (10.3, 20.3), (9.7, 20.3), (9.7, 19.7)),
    )
    packet = encode_packet(wide)
    assert bytes([82, 4]) in packet
    back = parse_packet(packet)
    assert back.corners is not None
    for got, want in zip(back.corners, wide.corners or (), strict=True):
        assert got == pytest.approx(want, abs=1e-7)


def test_error_sentinels_read_as_none() -> None:
    """Each signed tag carrying the standard's "error / out of range" value (0x8000,
    0x80000000) reads as None, a corner offset so flagged drops the corners, and one less
    than the sentinel reads as the bottom of the range."""
    items = [
        (6, b"\x80\x00"),
        (7, b"\x80\x00"),
        (13, b"\x80\x00\x00\x00"),
        (14, b"\x80\x00\x00\x00"),
        (19, b"\x80\x00\x00\x00"),
        (23, b"\x80\x00\x00\x01"),  # -(2**31 - 1): the bottom of the range, not an error
        (24, b"\x80\x00\x00\x00"),
        *((tag, b"\x00\x10") for tag in range(26, 33)),
        (33, b"\x80\x00"),
    ]
    t = parse_packet(local_set(items))
    assert t.pitch_deg is None
    assert t.roll_deg is None
    assert t.sensor_lat is None
    assert t.sensor_lon is None
    assert t.sensor_rel_elevation_deg is None
    assert t.frame_centre_lat == pytest.approx(-90.0)
    assert t.frame_centre_lon is None
    assert t.corners is None
    assert t.unknown_tags == 0


def test_offset_corners_built_by_hand_land_around_the_frame_centre() -> None:
    """A local set built byte by byte: frame centre in tags 23/24 and eight different
    offsets in tags 26..33 (lat1, lon1, lat2, lon2, ...). Out: corner i is the centre plus
    tag 26+2i's offset in latitude and tag 27+2i's in longitude, each offset int16 *
    0.075 / 32767 degrees (ST 0601's mapping, written out here); with one offset or the
    frame centre missing there are no corners (half a picture's outline is no outline)."""
    lat, lon = 53.9590, -1.0815
    centre = [
        (23, round(lat / 90 * 0x7FFFFFFF).to_bytes(4, "big", signed=True)),
        (24, round(lon / 180 * 0x7FFFFFFF).to_bytes(4, "big", signed=True)),
    ]
    raws = [1000, -2000, 3000, -4000, -5000, 6000, 7000, -32767]
    offsets = [(26 + i, raw.to_bytes(2, "big", signed=True)) for i, raw in enumerate(raws)]
    t = parse_packet(local_set([*centre, *offsets]))
    assert t.frame_centre_lat == pytest.approx(lat, abs=STEP["frame_centre_lat"])
    assert t.frame_centre_lon == pytest.approx(lon, abs=STEP["frame_centre_lon"])
    assert t.corners is not None
    assert t.frame_centre_lat is not None
    assert t.frame_centre_lon is not None
    for i, (corner_lat, corner_lon) in enumerate(t.corners):
        assert corner_lat == pytest.approx(
            t.frame_centre_lat + raws[2 * i] * 0.075 / 32767, abs=1e-12
        ), i
        assert corner_lon == pytest.approx(
            t.frame_centre_lon + raws[2 * i + 1] * 0.075 / 32767, abs=1e-12
        ), i
    assert t.corners[3][1] == pytest.approx(t.frame_centre_lon - 0.075, abs=1e-12)
    assert t.unknown_tags == 0
    assert parse_packet(local_set([*centre, *offsets[:7]])).corners is None
    assert parse_packet(local_set(offsets)).corners is None


# Broken packets --------------------------------------------------------------------------


def test_flipped_byte_fails_the_checksum_naming_both_sums() -> None:
    """One byte of a good packet's value flipped: KlvError "checksum mismatch: computed
    0x…, packet says 0x…" with the recomputed sum and the packet's own; and flipping any
    single byte anywhere in the packet raises KlvError, never another exception."""
    packet = bytearray(encode_packet(SAMPLE))
    packet[40] ^= 0xFF
    said = int.from_bytes(packet[-2:], "big")
    computed = checksum(bytes(packet[:-2]))
    with pytest.raises(KlvError) as caught:
        parse_packet(bytes(packet))
    assert str(caught.value) == (
        f"checksum mismatch: computed 0x{computed:04X}, packet says 0x{said:04X}"
    )
    assert caught.value.kind == "checksum"
    good = encode_packet(SAMPLE)
    for i in range(len(good)):
        broken = bytearray(good)
        broken[i] ^= 0x5A
        with pytest.raises(KlvError):
            parse_packet(bytes(broken))


def test_truncation_at_every_offset_raises_klverror_and_the_reader_counts_it() -> None:
    """Every prefix of a good packet (0 bytes to all but the last): parse_packet raises
    KlvError and nothing else, "cut short: length says N bytes, M present" once the length
    is there; a KlvReader fed that prefix and flushed yields nothing, raises nothing and
    counts one truncated packet (or, under 4 bytes, skipped bytes)."""
    good = encode_packet(SAMPLE)
    length = good[17]  # long form 0x81 xx: the sample is over 127 bytes
    assert good[16] == 0x81
    for n in range(len(good)):
        with pytest.raises(KlvError) as caught:
            parse_packet(good[:n])
        if n >= 18:
            assert str(caught.value) == f"cut short: length says {length} bytes, {n - 18} present"
        reader = KlvReader()
        assert reader.feed(good[:n]) == []
        reader.flush()
        assert reader.stats.good == 0
        assert reader.stats.truncated == (1 if n >= 4 else 0), n


def test_wrong_key_and_missing_checksum_say_so() -> None:
    """A packet with another SMPTE key: "not a UAS Local Set key"; a well-formed local set
    whose last item is not the checksum: "no checksum"."""
    other = bytearray(encode_packet(SAMPLE))
    other[11] = 0x03
    with pytest.raises(KlvError, match="not a UAS Local Set key"):
        parse_packet(bytes(other))
    body = b"\x05\x02\x12\x34"
    with pytest.raises(KlvError, match="no checksum"):
        parse_packet(UAS_LOCAL_SET_KEY + bytes([len(body)]) + body)


def test_unknown_tags_are_skipped_and_counted() -> None:
    """Tags this parser does not read (8, 99, and 300 in two-byte BER-OID) and a known tag
    of a length the standard does not allow (heading in 3 bytes) are skipped and counted
    (4); the tags around them still decode."""
    items = [
        (2, (1_700_000_000_000_000).to_bytes(8, "big")),
        (8, b"\x93"),
        (99, b"hello"),
        (300, b"\x01\x02\x03"),
        (5, b"\x00\x00\x01"),
        (13, b"\x40\x00\x00\x00"),
    ]
    packet = local_set(items)
    assert b"\x82\x2c\x03" in packet  # tag 300 as BER-OID, then its length 3
    t = parse_packet(packet)
    assert t.unknown_tags == 4
    assert t.time_utc == 1_700_000_000.0
    assert t.heading_deg is None
    assert t.sensor_lat == pytest.approx(45.0, abs=1e-7)


def test_long_form_ber_lengths_are_read() -> None:
    """A local set with a 300-byte item (item length 0x82 0x01 0x2C, set length in long
    form too), and the same set with a non-minimal four-byte outer length (0x84 00 00 ..):
    both parse, the mission id intact."""
    packet = local_set([(3, b"M-300"), (200, bytes(300))])
    assert b"\x82\x01\x2c" in packet
    assert packet[16] == 0x82
    assert parse_packet(packet).mission_id == "M-300"
    body = packet[19:-2]  # items plus the checksum's tag and length
    padded = UAS_LOCAL_SET_KEY + b"\x84" + (len(body) + 2).to_bytes(4, "big") + body
    padded += checksum(padded).to_bytes(2, "big")
    t = parse_packet(padded)
    assert t.mission_id == "M-300"
    assert t.unknown_tags == 1


def test_an_item_running_past_the_checksum_is_malformed_not_fatal() -> None:
    """A local set whose key, length and checksum are all right but whose last item says
    more bytes than the set holds (tag 13 claims 9, 4 are there), and one whose last tag
    never ends (BER-OID continuation bits into the checksum): KlvError "malformed" naming
    the tag for the first; a reader counts both as malformed and reads the good set behind."""
    overrun = bytearray(local_set([(5, b"\x10\x00"), (13, b"\x40\x00\x00\x00")]))
    overrun[16 + 1 + 4 + 1] = 9  # tag 13's length byte
    overrun[-2:] = checksum(bytes(overrun[:-2])).to_bytes(2, "big")
    with pytest.raises(KlvError, match="tag 13 says 9 bytes, 4 left") as caught:
        parse_packet(bytes(overrun))
    assert caught.value.kind == "malformed"
    endless = bytearray(local_set([(5, b"\x10\x00")]))
    endless[17:21] = b"\x85\x85\x85\x85"  # a tag of 4+ continuation bytes, no end
    endless[-2:] = checksum(bytes(endless[:-2])).to_bytes(2, "big")
    with pytest.raises(KlvError) as caught:
        parse_packet(bytes(endless))
    assert caught.value.kind == "malformed"
    good = encode_packet(telemetry_at(0))
    reader = KlvReader()
    got = reader.feed(bytes(overrun) + bytes(endless) + good)
    assert [t.time_utc for t in got] == [1_767_225_600.0]
    assert (reader.stats.good, reader.stats.malformed, reader.stats.bad_checksum) == (1, 2, 0)


# The reader ------------------------------------------------------------------------------


def telemetry_at(second: int) -> DroneTelemetry:
    return DroneTelemetry(time_utc=1_767_225_600.0 + second, sensor_lat=51.5 + second / 1000)


def test_two_packets_back_to_back_in_one_payload() -> None:
    """One payload holding two local sets: the reader returns both, in order;
    split_packets returns the two packets' bytes."""
    a, b = encode_packet(telemetry_at(0)), encode_packet(telemetry_at(1))
    reader = KlvReader()
    got = reader.feed(a + b)
    assert [t.time_utc for t in got] == [1_767_225_600.0, 1_767_225_601.0]
    assert reader.stats.good == 2
    assert split_packets(a + b) == [a, b]


def test_garbage_bad_packets_and_other_keys_are_skipped_and_counted() -> None:
    """One payload: garbage (including the first four bytes of a key), a packet with a bad
    checksum, a packet whose length byte was hit (it now ends inside what follows), an
    ST 0903 VMTI item (another key), then three good packets, one behind more garbage: the
    reader returns the three good ones and counts one bad checksum, one malformed, one
    unknown key and the garbage. Then a payload with a lying length running past its end
    and a good packet behind: the good one is read, the liar counted as truncated."""
    good = [encode_packet(telemetry_at(s)) for s in range(3)]
    bad = bytearray(encode_packet(telemetry_at(9)))
    bad[30] ^= 1
    lying = bytearray(encode_packet(telemetry_at(8)))
    lying[16] -= 3  # ends 3 bytes early: no checksum where the set now ends
    vmti = bytes.fromhex("060E2B34020B01010E01030306000000") + b"\x05" + b"VMTI!"
    junk = b"\x00\xff\x06\x0e\x2b\x34\x06" + b"noise"
    payload = junk + bytes(bad) + bytes(lying) + vmti + good[0] + b"xyz" + good[1] + good[2]
    reader = KlvReader()
    got = reader.feed(payload)
    assert [t.time_utc for t in got] == [t.time_utc for t in map(parse_packet, good)]
    s = reader.stats
    assert (s.good, s.bad_checksum, s.malformed, s.truncated, s.unknown_keys) == (3, 1, 1, 0, 1)
    assert s.skipped_bytes >= len(junk) + 3

    lying[16] = 0x7F  # short form, more than the packet and the one behind it hold
    got = reader.feed(bytes(lying) + good[0])
    assert [t.time_utc for t in got] == [parse_packet(good[0]).time_utc]
    assert (s.good, s.truncated) == (4, 1)


def test_a_packet_split_across_payloads_is_joined_and_a_cut_one_dropped() -> None:
    """A local set split over two payloads comes out whole from the second; a set cut off
    and followed by a payload that starts with a new key counts as truncated, and the new
    one is read; empty payloads (PyAV's flush packets) change nothing."""
    a, b, c = (encode_packet(telemetry_at(s)) for s in range(3))
    reader = KlvReader()
    assert reader.feed(a[:20]) == []
    assert reader.feed(b"") == []
    assert [t.time_utc for t in reader.feed(a[20:])] == [1_767_225_600.0]
    assert reader.feed(b[:-5]) == []
    assert [t.time_utc for t in reader.feed(c)] == [1_767_225_602.0]
    reader.flush()
    assert (reader.stats.good, reader.stats.truncated, reader.stats.bad_checksum) == (2, 1, 0)


def dropped(stats: KlvStats) -> int:
    """What `vigil status` reports as klv_dropped."""
    return stats.bad_checksum + stats.truncated + stats.malformed


def test_a_set_cut_anywhere_is_counted_once_and_never_swallows_the_next() -> None:
    """A local set cut after n bytes (5 up to all but its last byte, so a key's start is
    there), followed by a good set: in the same payload, or in the next one. Out: the good
    set is always read, and the cut one counted as dropped exactly once. (A cut inside
    the 16-byte key once made the reader take the next set's key bytes as this one's key
    and length, and lose the good set with it.)"""
    cut, good = encode_packet(telemetry_at(0)), encode_packet(telemetry_at(1))
    for n in range(5, len(cut)):
        together, apart = KlvReader(), KlvReader()
        got_together = together.feed(cut[:n] + good)
        got_apart = apart.feed(cut[:n]) + apart.feed(good)
        for reader, got in ((together, got_together), (apart, got_apart)):
            reader.flush()
            assert [t.time_utc for t in got] == [1_767_225_601.0], n
            assert reader.stats.good == 1, n
            assert dropped(reader.stats) == 1, (n, reader.stats)
            assert reader.stats.unknown_keys == 0, n


def test_any_damaged_byte_is_counted_and_the_next_set_still_read() -> None:
    """Each byte of a good local set in turn XORed with 0x01, 0x5A and 0xFF, the damaged
    set followed by a good one, in the same payload and in the next. Out: never an
    exception, the damaged set never comes out, the good one always does; damage after
    the key's first eight bytes (version byte, length, items, checksum) counts as dropped
    exactly once; damage to the key itself makes it another key or no key at all, so it
    is counted as an unknown key or skipped bytes instead."""
    damaged_base, good = encode_packet(SAMPLE), encode_packet(telemetry_at(1))
    for i in range(len(damaged_base)):
        for mask in (0x01, 0x5A, 0xFF):
            damaged = bytearray(damaged_base)
            damaged[i] ^= mask
            together, apart = KlvReader(), KlvReader()
            got_together = together.feed(bytes(damaged) + good)
            got_apart = apart.feed(bytes(damaged)) + apart.feed(good)
            for reader, got in ((together, got_together), (apart, got_apart)):
                reader.flush()
                assert [t.time_utc for t in got] == [1_767_225_601.0], (i, mask)
                s = reader.stats
                if i == 7 or i >= 16:
                    assert dropped(s) == 1, (i, mask, s)
                else:
                    assert dropped(s) + s.unknown_keys + min(1, s.skipped_bytes) >= 1, (i, s)


def test_empty_payloads_are_skipped_and_count_nothing() -> None:
    """Empty payloads (PyAV's end-of-stream packet, an empty PES) on their own, before,
    between and after good sets: nothing comes out of them, nothing is counted, and the
    good sets around them are read; a UAS key with length 0 (an empty local set, with no
    room even for a checksum) is counted as malformed and skipped."""
    reader = KlvReader()
    assert reader.feed(b"") == []
    reader.flush()
    assert reader.stats == KlvStats()
    a, b = encode_packet(telemetry_at(0)), encode_packet(telemetry_at(1))
    got = []
    for payload in (b"", a, b"", b"", b, b""):
        got.extend(reader.feed(payload))
    reader.flush()
    assert [t.time_utc for t in got] == [1_767_225_600.0, 1_767_225_601.0]
    assert reader.stats == KlvStats(good=2)
    with pytest.raises(KlvError, match="no checksum"):
        parse_packet(UAS_LOCAL_SET_KEY + b"\x00")
    got = reader.feed(UAS_LOCAL_SET_KEY + b"\x00" + a)
    assert [t.time_utc for t in got] == [1_767_225_600.0]
    assert (reader.stats.good, reader.stats.malformed) == (3, 1)


# A real MPEG-TS file through PyAV --------------------------------------------------------


def test_klv_data_stream_round_trips_through_mpeg_ts(tmp_path: Path) -> None:
    """Five H.264 test-card frames (PyAV libx264) muxed into MPEG-TS with a KLV data stream
    (`add_data_stream("klv")`), one local set per frame and two in the third payload, read
    back with PyAV: the data stream is named "klv", its payloads (`bytes(packet)`, with the
    empty end-of-stream packet skipped) give all six telemetries back in order, each
    payload with the PTS it was muxed with."""
    path = tmp_path / "drone.ts"
    card = TestCard("Drone", 160, 96, (110, 220, 140))
    sent: list[DroneTelemetry] = []
    with av.open(str(path), "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        video.options = {"preset": "ultrafast", "tune": "zerolatency"}
        klv = out.add_data_stream("klv")
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(card.render(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            out.mux(video.encode(frame))
            batch = [telemetry_at(len(sent) + k) for k in range(2 if i == 2 else 1)]
            sent.extend(batch)
            packet = av.Packet(b"".join(encode_packet(t) for t in batch))
            packet.stream = klv
            packet.pts = packet.dts = i * 9000
            packet.time_base = Fraction(1, 90_000)
            out.mux(packet)
        out.mux(video.encode(None))

    reader = KlvReader()
    got: list[DroneTelemetry] = []
    pts: list[int | None] = []
    with av.open(str(path)) as container:
        assert len(container.streams.video) == 1
        stream = container.streams.data[0]
        assert stream.name == "klv"
        for packet in container.demux(stream):
            payload = bytes(packet)
            if payload:
                pts.append(packet.pts)
            got.extend(reader.feed(payload))
    reader.flush()
    assert [t.time_utc for t in got] == [t.time_utc for t in sent]
    assert [t.sensor_lat for t in got] == pytest.approx([t.sensor_lat for t in sent], abs=1e-7)
    assert pts == [i * 9000 for i in range(5)]
    assert reader.stats.good == 6
    assert (reader.stats.bad_checksum, reader.stats.truncated, reader.stats.skipped_bytes) == (
        0,
        0,
        0,
    )
