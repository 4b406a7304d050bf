"""One-time caller links on a real SQLite file: tokens and device secrets kept only as
hashes, 404 for an unknown token and 410 for every unusable one (expired, revoked, held by
another phone, not opened yet, ended), final states never left, and two connections (two
processes' worth) racing for one link with exactly one winner.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
import sqlite_utils

from app.callers.links import (
    FINAL_STATES,
    GoneLinkError,
    LinkBook,
    LinkKind,
    LinkState,
    UnknownLinkError,
    token_hash,
)
from app.database import open_database
from tests.clock import Clock

T0 = 1_760_000_000.0
URLSAFE = set(string.ascii_letters + string.digits + "-_")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def book(db: sqlite_utils.Database, clock: Clock) -> LinkBook:
    return LinkBook(db, clock)


def test_token_has_144_random_bits_and_is_stored_only_as_a_hash(
    book: LinkBook, db: sqlite_utils.Database, db_path: Path
) -> None:
    """In: 50 links made, the first opened by a browser (which gets a device secret).
    Out: every token is 24 URL-safe characters (secrets.token_urlsafe(18): 144 bits, at
    least 128), all distinct; the raw bytes of the .db and -wal files, while open and after
    closing, hold the token's SHA-256 but neither the token nor the device secret."""
    tokens = [book.create(name=f"Caller {n}", phone="+447700900123")[1] for n in range(50)]
    for token in tokens:
        assert len(token) == 24
        assert set(token) <= URLSAFE
        assert len(token) * 6 >= 128
    assert len(set(tokens)) == len(tokens)

    token = tokens[0]
    _link, device = book.open(token, None)
    assert device is not None
    assert len(device) == 24
    assert set(device) <= URLSAFE

    def raw() -> bytes:
        files = [db_path, db_path.with_name(db_path.name + "-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())

    while_open = raw()
    assert token_hash(token).encode() in while_open  # we are reading the right bytes
    for secret in (*tokens, device):
        assert secret.encode() not in while_open
    db.close()
    after_close = raw()
    assert token_hash(token).encode() in after_close
    for secret in (*tokens, device):
        assert secret.encode() not in after_close


def test_unknown_token_is_404(book: LinkBook) -> None:
    """In: a token never issued (of the right shape), given to open() and check().
    Out: UnknownLinkError with status 404 from both; a GoneLinkError's status is 410."""
    book.create(name="Jane Doe")
    stranger = "A" * 24
    with pytest.raises(UnknownLinkError) as opened:
        book.open(stranger, None)
    assert opened.value.status == 404
    with pytest.raises(UnknownLinkError) as checked:
        book.check(stranger, "whatever")
    assert checked.value.status == 404
    assert GoneLinkError("x").status == 410


def test_unopened_link_expires_after_its_valid_minutes(book: LinkBook, clock: Clock) -> None:
    """In: two links valid 15 min; the clock moved to 1 s before and then past 15 min.
    Out: 1 s before, the first still opens; after 15 min the never-opened second gives a
    GoneLinkError (410) naming its link, and `usable_until` is created_at + 15 min."""
    _early, early_token = book.create(name="Early", valid_minutes=15)
    late, late_token = book.create(name="Late", valid_minutes=15)
    assert late.usable_until == T0 + 15 * 60
    clock.advance(15 * 60 - 1)
    assert book.open(early_token, None)[0].state is LinkState.WAITING
    clock.advance(2)
    with pytest.raises(GoneLinkError) as gone:
        book.open(late_token, None)
    assert gone.value.status == 410
    assert gone.value.link_id == late.id


def test_opened_link_lasts_its_session_not_longer(book: LinkBook, clock: Clock) -> None:
    """In: a link valid 15 min with a 1 h session, opened after 5 min; the clock then moved
    to 30 min, and to just before and just after opened_at + 1 h.
    Out: at 30 min the device's requests and a reload still work; at opened_at + 1 h both
    give GoneLinkError (410)."""
    link, token = book.create(name="Jane Doe", valid_minutes=15, session_s=3600)
    clock.advance(5 * 60)
    opened, device = book.open(token, None)
    assert opened.opened_at == T0 + 5 * 60
    assert opened.usable_until == T0 + 5 * 60 + 3600
    clock.advance(25 * 60)  # 30 min after making it: past expires_at
    assert book.check(token, device).id == link.id
    assert book.open(token, device) == (book.get(link.id), None)
    clock.now = T0 + 5 * 60 + 3600 - 1
    assert book.check(token, device).id == link.id
    clock.advance(1)
    with pytest.raises(GoneLinkError):
        book.check(token, device)
    with pytest.raises(GoneLinkError):
        book.open(token, device)


def test_second_device_is_refused_and_the_first_keeps_the_link(book: LinkBook) -> None:
    """In: a link opened by phone A; then phone B opens it without a cookie, with a made-up
    cookie, and sends a request with no cookie.
    Out: phone B gets GoneLinkError (410) each time; phone A's reload and requests still
    work, with no new device secret."""
    link, token = book.create(name="Jane Doe")
    _opened, device_a = book.open(token, None)
    assert device_a is not None
    for device_b in (None, "B" * 24):
        with pytest.raises(GoneLinkError) as gone:
            book.open(token, device_b)
        assert gone.value.status == 410
    with pytest.raises(GoneLinkError):
        book.check(token, None)
    with pytest.raises(GoneLinkError):
        book.check(token, "B" * 24)
    assert book.open(token, device_a)[1] is None
    assert book.check(token, device_a).id == link.id


def test_check_before_open_is_410(book: LinkBook) -> None:
    """In: a fresh link; a request (check) made before the page was ever opened, with no
    cookie and with a made-up one.
    Out: GoneLinkError (410) each time, and the link is still pending (openable)."""
    link, token = book.create(name="Jane Doe")
    for device in (None, "C" * 24):
        with pytest.raises(GoneLinkError):
            book.check(token, device)
    assert book.get(link.id).state is LinkState.PENDING
    assert book.open(token, None)[1] is not None


def test_revoked_link_is_410_for_page_and_requests(book: LinkBook, clock: Clock) -> None:
    """In: a link opened by a phone, then revoked by the control room.
    Out: a reload (open) and a later request (check) from that very phone give GoneLinkError;
    the link says REVOKED, with when and the default reason; an unopened revoked link cannot
    be opened either."""
    link, token = book.create(name="Jane Doe")
    _opened, device = book.open(token, None)
    clock.advance(60)
    revoked = book.revoke(link.id)
    assert revoked.state is LinkState.REVOKED
    assert revoked.ended_at == T0 + 60
    assert revoked.end_reason == "revoked by the control room"
    with pytest.raises(GoneLinkError):
        book.open(token, device)
    with pytest.raises(GoneLinkError):
        book.check(token, device)

    unopened, unopened_token = book.create(name="John Roe")
    book.revoke(unopened.id, "wrong number")
    with pytest.raises(GoneLinkError):
        book.open(unopened_token, None)


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
def test_final_states_are_never_left(book: LinkBook, clock: Clock, final: LinkState) -> None:
    """In: a link moved to a final state (declined, ended, revoked) at t0+10, then asked to
    move to every other state, later.
    Out: it stays in that final state with the first ended_at and end_reason."""
    link, token = book.create(name="Jane Doe")
    book.open(token, None)
    clock.advance(10)
    book.set_state(link.id, final, "first reason")
    for later in LinkState:
        clock.advance(1)
        again = book.set_state(link.id, later, "later reason")
        assert again.state is final
        assert again.ended_at == T0 + 10
        assert again.end_reason == "first reason"
    clock.advance(1)
    assert book.revoke(link.id).state is final
    assert book.get(link.id).state is final


def test_two_connections_opening_one_link_have_one_winner(db_path: Path, clock: Clock) -> None:
    """In: two LinkBooks, each on its own `open_database` connection to one file (the wall's
    gateway and another process); both open the same link with no cookie, one after the
    other.
    Out: the first gets a device secret; the second gets GoneLinkError (410); the winner's
    secret works through either connection."""
    first_db, second_db = open_database(db_path), open_database(db_path)
    try:
        first, second = LinkBook(first_db, clock), LinkBook(second_db, clock)
        link, token = first.create(name="Jane Doe")
        _opened, device = first.open(token, None)
        assert device is not None
        with pytest.raises(GoneLinkError):
            second.open(token, None)
        assert first.check(token, device).id == link.id
        assert second.check(token, device).id == link.id
    finally:
        first_db.close()
        second_db.close()


def test_conditional_update_settles_a_simultaneous_open(
    db_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: two connections to one file; the second reads the link while it is still
    unopened, then the first opens it (and commits) before the second writes: the interleaving
    of two phones opening at the same instant.
    Out: the second's conditional UPDATE changes nothing and it raises GoneLinkError ("opened
    by another device a moment ago"); the link keeps the first's device and opening time."""
    first_db, second_db = open_database(db_path), open_database(db_path)
    try:
        first, second = LinkBook(first_db, clock), LinkBook(second_db, clock)
        _link, token = first.create(name="Jane Doe")
        winner: list[str | None] = []
        stale_read = second._by_token

        def read_then_lose_the_race(wanted: str) -> tuple[object, str | None]:
            found = stale_read(wanted)
            assert found[1] is None  # nobody holds it yet, as far as the second knows
            clock.advance(1)
            winner.append(first.open(wanted, None)[1])
            clock.advance(1)
            return found

        monkeypatch.setattr(second, "_by_token", read_then_lose_the_race)
        with pytest.raises(GoneLinkError) as lost:
            second.open(token, None)
        assert lost.value.reason == "opened by another device a moment ago"
        assert winner[0] is not None
        monkeypatch.undo()
        assert second.check(token, winner[0]).opened_at == T0 + 1
    finally:
        first_db.close()
        second_db.close()


def test_final_state_from_another_connection_is_not_overwritten(
    db_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: the gateway's connection moves a link to LIVE, and between its read and its write
    `vigil link revoke` (another connection) revokes the link.
    Out: the link stays REVOKED (a final state is never left, whichever process wrote it)."""
    gateway_db, command_db = open_database(db_path), open_database(db_path)
    try:
        gateway, command = LinkBook(gateway_db, clock), LinkBook(command_db, clock)
        link, token = gateway.create(name="Jane Doe")
        gateway.open(token, None)
        read = gateway.get
        calls = 0

        def read_then_revoked_elsewhere(link_id: str) -> object:
            nonlocal calls
            calls += 1
            found = read(link_id)
            if calls == 1:
                command.revoke(link_id)
            return found

        monkeypatch.setattr(gateway, "get", read_then_revoked_elsewhere)
        gateway.set_state(link.id, LinkState.LIVE)
        assert command.get(link.id).state is LinkState.REVOKED
    finally:
        gateway_db.close()
        command_db.close()


def test_active_only_leaves_out_final_and_expired_links(book: LinkBook, clock: Clock) -> None:
    """In: five links made a second apart: one revoked, one ended, one never opened and now
    past its 15 min, one opened (its 4 h session runs on), one fresh; then all() and
    all(active_only=True).
    Out: all() lists the five newest first; active_only lists only the opened and the fresh."""
    revoked, _ = book.create(name="Revoked")
    book.revoke(revoked.id)
    clock.advance(1)
    ended, ended_token = book.create(name="Ended")
    book.open(ended_token, None)
    book.set_state(ended.id, LinkState.ENDED, "the caller ended the stream")
    clock.advance(1)
    expired, _ = book.create(name="Expired")
    clock.advance(1)
    opened, opened_token = book.create(name="Opened", session_s=4 * 3600)
    book.open(opened_token, None)
    clock.advance(20 * 60)
    fresh, _ = book.create(name="Fresh")

    assert [k.id for k in book.all()] == [fresh.id, opened.id, expired.id, ended.id, revoked.id]
    assert [k.id for k in book.all(active_only=True)] == [fresh.id, opened.id]


def test_public_view_masks_the_phone(book: LinkBook) -> None:
    """In: an officer link with phone +447700900123, incident INC-7, location only.
    Out: public() shows "+44•••••••123" (first three and last three characters), never the
    number in full (nor anywhere in its JSON), and carries kind, state and usable_until."""
    link, _ = book.create(
        name="PC 4521",
        kind=LinkKind.OFFICER,
        phone="+447700900123",
        incident="INC-7",
        location_only=True,
    )
    public = link.public()
    assert public["phone"] == "+44•••••••123"
    assert "+447700900123" not in json.dumps(public, ensure_ascii=False)
    assert "7700900" not in json.dumps(public, ensure_ascii=False)
    assert public["kind"] == "officer"
    assert public["state"] == "pending"
    assert public["location_only"] is True
    assert public["incident"] == "INC-7"
    assert public["usable_until"] == link.expires_at
    assert book.create(name="No phone")[0].public()["phone"] is None


@pytest.mark.parametrize("phone", ["123456", "12345"])
def test_public_view_never_shows_a_short_phone_in_full(book: LinkBook, phone: str) -> None:
    """In: a link whose phone is a short number (6 or 5 characters, e.g. an extension).
    Out: public()'s phone masks some of it: it holds a "•" and shows fewer of the number's
    characters than the number has."""
    link, _ = book.create(name="Extension", phone=phone)
    shown = link.public()["phone"]
    assert shown is not None
    assert "•" in shown
    assert len(shown.replace("•", "")) < len(phone)


def test_a_link_needs_a_name(book: LinkBook) -> None:
    """In: create() with a blank name. Out: ValueError, and nothing stored."""
    with pytest.raises(ValueError, match="name"):
        book.create(name="   ")
    assert book.all() == []


def test_feed_name_and_id_shape(book: LinkBook) -> None:
    """In: a link for "  Jane Doe  ".
    Out: the name is stored trimmed; the id is "L-" and six hex digits; the feed is
    named "Jane Doe (L-xxxxxx)"."""
    link, _ = book.create(name="  Jane Doe  ")
    assert link.name == "Jane Doe"
    assert re.fullmatch(r"L-[0-9a-f]{6}", link.id)
    assert link.feed_name == f"Jane Doe ({link.id})"
