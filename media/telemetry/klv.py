"""Drone telemetry from MISB ST 0601 KLV (the UAS Datalink Local Set in MPEG-TS data streams).

A drone's video usually carries, beside the picture, a KLV data stream (`stream.name ==
"klv"` in PyAV) whose local sets say where the aircraft is, where its camera looks and
which patch of ground the picture shows: the map draws all of that.

One local set on the wire:

    16-byte Universal Key | BER length | items: BER-OID tag, BER length, value | 01 02 checksum

`parse_packet()` reads one local set into a `DroneTelemetry`, or raises `KlvError` saying
why not. `KlvReader` takes data-stream payloads as PyAV hands them over (one payload may
hold several local sets, garbage, other KLV keys, or, rarely, half a set) and counts what
it could not use in `KlvStats` rather than raising. `encode_packet()` writes a valid local
set, for the tests and the demo drone.

Numbers are the standard's fixed-point mappings (ST 0601.8 onward, unchanged since): an
n-byte unsigned value spans its range with 2**(8n) - 1 steps; a signed one maps
±(2**(8n-1) - 1) to ± the range and keeps -2**(8n-1) as "error / out of range" (None here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

UAS_LOCAL_SET_KEY = bytes.fromhex("060E2B34020B01010E01030101000000")
_UL_PREFIX = UAS_LOCAL_SET_KEY[:4]  # every SMPTE Universal Label starts so
_VERSION_BYTE = 7  # SMPTE ST 336: the registry version byte is ignored when matching keys
_UL_CATEGORIES = frozenset({1, 2, 3, 4})  # a Universal Label's fifth byte (SMPTE ST 336)
_MAX_SET_BYTES = 65_536  # far above any real local set; a bigger length is corruption
UAS_LS_VERSION = 17  # tag 65, written by the encoder: ST 0601.17 (the tags used here are older)

Corner = tuple[float, float]
Corners = tuple[Corner, Corner, Corner, Corner]


class KlvError(ValueError):
    """A local set that cannot be used; `kind` is "key", "truncated", "checksum" or "malformed"."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class DroneTelemetry:
    """One local set's worth of telemetry. None: not in the packet, or flagged as an error."""

    time_utc: float | None = None  # Unix seconds (tag 2, microseconds since 1970 UTC)
    heading_deg: float | None = None  # platform heading, 0..360 from true north
    pitch_deg: float | None = None
    roll_deg: float | None = None
    sensor_lat: float | None = None  # WGS-84 degrees
    sensor_lon: float | None = None
    sensor_alt_m: float | None = None  # true altitude, metres above mean sea level
    frame_centre_lat: float | None = None
    frame_centre_lon: float | None = None
    frame_centre_elev_m: float | None = None
    corners: Corners | None = None  # the picture's corners on the ground, (lat, lon) each
    hfov_deg: float | None = None
    vfov_deg: float | None = None
    sensor_rel_azimuth_deg: float | None = None  # camera relative to the airframe
    sensor_rel_elevation_deg: float | None = None
    sensor_rel_roll_deg: float | None = None
    slant_range_m: float | None = None
    mission_id: str | None = None
    platform: str | None = None  # platform designation, e.g. "MQ-1B"
    sensor_name: str | None = None  # image source sensor, e.g. "EO Nose"
    ls_version: int | None = None  # tag 65: which ST 0601 revision the sender follows
    unknown_tags: int = 0  # items skipped: a tag not read here, or a known tag of wrong length


@dataclass(frozen=True)
class _Scaled:
    field: str
    size: int  # bytes on the wire
    signed: bool
    low: float
    high: float

    def decode(self, value: bytes) -> float | None:
        raw = int.from_bytes(value, "big", signed=self.signed)
        if self.signed:
            half = (1 << (8 * self.size - 1)) - 1
            if raw < -half:  # -2**(n-1): the standard's error indicator
                return None
            return raw * self.high / half
        return self.low + raw * (self.high - self.low) / ((1 << (8 * self.size)) - 1)

    def encode(self, number: float) -> bytes:
        if self.signed:
            half = (1 << (8 * self.size - 1)) - 1
            raw = max(-half, min(half, round(number * half / self.high)))
        else:
            top = (1 << (8 * self.size)) - 1
            raw = max(0, min(top, round((number - self.low) * top / (self.high - self.low))))
        return raw.to_bytes(self.size, "big", signed=self.signed)


