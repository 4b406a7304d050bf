"""[recording] and [evidence] in the config: good values read, each mistake names its line
and key, and a config cannot switch off what callers were promised."""

from __future__ import annotations

import pytest

from app.config import ConfigError, SigningKeyStore, parse
from app.config.recording import DEFAULT_KEEP_DAYS, RecordingPolicy
from media.live.feed import FeedKind


def test_defaults_record_every_kind_for_31_days_and_tag_30_s() -> None:
    """In: a config without [recording] or [evidence]. Out: every kind recorded, 4 s
    segments, kept 31 days; T tags 30 s; the signing key in the keyring."""
    config = parse('[wall]\nlayout = "auto"\n')
    assert config.recording == RecordingPolicy()
    assert config.recording.kinds == frozenset(FeedKind)
    assert config.recording.segment_s == 4.0
    assert config.recording.keep_days == DEFAULT_KEEP_DAYS == 31
    assert config.evidence.tag_seconds == 30.0
    assert config.evidence.signing_key == SigningKeyStore.KEYRING


def test_a_policy_reads_as_written() -> None:
    """In: kinds without drones and cameras, 6 s segments, kept for ever, T tags 45 s, the
    signing key in a file. Out: those values; drones and cameras not recorded, callers and body cams recorded."""
    config = parse(
        "[recording]\n"
        'kinds = ["caller", "officer", "bodycam"]\n'
        "segment_seconds = 6\n"
        "keep_days = 0\n"
        "\n[evidence]\n"
        "tag_seconds = 45\n"
        'signing_key = "file"\n'
    )
    policy = config.recording
    assert policy.segment_s == 6.0
    assert policy.keep_days == 0
    assert [k for k in FeedKind if policy.records(k)] == [
        FeedKind.CALLER,
        FeedKind.BODYCAM,
        FeedKind.OFFICER,
    ]
    assert config.evidence.tag_seconds == 45.0
    assert config.evidence.signing_key == SigningKeyStore.FILE


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (
            '[wall]\nlayout = "auto"\n[recording]\nkinds = ["bodycam", "drone"]\n',
            4,
            "recording.kinds",
            "caller and officer must stay: the consent screen every caller and officer agrees "
            'to says "It is recorded"',
        ),
        ('[recording]\nkinds = ["caller", "officer", "tank"]\n', 2, "recording.kinds", "'tank'"),
        ('[recording]\nkinds = "caller"\n', 2, "recording.kinds", "must be a list"),
        ("[recording]\nsegment_seconds = 1\n", 2, "recording.segment_seconds", "from 2 to 10"),
        ("[recording]\nsegment_seconds = 11.5\n", 2, "recording.segment_seconds", "2 to 10"),
        ("[recording]\n\nkeep_days = -1\n", 3, "recording.keep_days", "or 0 to keep"),
        ("[recording]\nkeep_days = 1.5\n", 2, "recording.keep_days", "whole number"),
        ("[recording]\nkeep_days = true\n", 2, "recording.keep_days", "whole number"),
        ('[recording]\nfolder = "/mnt"\n', 2, "recording.folder", "unknown recording setting"),
        ("[evidence]\ntag_seconds = 4\n", 2, "evidence.tag_seconds", "from 5 to 600"),
        ("[evidence]\ntag_seconds = 601\n", 2, "evidence.tag_seconds", "from 5 to 600"),
        ('[evidence]\ntag_seconds = "30"\n', 2, "evidence.tag_seconds", "from 5 to 600"),
        ("[evidence]\nlast = 30\n", 2, "evidence.last", "expected one of signing_key, tag_seconds"),
        (
            '[evidence]\nsigning_key = "vault"\n',
            2,
            "evidence.signing_key",
            'must be "keyring" (the default: the key kept in the keyring) or "file"',
        ),
        ("[evidence]\nsigning_key = true\n", 2, "evidence.signing_key", "not True"),
        ("recording = 4\n", 1, "recording", "must be a table: [recording]"),
    ],
)
def test_each_mistake_names_its_line_and_key(text: str, line: int, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert caught.value.line == line
    assert caught.value.key == key
    assert words in caught.value.message
