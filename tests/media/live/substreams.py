"""A camera with two streams on loopback, for the sub-stream tests: the demo's own encoder
(`media.demo.TsUdpSender` with a `SubStream`) sending the same moving test card as a main
stream and a smaller sub-stream, each MPEG-TS over UDP to its own port, from a thread.

Both streams carry the frame number as a barcode (media/testcard.py) and are encoded on the
same tick, so a picture read back from either says which moment it shows: a switch between
them that showed the old stream until the new one's first picture has no jump in the numbers.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import numpy as np

from media.demo import SubStream, TsUdpSender
from media.live.slot import Picture
from media.testcard import TestCard, read_frame_number
from tests.servers import free_port

FPS = 15
"""With a key frame every second (the demo encoder's GOP is its frame rate)."""


class Camera:
    """Sends a `main` sized main stream and a sub-stream (`sub_size`, `sub_codec`) until
    stopped; `stop_sub()` ends the sub-stream alone, as a camera whose second encoder dies."""

    def __init__(
        self,
        main: tuple[int, int] = (640, 360),
        sub_size: tuple[int, int] = (320, 180),
        sub_codec: str = "libx264",
        name: str = "CAM",
    ) -> None:
        self.port = free_port(socket.SOCK_DGRAM)
        self.sub_port = free_port(socket.SOCK_DGRAM)
        self._card = TestCard(name, *main, (90, 160, 255))
        self._sub = SubStream(self.sub_port, sub_size, sub_codec)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.port}", daemon=True)
        self.error: BaseException | None = None
        self.sub_stopped = False

    @property
    def url(self) -> str:
        return f"udp://127.0.0.1:{self.port}"

    @property
    def sub_url(self) -> str:
        return f"udp://127.0.0.1:{self.sub_port}"

    def start(self) -> Camera:
        self._thread.start()
        return self

    def stop_sub(self) -> None:
        self.sub_stopped = True

    def _run(self) -> None:
        try:
            sender = TsUdpSender(self._card, self.port, FPS, sub=self._sub)
            next_tick = time.monotonic()
            while not self._stop.is_set():
                if self.sub_stopped:  # the same main stream goes on; only the sub's stops
                    sender.drop_sub()
                sender.send_next(dt.datetime.now(dt.UTC))
                next_tick += 1 / FPS
                delay = next_tick - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_tick = time.monotonic()
            sender.close()
        except BaseException as exc:  # the test asserts on it; a sender must not die silently
            self.error = exc
            raise

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        assert self.error is None, f"the camera's sender failed: {self.error!r}"


def frame_number(picture: Picture) -> int:
    return read_frame_number(picture.pixels[:, : picture.width])


def is_black(picture: Picture) -> bool:
    """Nearly all black: what a tile must never show while switching streams."""
    return float(np.asarray(picture.pixels[:, : picture.width, :3]).mean()) < 8
