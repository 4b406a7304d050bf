"""What a caller is asked, and the record of the answer: one wording per kind of link, each
naming who asks; a hash that is stable and moves with any word; answers kept in order in
a real SQLite file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from app.callers.consent import Answer, ConsentBook, ConsentText, consent_text
from app.callers.links import CallerLink, LinkBook, LinkKind
from app.database import open_database
from tests.clock import Clock

ORG = "Northshire Police control room"
T0 = 1_760_000_000.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "vigil.db")
    yield database
    database.close()


@pytest.fixture
def links(db: sqlite_utils.Database) -> LinkBook:
    return LinkBook(db, Clock(T0))


def make(links: LinkBook, *, officer: bool = False, location_only: bool = False) -> CallerLink:
    kind = LinkKind.OFFICER if officer else LinkKind.CALLER
    return links.create(name="Jane Doe", kind=kind, location_only=location_only)[0]


def test_wording_differs_by_kind_and_names_the_organisation(links: LinkBook) -> None:
    """In: a caller link, a location-only caller link, an officer link and a location-only
    officer link, for "Northshire Police control room".
    Out: four different texts (and hashes), each naming the organisation in its asker line
    and first paragraph and saying it is recorded; the caller's offers live video with no
    sound, the location-only one says the camera is not used and lists no video, the
    officer's says it is while on duty; callers are told they need not agree."""
    caller = consent_text(make(links), ORG)
    location = consent_text(make(links, location_only=True), ORG)
    officer = consent_text(make(links, officer=True), ORG)
    officer_location = consent_text(make(links, officer=True, location_only=True), ORG)
    texts = {"c": caller, "l": location, "o": officer, "ol": officer_location}
    assert len({"\n".join(t.lines()) for t in texts.values()}) == 4
    assert len({t.sha256 for t in texts.values()}) == 4
    for text in texts.values():
        assert ORG in text.asker
        assert ORG in text.paragraphs[0]
        assert text.heading
        assert len(text.paragraphs) >= 3
        assert any("recorded" in line for line in text.lines())
        assert text.lines() == [text.asker, text.heading, *text.points, *text.paragraphs]
    joined = {name: " ".join(t.lines()).lower() for name, t in texts.items()}
    assert "live video" in joined["c"]
    assert "no sound" in joined["c"]
    assert "camera is not used" in joined["l"]
    assert "live video" not in joined["l"]
    assert "on duty" in joined["o"]
    assert "live video" in joined["o"]
    assert "live video" not in joined["ol"]
    for name in ("c", "l"):
        assert "you do not have to agree" in joined[name]


def test_wording_names_whichever_organisation_asks(links: LinkBook) -> None:
    """In: the same link's wording for two organisations.
    Out: each names its own and not the other."""
    link = make(links)
    one = " ".join(consent_text(link, "Northshire Police").lines())
    other = " ".join(consent_text(link, "Southshire Fire and Rescue").lines())
    assert "Northshire Police" in one
    assert "Southshire" not in one
    assert "Southshire Fire and Rescue" in other
    assert "Northshire" not in other


def one_word_changed(text: ConsentText) -> Iterator[tuple[str, ConsentText]]:
    """The text with one word of one line changed, for every word of every line."""
    for name in ("asker", "heading", "points", "paragraphs"):
        value = getattr(text, name)
        lines = [value] if isinstance(value, str) else list(value)
        for number, line in enumerate(lines):
            words = line.split(" ")
            for index in range(len(words)):
                changed = " ".join([*words[:index], words[index] + "x", *words[index + 1 :]])
                new = [*lines[:number], changed, *lines[number + 1 :]]
                field = new[0] if isinstance(value, str) else tuple(new)
                yield f"{name}[{number}] word {index}", dataclasses.replace(text, **{name: field})


