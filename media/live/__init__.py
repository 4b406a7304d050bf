"""Live feeds: the Feed model, sources opened with PyAV or received by WebRTC, each on its own
thread, the latest-frame slot, pictures converted at tile size, sound levels, statistics,
a camera's sub-stream for small tiles, and SRT read through a supervised srt-live-transmit."""

from media.live.audio import PCM_CHANNELS, PCM_RATE, SILENCE_DB
from media.live.backoff import Backoff
from media.live.feed import (
    Connection,
    Decoding,
    Feed,
    FeedKind,
    FeedSpec,
    FeedState,
    Location,
    RtspTransport,
    StreamRole,
)
from media.live.opening import NETWORK_SCHEMES
from media.live.picture_out import fit_size, scaler_for
from media.live.relay import LOOPBACK, Relay, free_udp_port
from media.live.slot import Picture
from media.live.source import FeedSource
from media.live.srt_relay import is_srt, srt_missing, srt_url_problem

__all__ = [
    "LOOPBACK",
    "NETWORK_SCHEMES",
    "PCM_CHANNELS",
    "PCM_RATE",
    "SILENCE_DB",
    "Backoff",
    "Connection",
    "Decoding",
    "Feed",
    "FeedKind",
    "FeedSource",
    "FeedSpec",
    "FeedState",
    "Location",
    "Picture",
    "Relay",
    "RtspTransport",
    "StreamRole",
    "fit_size",
    "free_udp_port",
    "is_srt",
    "scaler_for",
    "srt_missing",
    "srt_url_problem",
]
