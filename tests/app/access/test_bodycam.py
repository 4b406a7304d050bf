"""The rule for opening a body cam: which statements of reason are accepted, and what the
custody log and the tile are given."""

from __future__ import annotations

import pytest

from app.access.bodycam import (
    OTHER,
    REASON_KEYS,
    REASONS,
    ReasonError,
    ViewingReason,
    stated_reason,
)

SAFETY = "Officer safety: threat or assault"


def refused(reason: str, detail: str, incident: str) -> ReasonError:
    with pytest.raises(ReasonError) as caught:
        stated_reason(reason, detail, incident)
    return caught.value


def test_the_reasons_are_short_and_other_is_last() -> None:
    """In: REASONS. Out: Officer safety among them, Other last, each short enough for a
    radio button, none repeated."""
    assert SAFETY in REASONS
    assert REASONS[-1] == OTHER
    assert all(len(reason) <= 40 for reason in REASONS)
    assert len(set(REASONS)) == len(REASONS)


def test_a_listed_reason_and_incident_are_accepted_stripped() -> None:
    """In: "  Public order ", no detail, " INC-0412 ". Out: accepted, spaces stripped."""
    assert stated_reason("  Public order ", "", " INC-0412 ") == ViewingReason(
        "Public order", "", "INC-0412"
    )


def test_an_unknown_reason_is_refused() -> None:
    """In: "Curiosity". Out: ReasonError on the reason, saying to choose a listed one."""
    error = refused("Curiosity", "just looking", "INC-1")
    assert error.field == "reason"
    assert "Choose one of the reasons" in str(error)


def test_no_reason_is_refused() -> None:
    """In: reason "" (nothing chosen). Out: ReasonError on the reason."""
    assert refused("", "", "INC-1").field == "reason"


def test_the_error_is_a_value_error() -> None:
    """In: an unknown reason. Out: caught as ValueError too, which is what the dialog
    catches."""
    with pytest.raises(ValueError, match="reasons listed"):
        stated_reason("Curiosity", "", "INC-1")


def test_other_with_no_detail_is_refused() -> None:
    """In: Other, detail "". Out: ReasonError on the detail, asking for words."""
    error = refused(OTHER, "", "INC-1")
    assert error.field == "detail"
    assert "say in a few words" in str(error)


def test_other_with_punctuation_or_four_letters_is_refused() -> None:
    """In: Other with "....." or " n/a " or "abcd". Out: each refused on the detail: under
    5 letters or digits is not a reason."""
    for detail in (".....", " n/a ", "abcd", "   \n  "):
        assert refused(OTHER, detail, "INC-1").field == "detail", detail


def test_other_with_five_letters_is_accepted() -> None:
    """In: Other with "flood". Out: accepted, the detail kept."""
    assert stated_reason(OTHER, "flood", "INC-1").detail == "flood"


def test_a_detail_of_500_characters_is_accepted_and_501_refused() -> None:
    """In: Public order with a 500-character detail, then 501. Out: the first accepted, the
    second refused on the detail, the length said."""
    assert len(stated_reason("Public order", "x" * 500, "INC-1").detail) == 500
    error = refused("Public order", "x" * 501, "INC-1")
    assert error.field == "detail"
    assert "501" in str(error)
    assert "500" in str(error)


def test_a_detail_over_several_lines_is_accepted() -> None:
    """In: Other with "Crowd growing\\nofficer isolated". Out: accepted, newline kept."""
    reason = stated_reason(OTHER, "Crowd growing\nofficer isolated", "INC-1")
    assert reason.detail == "Crowd growing\nofficer isolated"


def test_a_detail_with_a_tab_or_escape_is_refused() -> None:
    """In: detail "left\\tright" and "bell\\x07" and "a\\x1b[2Jb". Out: each refused on the
    detail: hidden characters would go into the log unseen."""
    for detail in ("left\tright", "bell\x07", "a\x1b[2Jb"):
        error = refused(OTHER, detail, "INC-1")
        assert error.field == "detail", repr(detail)
        assert "hidden character" in str(error)


def test_a_missing_incident_is_refused() -> None:
    """In: Public order, incident "   ". Out: ReasonError on the incident, asking for it."""
    error = refused("Public order", "", "   ")
    assert error.field == "incident"
    assert "Enter the incident reference" in str(error)


def test_an_incident_with_spaces_and_slash_is_accepted() -> None:
    """In: incident "INC 04/12". Out: accepted as written."""
    assert stated_reason("Public order", "", "INC 04/12").incident == "INC 04/12"


