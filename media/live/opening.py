"""How a source opens a URL: credentials put in, low-delay options, and what went wrong
said in words an operator understands. Shared by a feed's main stream and its sub-stream."""

from __future__ import annotations

import urllib.parse

import av
import av.error

NETWORK_SCHEMES = frozenset(
    {"rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp", "rtp", "http", "https", "tcp"}
)


def is_local(url: str) -> bool:
    scheme = urllib.parse.urlsplit(url).scheme
    return scheme in ("", "file") or len(scheme) == 1  # "C:\\..." on Windows


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """The URL to hand to FFmpeg, with credentials put in; never stored or logged."""
    if not username:
        return url
    parts = urllib.parse.urlsplit(url)
    userinfo = urllib.parse.quote(username, safe="")
    if password:
        userinfo += ":" + urllib.parse.quote(password, safe="")
    netloc = f"{userinfo}@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def open_options(url: str, rtsp_transport: str = "tcp") -> dict[str, str]:
    """Low-delay demuxer and decoder options for a live URL."""
    scheme = urllib.parse.urlsplit(url).scheme
    options = {
        "analyzeduration": "500000",  # µs: enough to find SPS/PPS at the next key frame
        "probesize": "1000000",
        "fflags": "nobuffer",
        "flags": "low_delay",
    }
    if scheme in ("rtsp", "rtsps"):
        options["rtsp_transport"] = rtsp_transport
    if scheme in ("udp", "rtp"):
        # The UDP reader thread's ring, counted in 188-byte TS packets: about 6 MB, room
        # for many 1080p key frames. (A million, tried first, was 188 MB a feed, and RSS
        # grew with every byte received until the ring wrapped.) An overrun must not end
        # the stream: the decoder recovers at the next key frame.
        options.setdefault("fifo_size", "32768")
        options.setdefault("buffer_size", "4194304")
        options.setdefault("overrun_nonfatal", "1")
    if is_local(url):
        options = {}
    return options


def describe_error(exc: BaseException) -> str:
    """A short, operator-readable reason for a failed open or read."""
    if isinstance(exc, av.error.ExitError):
        return "no data (timed out)"
    if isinstance(exc, av.error.FFmpegError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, NoMediaError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class NoMediaError(Exception):
    """The URL opened, but holds neither video nor audio."""
