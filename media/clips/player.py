"""Plays a clip on its own thread: show a frame, step one forward or back, play and pause,
at 0.25x to 4x, paced by the frames' UTC times.

The Review window's player (widgets/evidence/review_player.py) sends commands from the GUI thread;
they queue, and the `review-player` thread decodes (media/clips/reader.py) and hands each
picture, already scaled and converted for the screen, to `on_frame`. A burst of seeks (a
slider dragged) is served by its last one only. Playing paces frames by their UTC times, so
what took 2 s in the street takes 2 s on screen at 1x; a frame the screen is late for is
decoded but not converted or shown. Across a gap (no picture for more than a second) it
goes straight on to the next frame rather than showing a still picture for the length of
the gap; the time label and the timeline say the gap is there. No Qt here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from media.clips.reader import ClipDecoder, ClipIndex, ClipReadError, FrameRef, Pixels

log = logging.getLogger(__name__)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
GAP_JUMP_S = 1.0
"""Playing does not wait out a stretch with no picture longer than this."""


@dataclass(frozen=True)
class ShownFrame:
    """A frame ready for the screen: BGRA rows of `stride` bytes at `width` x `height`."""

    ref: FrameRef
    pixels: Pixels
    width: int
    height: int
    stride: int
    source_width: int
    source_height: int


@dataclass(frozen=True)
class PlayState:
    position: int
    """The number of the frame on screen (or about to be)."""
    playing: bool
    speed: float
    error: str | None = None
    """Why the last frame asked for could not be shown."""


@dataclass(frozen=True)
class _Command:
    kind: str  # "show", "step", "play", "pause", "speed", "box", "stop"
    value: float = 0.0
    box: tuple[int, int] = (0, 0)


class ClipPlayer:
    """One clip's player. `on_frame` and `on_state` run on the player's thread: they should
    hand the news on and return. `close()` ends the thread."""

    def __init__(
        self,
        index: ClipIndex,
        on_frame: Callable[[ShownFrame], None],
        on_state: Callable[[PlayState], None] | None = None,
        *,
        box: tuple[int, int] = (640, 360),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index = index
        self._on_frame = on_frame
        self._on_state = on_state
        self._clock = clock
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._decoder = ClipDecoder(index)
        self._box = box
        self._position = 0
        self._playing = False
        self._speed = 1.0
        self._anchor = (0.0, 0.0)  # (clock, utc) a playing frame's due time counts from
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name="review-player", daemon=True)
        self._thread.start()

    # -- commands, from any thread ---------------------------------------------------------

    def show(self, number: int) -> None:
        """Go to frame `number` (playing goes on from there)."""
        self._commands.put(_Command("show", number))

    def show_utc(self, utc: float) -> None:
        self.show(self.index.frame_at(utc))

    def step(self, frames: int) -> None:
        """Pause and move `frames` on (negative: back)."""
        self._commands.put(_Command("step", frames))

    def play(self) -> None:
        self._commands.put(_Command("play"))

    def pause(self) -> None:
        self._commands.put(_Command("pause"))

    def set_speed(self, speed: float) -> None:
        if not SPEEDS[0] <= speed <= SPEEDS[-1]:
            raise ValueError(f"speed {speed:g} is outside {SPEEDS[0]:g}-{SPEEDS[-1]:g}")
        self._commands.put(_Command("speed", speed))

    def set_box(self, width: int, height: int) -> None:
        """The size the pictures are shown at (the current one is redrawn to fit)."""
        self._commands.put(_Command("box", box=(max(2, width), max(2, height))))

    def close(self, timeout_s: float = 3.0) -> bool:
        """Stop the thread and let go of the files; False if it did not end in time."""
        self._commands.put(_Command("stop"))
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._show(self._position)
            while True:
                wait = self._due() - self._clock() if self._playing else None
                commands = self._take(max(0.0, wait) if wait is not None else None)
                if any(c.kind == "stop" for c in commands):
                    return
                for command in _last_show_only(commands):
                    self._handle(command)
                if self._playing and self._clock() >= self._due():
                    self._advance()
        except Exception:  # a player that dies silently looks like a frozen picture
            log.exception("the clip player stopped")
            self._report("the player stopped; open the clip again")
        finally:
            self._decoder.close()

    def _take(self, timeout: float | None) -> list[_Command]:
        try:
            commands = [self._commands.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                commands.append(self._commands.get_nowait())
            except queue.Empty:
                return commands

    def _handle(self, command: _Command) -> None:
        last = len(self.index) - 1
        if command.kind == "show":
            self._show(min(max(0, int(command.value)), last))
            self._reanchor()
            self._stop_at_end()  # sent to the last frame while playing: nothing follows
        elif command.kind == "step":
            was_playing, self._playing = self._playing, False
            self._show(min(max(0, self._position + int(command.value)), last))
            if was_playing:
                self._report()
        elif command.kind == "play":
            if self._position >= last:  # played to the end: play again from the start
                self._show(0)
            self._playing = len(self.index) > 1
            self._reanchor()
            self._report()
        elif command.kind == "pause":
            self._playing = False
            self._report()
        elif command.kind == "speed":
            self._speed = command.value
            self._reanchor()
            self._report()
        elif command.kind == "box":
            self._box = command.box
            self._show(self._position)

    def _reanchor(self) -> None:
        if self.index.frames:
            self._anchor = (self._clock(), self.index.frames[self._position].utc)

    def _due(self) -> float:
        """When the next frame is due on screen."""
        frames = self.index.frames
        if self._position + 1 >= len(frames):
            return self._clock()
        after = frames[self._position + 1].utc
        if after - frames[self._position].utc > GAP_JUMP_S:
            return self._clock()
        started, utc = self._anchor
        return started + (after - utc) / self._speed

    def _advance(self) -> None:
        frames, now = self.index.frames, self._clock()
        target = self._position + 1
        if frames[target].utc - frames[self._position].utc > GAP_JUMP_S:
            self._show(target)
            self._reanchor()  # the gap is not waited out
        else:
            started, utc = self._anchor
            # Late: go to the last frame already due; the ones between are decoded (they
            # must be, to reach it) but never converted or shown.
            while (
                target + 1 < len(frames)
                and frames[target + 1].utc - frames[target].utc <= GAP_JUMP_S
                and started + (frames[target + 1].utc - utc) / self._speed <= now
            ):
                target += 1
            self._show(target)
        self._stop_at_end()

    def _stop_at_end(self) -> None:
        """Playing ends at the last frame; left on, `_due` would say "now" for ever."""
        if self._playing and self._position >= len(self.index) - 1:
            self._playing = False
            self._report()

    def _show(self, number: int) -> None:
        if not self.index.frames:
            self._report("the clip has no pictures")
            return
        self._position = number
        try:
            pixels, width, height, stride = self._decoder.picture(number, self._box)
        except ClipReadError as exc:
            self._playing = False
            self._report(str(exc))
            return
        if self._error is not None:
            self._report()  # the error is over
        self._on_frame(
            ShownFrame(
                self.index.frames[number],
                pixels,
                width,
                height,
                stride,
                self.index.width,
                self.index.height,
            )
        )

    def _report(self, error: str | None = None) -> None:
        self._error = error
        if self._on_state is not None:
            self._on_state(PlayState(self._position, self._playing, self._speed, error))


def _last_show_only(commands: list[_Command]) -> list[_Command]:
    """Drop every "show" that a later "show" replaces before anything else happens."""
    kept: list[_Command] = []
    for command in commands:
        if command.kind == "show" and kept and kept[-1].kind == "show":
            kept[-1] = command
        else:
            kept.append(command)
    return kept
