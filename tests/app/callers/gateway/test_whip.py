"""The WHIP answer's start bitrate: every video format the phone may pick gets it, retransmission
formats and other media do not, and a format already carrying one is left alone."""

from __future__ import annotations

from app.callers.gateway.whip import with_start_bitrate

ANSWER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10",
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98 99",
        "a=rtpmap:97 VP8/90000",
        "a=rtpmap:98 rtx/90000",
        "a=fmtp:98 apt=97",
        "a=rtpmap:99 H264/90000",
        "a=fmtp:99 packetization-mode=1;profile-level-id=42e01f",
        "",
    ]
)


def test_every_video_format_gets_the_start_bitrate() -> None:
    """In: an answer with opus audio, VP8 (no fmtp line), its rtx, and H.264 (an fmtp line).
    Out: VP8 gains an fmtp line with x-google-start-bitrate=2000, H.264's fmtp line has it
    appended; the rtx and audio lines are unchanged; applying it twice changes nothing."""
    lines = with_start_bitrate(ANSWER, 2000).split("\r\n")
    assert "a=fmtp:97 x-google-start-bitrate=2000" in lines
    assert (
        lines.index("a=fmtp:97 x-google-start-bitrate=2000")
        == lines.index("a=rtpmap:97 VP8/90000") + 1
    )
    assert (
        "a=fmtp:99 packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=2000"
        in lines
    )
    assert "a=fmtp:98 apt=97" in lines
    assert "a=fmtp:111 minptime=10" in lines
    once = with_start_bitrate(ANSWER, 2000)
    assert with_start_bitrate(once, 2000) == once