def test_hash_is_stable_and_changes_with_any_word(links: LinkBook) -> None:
    """In: the caller wording, hashed twice (and for a second link of the same kind); then
    the wording with each single word of each line (asker, heading, points, paragraphs)
    changed in turn, and with the organisation changed.
    Out: the hash is the SHA-256 hex of the lines joined by newlines, the same every time
    and for every link of that kind; every one-word change gives a different hash."""
    link = make(links)
    text = consent_text(link, ORG)
    expected = hashlib.sha256("\n".join(text.lines()).encode("utf-8")).hexdigest()
    assert text.sha256 == expected
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert consent_text(link, ORG).sha256 == expected
    assert consent_text(make(links), ORG).sha256 == expected

    seen = {expected}
    changes = 0
    for where, changed in one_word_changed(text):
        assert changed.sha256 not in seen, where
        seen.add(changed.sha256)
        changes += 1
    assert changes >= 50
    assert consent_text(link, ORG + "s").sha256 != expected
    # The same words split into lines differently are different words to sign.
    moved = dataclasses.replace(text, heading=text.heading + " " + text.points[0])
    moved = dataclasses.replace(moved, points=text.points[1:])
    assert moved.sha256 != expected


def test_consent_book_records_and_reads_back_in_order(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """In: for link A at t0, t0+5, t0+9: agree, withdraw, agree (each with the text's hash, a
    user agent and an address); one decline for link B in between.
    Out: for_link(A) gives A's three answers in the order given, with their times, hash,
    user agent and address, also when read through a second connection; B's is apart.
    public() leaves out the address."""
    clock = Clock(T0)
    links = LinkBook(db, clock)
    book = ConsentBook(db, clock)
    a, b = make(links), make(links)
    digest = consent_text(a, ORG).sha256
    given = [(0.0, Answer.AGREE), (5.0, Answer.WITHDRAW), (9.0, Answer.AGREE)]
    for offset, answer in given:
        clock.now = T0 + offset
        book.record(a.id, answer, digest, user_agent="Phone/1.0", remote_addr="192.0.2.7")
        if answer is Answer.AGREE and offset == 0:
            book.record(b.id, Answer.DECLINE, digest, user_agent=None, remote_addr=None)

    other = open_database(tmp_path / "vigil.db")
    try:
        for reader in (book, ConsentBook(other)):
            records = reader.for_link(a.id)
            assert [(r.at, r.answer) for r in records] == [(T0 + o, ans) for o, ans in given]
            for record in records:
                assert record.link_id == a.id
                assert record.text_sha256 == digest
                assert record.user_agent == "Phone/1.0"
                assert record.remote_addr == "192.0.2.7"
            declined = reader.for_link(b.id)
            assert [(r.answer, r.user_agent, r.remote_addr) for r in declined] == [
                (Answer.DECLINE, None, None)
            ]
    finally:
        other.close()
    public = book.for_link(a.id)[0].public()
    assert public == {
        "link_id": a.id,
        "at": T0,
        "answer": "agree",
        "text_sha256": digest,
        "user_agent": "Phone/1.0",
    }
    assert book.for_link("L-000000") == []


def test_user_agent_is_capped_at_512_characters(db: sqlite_utils.Database) -> None:
    """In: answers with a 5000-character user agent, one of exactly 512, and an empty one.
    Out: the record (returned and stored) keeps the first 512 characters; 512 stay whole;
    an empty user agent is kept as None."""
    links = LinkBook(db, Clock(T0))
    book = ConsentBook(db, Clock(T0))
    link = make(links)
    long_agent = "Mozilla/5.0 " + "x" * 4988
    exact = "y" * 512
    returned = [
        book.record(link.id, Answer.AGREE, "0" * 64, user_agent=agent, remote_addr=None)
        for agent in (long_agent, exact, "")
    ]
    stored = book.for_link(link.id)
    for records in (returned, stored):
        assert records[0].user_agent == long_agent[:512]
        assert records[1].user_agent == exact
        assert records[2].user_agent is None