def test_an_incident_with_each_allowed_sign_is_accepted() -> None:
    """In: incident "CAD#123_4.5:6-7/8". Out: accepted."""
    assert stated_reason(SAFETY, "", "CAD#123_4.5:6-7/8").incident == "CAD#123_4.5:6-7/8"


def test_an_incident_of_40_characters_is_accepted_and_41_refused() -> None:
    """In: incident of 40 characters, then 41. Out: the first accepted, the second refused on
    the incident, the length said."""
    assert stated_reason(SAFETY, "", "I" * 40).incident == "I" * 40
    error = refused(SAFETY, "", "I" * 41)
    assert error.field == "incident"
    assert "41" in str(error)


def test_an_incident_with_a_newline_is_refused() -> None:
    """In: incident "INC-1\\nINC-2". Out: refused on the incident, the allowed signs said."""
    error = refused(SAFETY, "", "INC-1\nINC-2")
    assert error.field == "incident"
    assert "only letters, digits" in str(error)


def test_an_incident_with_other_signs_is_refused() -> None:
    """In: incidents "INC;1", "INC<1>", "INC'1" and "INC" en dash "1". Out: each refused on the
    incident."""
    for incident in ("INC;1", "INC<1>", "INC'1", "INC\u20131"):
        assert refused(SAFETY, "", incident).field == "incident", incident


def test_the_first_field_at_fault_is_named() -> None:
    """In: an unknown reason and an empty incident. Out: the reason is named, as the dialog
    reads top to bottom."""
    assert refused("Curiosity", "", "").field == "reason"


def test_details_for_the_custody_log() -> None:
    """In: Other with detail "Flooding at the depot" and INC-0412. Out: details() holds
    reason, detail and incident exactly."""
    reason = stated_reason(OTHER, "Flooding at the depot", "INC-0412")
    assert reason.details() == {
        "reason": OTHER,
        "detail": "Flooding at the depot",
        "incident": "INC-0412",
    }


def test_details_leave_an_empty_detail_out() -> None:
    """In: Officer safety, no detail, INC-0412. Out: details() holds reason and incident
    only."""
    assert stated_reason(SAFETY, "", "INC-0412").details() == {
        "reason": SAFETY,
        "incident": "INC-0412",
    }


def test_the_chip_shows_a_listed_reason_and_the_incident() -> None:
    """In: Officer safety with a detail, INC-0412. Out: chip "Officer safety: threat or
    assault · INC-0412" (the detail stays in the log)."""
    reason = stated_reason(SAFETY, "PC 123 shouting for help", "INC-0412")
    assert reason.chip == "Officer safety: threat or assault · INC-0412"


def test_the_chip_shows_a_short_other_detail_whole() -> None:
    """In: Other, detail "Flooding at\\n the depot", INC-7. Out: chip "Flooding at the depot ·
    INC-7", the line break shown as a space."""
    assert stated_reason(OTHER, "Flooding at\n the depot", "INC-7").chip == (
        "Flooding at the depot · INC-7"
    )


def test_the_chip_cuts_a_long_other_detail_to_40_characters() -> None:
    """In: Other with a 60-character detail. Out: the chip's words are its first 39
    characters and "…" (40 in all), then the incident."""
    detail = "Armed suspect reported near the school gates, officers going"
    chip = stated_reason(OTHER, detail, "INC-9").chip
    words, incident = chip.split(" · ")
    assert incident == "INC-9"
    assert len(words) <= 40
    assert words == "Armed suspect reported near the school…"


def test_short_names_and_any_case_name_the_full_reason() -> None:
    """In: each short name in REASON_KEYS, in upper case; a full text in lower case with
    doubled spaces; "Other" with words. Out: each accepted with the full listed text as its
    reason (what the log and tile get); the short names cover every reason exactly once."""
    assert sorted(REASON_KEYS.values()) == sorted(REASONS)
    for key, reason in REASON_KEYS.items():
        detail = "asked by the dog handler" if reason == OTHER else ""
        assert stated_reason(key.upper(), detail, "INC-1").reason == reason
    assert stated_reason("officer  asked for SUPPORT", "", "INC-1").reason == (
        "Officer asked for support"
    )
    assert stated_reason("Other", "asked by the dog handler", "INC-1").reason == OTHER


def test_an_unknown_reason_lists_what_to_type() -> None:
    """In: "Curiosity". Out: the ReasonError names every short name with its reason, so a
    terminal, which shows no list, can be answered."""
    message = str(refused("Curiosity", "", "INC-1"))
    assert message.startswith("Choose one of the reasons listed: safety = Officer safety")
    for key in REASON_KEYS:
        assert f"{key} = " in message