_SCALED: dict[int, _Scaled] = {
    5: _Scaled("heading_deg", 2, False, 0.0, 360.0),
    6: _Scaled("pitch_deg", 2, True, -20.0, 20.0),
    7: _Scaled("roll_deg", 2, True, -50.0, 50.0),
    13: _Scaled("sensor_lat", 4, True, -90.0, 90.0),
    14: _Scaled("sensor_lon", 4, True, -180.0, 180.0),
    15: _Scaled("sensor_alt_m", 2, False, -900.0, 19_000.0),
    16: _Scaled("hfov_deg", 2, False, 0.0, 180.0),
    17: _Scaled("vfov_deg", 2, False, 0.0, 180.0),
    18: _Scaled("sensor_rel_azimuth_deg", 4, False, 0.0, 360.0),
    19: _Scaled("sensor_rel_elevation_deg", 4, True, -180.0, 180.0),
    20: _Scaled("sensor_rel_roll_deg", 4, False, 0.0, 360.0),
    21: _Scaled("slant_range_m", 4, False, 0.0, 5_000_000.0),
    23: _Scaled("frame_centre_lat", 4, True, -90.0, 90.0),
    24: _Scaled("frame_centre_lon", 4, True, -180.0, 180.0),
    25: _Scaled("frame_centre_elev_m", 2, False, -900.0, 19_000.0),
}
_TEXT = {3: "mission_id", 10: "platform", 11: "sensor_name"}
# Corners 1..4 as offsets from the frame centre (tags 26..33: lat1, lon1, lat2, ...), and
# in full (tags 82..89, same order) for pictures wider than the offsets' ±0.075°.
_OFFSET_LAT = _Scaled("", 2, True, -0.075, 0.075)
_OFFSET_LON = _OFFSET_LAT
_FULL_LAT = _Scaled("", 4, True, -90.0, 90.0)
_FULL_LON = _Scaled("", 4, True, -180.0, 180.0)
_OFFSET_TAGS = range(26, 34)
_FULL_TAGS = range(82, 90)


def checksum(data: bytes) -> int:
    """ST 0601's 16-bit running sum: even-indexed bytes land in the high byte, odd in the low."""
    return ((sum(data[0::2]) << 8) + sum(data[1::2])) & 0xFFFF


