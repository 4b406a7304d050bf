"""The export's progress on stderr: a bar redrawn in place on a terminal, plain lines at each
tenth elsewhere, nothing at all for an export quicker than a second."""

from __future__ import annotations

import io

import pytest

from app.commands import evidence_export as export_command
from app.commands.evidence_export import TextProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_short_work_shows_nothing() -> None:
    """In: progress reported at once (well under a second). Out: nothing written."""
    stream = io.StringIO()
    progress = TextProgress(stream)
    for n in range(11):
        progress(n / 10, "copying")
    progress.done()
    assert stream.getvalue() == ""


def test_a_pipe_gets_a_line_per_tenth_and_a_terminal_a_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In: progress every 1 % from 0 to 100 %, the quiet second set to none, once to a
    pipe and once to a terminal. Out: the pipe gets eleven lines, 0 % to 100 % by tenths,
    each saying what is being done; the terminal gets a bar redrawn with carriage returns,
    ending full at 100 %, and a final newline from done()."""
    monkeypatch.setattr(export_command, "_QUIET_S", 0.0)
    pipe, terminal = io.StringIO(), Terminal()
    for stream in (pipe, terminal):
        progress = TextProgress(stream)
        for n in range(101):
            progress(n / 100, f"copying segment {n}")
        progress.done()
    lines = pipe.getvalue().splitlines()
    assert [line.split()[2] for line in lines] == [f"{n}%" for n in range(0, 101, 10)]
    assert lines[-1] == "vigil: export 100% (copying segment 100)"
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 101
    assert drawn.endswith("\n")
    assert "[" + "#" * 30 + "] 100% copying segment 100" in drawn
