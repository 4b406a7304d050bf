"""Logging: floods collapsed into one counted line per period, and the open-file limit
raised at start and said in the log.

A thousand slow connections once wrote 35,000 `socket.accept() out of system resource`
lines in 80 s and rotated the log's history away; these tests make such floods for real
(asyncio's own exception handler, a real rotating log file under a base dir).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.logs import RepeatFilter, setup_logging
from app.paths import BaseDir

ROOT = Path(__file__).resolve().parents[2]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record).splitlines()[0])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def flood_logger() -> Iterator[tuple[logging.Logger, Lines, Clock]]:
    logger = logging.getLogger("tests.flood")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    lines, clock = Lines(), Clock()
    lines.addFilter(RepeatFilter(lines, period_s=60, warnings=10, lines=50, clock=clock))
    logger.addHandler(lines)
    yield logger, lines, clock
    logger.removeHandler(lines)
    logger.propagate = True


def accept_failed(logger: logging.Logger, fd: int) -> None:
    logger.error("socket.accept() out of system resource (fd %d)", fd)


def test_a_flood_becomes_ten_lines_and_one_counted_line(
    flood_logger: tuple[logging.Logger, Lines, Clock],
) -> None:
    """In: 5,000 errors from one place in the code within a minute (their text differs:
    a descriptor number), interleaved with 3 warnings from another place and 200 info
    lines from a third; then, 61 s later, one more error from the first place.
    Out: the first 10 errors are written, the other 4,990 not; the other places' lines are
    all written (3 warnings; 50 info lines, the rest of that place's 200 held); after the
    minute, one line "4990 more lines like this one in 60 s were not written: socket.accept()
    out of system resource (fd 10)" (the first held) at ERROR, then the new error itself."""
    logger, lines, clock = flood_logger
    for n in range(5000):
        accept_failed(logger, n)
        if n % 2000 == 0:
            logger.warning("gateway refused a connection from %s", n)
        if n < 200:
            logger.info("access line %d", n)
        clock.now += 0.01
    written = lines.lines
    floods = [line for line in written if "out of system resource" in line]
    assert len(floods) == 10
    assert [line for line in written if "refused a connection" in line] == [
        "WARNING tests.flood: gateway refused a connection from 0",
        "WARNING tests.flood: gateway refused a connection from 2000",
        "WARNING tests.flood: gateway refused a connection from 4000",
    ]
    assert len([line for line in written if "access line" in line]) == 50
    before = len(written)
    clock.now += 61
    accept_failed(logger, 99999)
    new = lines.lines[before:]
    assert new[0] == (
        "ERROR tests.flood: 4990 more lines like this one in 60 s were not written: "
        "socket.accept() out of system resource (fd 10)"
    )
    assert "150 more lines like this one" in " ".join(new)
    assert new[-1] == "ERROR tests.flood: socket.accept() out of system resource (fd 99999)"


@pytest.fixture
def instance_logging() -> Iterator[None]:
    """setup_logging's handlers are taken off the root logger again after the test."""
    before = list(logging.getLogger().handlers)
    level = logging.getLogger().level
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@pytest.mark.usefixtures("instance_logging")
def test_asyncios_accept_failures_fill_no_log_file(tmp_path: Path) -> None:
    """In: the instance's logging (setup_logging on a base dir), and 20,000 reports of
    `socket.accept() out of system resource` with an EMFILE traceback through asyncio's
    own exception handler, as its event loop makes them when out of descriptors.
    Out: vigil.log holds 10 of them, with no more than 10 tracebacks, and stays under
    20 KB; a line logged after them from elsewhere is still written."""
    base = BaseDir(tmp_path).ensure()
    setup_logging(base)
    loop = asyncio.new_event_loop()
    try:
        for _ in range(20_000):
            try:
                raise OSError(24, "Too many open files")
            except OSError as exc:
                loop.call_exception_handler(
                    {"message": "socket.accept() out of system resource", "exception": exc}
                )
        logging.getLogger("app.test").warning("after the flood")
    finally:
        loop.close()
        for handler in logging.getLogger().handlers:
            handler.flush()
    text = (base.log_dir / "vigil.log").read_text()
    assert text.count("socket.accept() out of system resource") == 10
    assert text.count("Traceback") <= 10
    assert "after the flood" in text
    assert len(text.encode()) < 20_000


RLIMIT_CHILD = """
import logging, resource, sys
from pathlib import Path
from app.cli import raise_open_file_limit
from app.logs import setup_logging
from app.paths import BaseDir

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
print(raise_open_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
setup_logging(BaseDir(Path(sys.argv[1])).ensure(), verbose=True)
"""


def test_vigil_raises_its_soft_open_file_limit_to_the_hard_one(tmp_path: Path) -> None:
    """In: a child process whose soft RLIMIT_NOFILE is lowered to 256 calls what `vigil`'s
    main() calls first, then sets up logging (verbose) under a base dir.
    Out: its soft limit is now its hard limit (the function says (256, hard)); the log
    file says "open-file limit raised from 256 to HARD" at DEBUG."""
    done = subprocess.run(
        [sys.executable, "-c", RLIMIT_CHILD, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=30,
        check=True,
    )
    said = done.stdout.decode().split()
    hard = said[-1]
    assert said[-2] == hard
    assert " ".join(said[:-2]) == f"(256, {hard})"
    log = (tmp_path / "logs" / "vigil.log").read_text()
    assert f"DEBUG   MainThread vigil: open-file limit raised from 256 to {hard}" in log