def _read_ber_length(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """Returns (length, position after it); raises KlvError "truncated" if bytes run out."""
    if pos >= len(data):
        raise KlvError(f"cut short: {what} has no length byte", "truncated")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 8:
        raise KlvError(f"{what}: BER length form 0x{first:02X} is not allowed in KLV", "malformed")
    if pos + 1 + count > len(data):
        raise KlvError(f"cut short: {what}'s length needs {count} more bytes", "truncated")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _read_tag(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag = 0
    for n in range(4):
        if pos + n >= end:
            raise KlvError("an item's tag runs past the checksum", "malformed")
        byte = data[pos + n]
        tag = (tag << 7) | (byte & 0x7F)
        if byte < 0x80:
            return tag, pos + n + 1
    raise KlvError("an item's tag is longer than 4 bytes", "malformed")


def _is_uas_key(key: bytes) -> bool:
    return key[:_VERSION_BYTE] == UAS_LOCAL_SET_KEY[:_VERSION_BYTE] and (
        key[_VERSION_BYTE + 1 : 16] == UAS_LOCAL_SET_KEY[_VERSION_BYTE + 1 :]
    )


def parse_packet(data: bytes) -> DroneTelemetry:
    """One whole local set, key to checksum, into telemetry; KlvError says why not."""
    if len(data) < 16:
        if data == UAS_LOCAL_SET_KEY[: len(data)]:
            raise KlvError(f"cut short: the key needs 16 bytes, {len(data)} present", "truncated")
        raise KlvError("not a UAS Local Set key", "key")
    if not _is_uas_key(data[:16]):
        raise KlvError("not a UAS Local Set key", "key")
    length, start = _read_ber_length(data, 16, "the local set")
    present = len(data) - start
    if present < length:
        raise KlvError(f"cut short: length says {length} bytes, {present} present", "truncated")
    if present > length:
        raise KlvError(f"{present - length} bytes after the local set's end", "malformed")
    end = len(data)
    if length < 4 or data[end - 4] != 0x01 or data[end - 3] != 0x02:
        raise KlvError("no checksum", "malformed")
    computed, said = checksum(data[: end - 2]), int.from_bytes(data[end - 2 :], "big")
    if computed != said:
        raise KlvError(
            f"checksum mismatch: computed 0x{computed:04X}, packet says 0x{said:04X}", "checksum"
        )
    return _decode_items(data, start, end - 4)


def _decode_items(data: bytes, pos: int, end: int) -> DroneTelemetry:
    values: dict[str, Any] = {}
    offsets: dict[int, float | None] = {}
    unknown = 0
    while pos < end:
        tag, pos = _read_tag(data, pos, end)
        size, pos = _read_ber_length(data, pos, f"tag {tag}")
        if pos + size > end:
            raise KlvError(f"tag {tag} says {size} bytes, {end - pos} left", "malformed")
        value = data[pos : pos + size]
        pos += size
        scaled = _SCALED.get(tag)
        if scaled is not None and size == scaled.size:
            values[scaled.field] = scaled.decode(value)
        elif tag in _TEXT:
            values[_TEXT[tag]] = value.decode("utf-8", "replace").rstrip("\x00")
        elif tag == 2 and size == 8:
            values["time_utc"] = int.from_bytes(value, "big") / 1e6
        elif tag == 65 and size == 1:
            values["ls_version"] = value[0]
        elif tag in _OFFSET_TAGS and size == 2:
            offsets[tag] = (_OFFSET_LAT if tag % 2 == 0 else _OFFSET_LON).decode(value)
        elif tag in _FULL_TAGS and size == 4:
            offsets[tag] = (_FULL_LAT if tag % 2 == 0 else _FULL_LON).decode(value)
        else:
            unknown += 1
    values["corners"] = _corners(
        offsets, values.get("frame_centre_lat"), values.get("frame_centre_lon")
    )
    return DroneTelemetry(unknown_tags=unknown, **values)


def _corners(
    found: dict[int, float | None], centre_lat: float | None, centre_lon: float | None
) -> Corners | None:
    full = [found.get(tag) for tag in _FULL_TAGS]
    points: list[float]
    if all(v is not None for v in full):
        points = [v for v in full if v is not None]
    else:
        offsets = [found.get(tag) for tag in _OFFSET_TAGS]
        if centre_lat is None or centre_lon is None or any(v is None for v in offsets):
            return None
        points = [
            (centre_lat if i % 2 == 0 else centre_lon) + v
            for i, v in enumerate(offsets)
            if v is not None
        ]
    return (
        (points[0], points[1]),
        (points[2], points[3]),
        (points[4], points[5]),
        (points[6], points[7]),
    )


# Encoding -------------------------------------------------------------------------------


def _ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _ber_oid(tag: int) -> bytes:
    out = [tag & 0x7F]
    tag >>= 7
    while tag:
        out.append(0x80 | (tag & 0x7F))
        tag >>= 7
    return bytes(reversed(out))


def local_set(items: Iterable[tuple[int, bytes]]) -> bytes:
    """A whole packet from (tag, value) items, in the order given, with key, length, checksum."""
    body = b"".join(_ber_oid(tag) + _ber_length(len(value)) + value for tag, value in items)
    head = UAS_LOCAL_SET_KEY + _ber_length(len(body) + 4) + body + b"\x01\x02"
    return head + checksum(head).to_bytes(2, "big")


def encode_packet(telemetry: DroneTelemetry) -> bytes:
    """A valid local set carrying every field of `telemetry` that is not None."""
    items: list[tuple[int, bytes]] = []
    if telemetry.time_utc is not None:  # the standard wants the time stamp first
        items.append((2, round(telemetry.time_utc * 1e6).to_bytes(8, "big")))
    for tag, name in _TEXT.items():
        text = getattr(telemetry, name)
        if text is not None:
            items.append((tag, text.encode("utf-8")[:127]))
    for tag, scaled in _SCALED.items():
        number = getattr(telemetry, scaled.field)
        if number is not None:
            items.append((tag, scaled.encode(number)))
    items.extend(_encode_corners(telemetry))
    version = UAS_LS_VERSION if telemetry.ls_version is None else telemetry.ls_version
    items.append((65, bytes([version])))
    return local_set(items)


def _encode_corners(t: DroneTelemetry) -> list[tuple[int, bytes]]:
    if t.corners is None:
        return []
    flat = [v for point in t.corners for v in point]
    if t.frame_centre_lat is not None and t.frame_centre_lon is not None:
        centre = (t.frame_centre_lat, t.frame_centre_lon)
        offsets = [v - centre[i % 2] for i, v in enumerate(flat)]
        if all(abs(v) <= _OFFSET_LAT.high for v in offsets):
            return [
                (tag, _OFFSET_LAT.encode(v)) for tag, v in zip(_OFFSET_TAGS, offsets, strict=True)
            ]
    return [
        (tag, (_FULL_LAT if i % 2 == 0 else _FULL_LON).encode(v))
        for i, (tag, v) in enumerate(zip(_FULL_TAGS, flat, strict=True))
    ]


# Reading a data stream --------------------------------------------------------------------


@dataclass
class KlvStats:
    """What a KlvReader saw: local sets used, and everything it had to drop."""

    good: int = 0
    bad_checksum: int = 0
    truncated: int = 0  # cut short: the payload (or the stream) ended inside a local set
    malformed: int = 0  # checksum right or absent, but the structure inside is broken
    unknown_keys: int = 0  # other KLV (a SMPTE key that is not ST 0601's), skipped whole
    skipped_bytes: int = 0  # bytes passed over looking for a key, including failed sets'


class KlvReader:
    """Turns data-stream payloads (`bytes(packet)` from PyAV) into telemetry, never raising.

    A local set cut at a payload's end is kept and completed by the next payload, unless
    that one starts with a key of its own: then the kept part counts as truncated. After
    a bad set the search for the next key resumes one byte past the bad one's key, and a
    length running past the payload while another key follows counts as truncated, so a
    corrupted set cannot swallow the sets behind it. Call `flush()` at end of stream.
    """

    def __init__(self) -> None:
        self.stats = KlvStats()
        self._pending = b""

    def feed(self, payload: bytes) -> list[DroneTelemetry]:
        if not payload:  # PyAV's end-of-stream flush packet, or an empty PES
            return []
        if self._pending and payload[:4] == _UL_PREFIX:
            self._drop_pending()  # a new item starts: the kept one will never be finished
        buffer = self._pending + payload
        self._pending = b""
        out: list[DroneTelemetry] = []
        pos = 0
        while (found := self._next_set(buffer, pos)) is not None:
            start, end = found
            try:
                out.append(parse_packet(buffer[start:end]))
            except KlvError as error:
                self._count(error)
                pos = start + 1
                continue
            self.stats.good += 1
            pos = end
        return out

    def flush(self) -> None:
        """End of stream: a local set still waiting for its end is counted as truncated."""
        self._drop_pending()

    def _drop_pending(self) -> None:
        if len(self._pending) >= len(_UL_PREFIX):
            self.stats.truncated += 1
        else:  # only the first bytes of what looked like a key
            self.stats.skipped_bytes += len(self._pending)
        self._pending = b""

    def _count(self, error: KlvError) -> None:
        if error.kind == "checksum":
            self.stats.bad_checksum += 1
        elif error.kind == "truncated":
            self.stats.truncated += 1
        else:
            self.stats.malformed += 1

    def _next_set(self, buffer: bytes, pos: int) -> tuple[int, int] | None:
        """(start, end) of the next whole UAS local set from `pos`, skipping anything else.

        None when the buffer is used up; a set (or key) cut off at its end goes to _pending.
        """
        while pos < len(buffer):
            key_at = buffer.find(_UL_PREFIX, pos)
            if key_at < 0:
                # A key's first bytes may end this payload and the rest start the next one.
                tail = next((n for n in (3, 2, 1) if buffer.endswith(_UL_PREFIX[:n])), 0)
                self.stats.skipped_bytes += len(buffer) - pos - tail
                self._pending = buffer[len(buffer) - tail :]
                return None
            self.stats.skipped_bytes += key_at - pos
            if len(buffer) > key_at + 4 and buffer[key_at + 4] not in _UL_CATEGORIES:
                self.stats.skipped_bytes += 1  # four bytes that only look like a key's start
                pos = key_at + 1
                continue
            inner = buffer.find(_UL_PREFIX, key_at + 1, key_at + 15 + len(_UL_PREFIX))
            if inner >= 0:
                # No key holds another key's start: this one was cut short and the next
                # set begins inside it. Without this, the next set's bytes would be read
                # as this one's key and length, and the set swallowed with it.
                self.stats.truncated += 1
                self.stats.skipped_bytes += inner - key_at
                pos = inner
                continue
            try:
                length, value_at = _read_ber_length(buffer, key_at + 16, "the KLV item")
            except KlvError as error:
                if error.kind != "truncated":
                    self.stats.malformed += 1
                    pos = key_at + 1
                    continue
                self._pending = buffer[key_at:]
                return None
            if length > _MAX_SET_BYTES:
                self.stats.malformed += 1
                pos = key_at + 1
                continue
            end = value_at + length
            if end > len(buffer):
                # Another key before the buffer's end means this length lies (a set split
                # across payloads has only its own bytes here): drop it, go on from there.
                next_key = buffer.find(_UL_PREFIX, value_at)
                if next_key < 0:
                    self._pending = buffer[key_at:]
                    return None
                self.stats.truncated += 1
                self.stats.skipped_bytes += next_key - key_at
                pos = next_key
                continue
            if _is_uas_key(buffer[key_at : key_at + 16]):
                return key_at, end
            self.stats.unknown_keys += 1
            pos = end
        return None


def split_packets(buffer: bytes) -> list[bytes]:
    """Every whole UAS local set in one buffer, unchecked; other keys and garbage left out."""
    finder = KlvReader()
    packets: list[bytes] = []
    pos = 0
    while (found := finder._next_set(buffer, pos)) is not None:
        packets.append(buffer[found[0] : found[1]])
        pos = found[1]
    return packets


__all__ = [
    "UAS_LOCAL_SET_KEY",
    "DroneTelemetry",
    "KlvError",
    "KlvReader",
    "KlvStats",
    "checksum",
    "encode_packet",
    "local_set",
    "parse_packet",
    "split_packets",
]
