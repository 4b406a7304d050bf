"""A running Vigil: its feeds (from the config, or the demo), its window, its control socket.

`run()` is `vigil run`; `snapshot()` is `vigil snapshot`. Both compose the same pieces, so
what a snapshot shows is what an operator sees. Each first takes its base dir's InstanceLock
(app/control.py): a second instance on one base dir stops there, with one line and exit 1.
A snapshot given no `--base-dir` runs in a temporary one, removed afterwards: it is a
picture, and its feeds' recordings, ledger and logs belong in nobody's evidence.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app import config as config_module
from app.access import Command, ControlDesk
from app.callers.gateway.service import GatewayService
from app.config import Config, EvidenceSettings, MapSettings
from app.control import ControlServer, InstanceLock, InstanceRunningError
from app.evidence.recording import RecordingService
from app.feeds import DemoPositions, DemoSender, FeedService, feed_status, with_password
from app.logs import setup_logging
from app.map import MapService, TrackRecorder
from app.paths import BaseDir
from app.room import ROOM_FOLLOW_S, RoomDesk
from media.live import Feed

log = logging.getLogger(__name__)

EXIT_FAILED = 1


@dataclass(frozen=True)
class Options:
    config: Path | None = None
    base_dir: Path | None = None
    demo: bool = False
    offscreen: bool = False
    verbose: bool = False


class Instance:
    """Feeds and their sources; the Qt-free heart of a running wall."""

    def __init__(self, config: Config | None, *, demo: bool, base: BaseDir) -> None:
        self.base = base
        self.config = config
        self.started_at = time.time()
        # With nothing configured a newcomer sees the demo; a wall with a gateway and no
        # fixed feeds is a caller desk, empty until someone is invited.
        nothing = config is None or (not config.feeds and config.gateway is None)
        room = config.room if config is not None else None
        self.demo = DemoSender() if (demo or nothing) and room is None else None
        if room is not None:
            specs = []  # a room's desk shows the room's feeds: the server pulls them
        elif self.demo is not None:
            specs = self.demo.specs()
        else:
            assert config is not None
            specs = [with_password(feed) for feed in config.feeds]
        self.feeds = FeedService(specs)
        self.room = RoomDesk(room, self.feeds, base.database) if room is not None else None
        """The room server this desk shows, when it is one of a room's desks."""
        # A room's desk records nothing and receives no callers: the server does both.
        self.gateway = (
            GatewayService.from_config(config, base, self.feeds) if room is None else None
        )
        self.map = MapService(config.map if config else MapSettings(), base)
        # Every position a feed reports is kept as its track (evidence exports them).
        recorded = (list) if room is not None else (lambda: list(self.feeds.feeds))
        self.tracks = TrackRecorder(recorded, base.database)
        # Every feed's packets into hashed, chained segments (evidence).
        self.recording = RecordingService(
            base,
            recorded,
            policy=config.recording if config else None,
            sources=self.feeds.source,
        )
        if room is None:
            self.feeds.added.append(self.recording.add)
            self.feeds.removed.append(self.recording.remove)
        # The demo's callers and officers walk York; its drones fly there through their KLV.
        self.demo_positions = DemoPositions(self.feeds.feeds) if self.demo else None
        # What the control socket answers, each command with the permission it needs
        # (the window adds the wall's own: app/wall/remote.py).
        self.desk = ControlDesk(base.database)
        self.desk.add("status", Command(None, "vigil status", lambda _, __: self.status()))

    @property
    def layout(self) -> str:
        return self.config.layout if self.config else "auto"

    def start(self) -> None:
        if self.room is not None:
            self.room.start()
        self.map.start()
        if self.demo is not None:
            self.demo.start()
        self.recording.start()  # recovers what a crash left before anything records
        self.feeds.start()
        if self.demo_positions is not None:
            self.demo_positions.start()
        self.tracks.start()

    def stop(self) -> None:
        if self.room is not None:
            self.room.stop()
        if self.demo_positions is not None:
            self.demo_positions.stop()
        self.tracks.stop()
        self.feeds.stop()
        self.recording.stop()  # after the sources: the open segments close whole
        if self.demo is not None:
            self.demo.stop()
        self.map.close()

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "base_dir": str(self.base.root),
            "config": str(self.config.path) if self.config and self.config.path else None,
            "demo": self.demo is not None,
            "feeds": [self._feed_status(feed, now) for feed in self.feeds.feeds],
            "gateway": self.gateway.status() if self.gateway else None,
            "room": self.room.status() if self.room else None,
            "map": self.map.status(),
            "tracks": self.tracks.status(),
            "recording": self.recording.status(),
        }

    def _feed_status(self, feed: Feed, now: float) -> dict[str, Any]:
        status = feed_status(feed, now)
        if self.room is not None and self.room.shows(feed):
            status["via"] = "room"
        return status


def make_qt_app(offscreen: bool) -> Any:
    """The QApplication, set up as Vigil runs it (the benchmark uses this too)."""
    # Decode threads take the GIL between FFmpeg calls; with the default 5 ms switch
    # interval the GUI thread waits behind them and paints late. Measured at 16x1080p on
    # 2 cores: 7.1 fps shown with 5 ms, 17.5 with 0.5 ms.
    sys.setswitchinterval(0.0005)
    if offscreen:
        # Keep an offscreen platform's options (a test's several virtual screens).
        if not os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        # The map is a Qt Quick scene; with no screen there is no GPU to draw it with.
        os.environ.setdefault("QT_QUICK_BACKEND", "software")
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.qt_log import route_qt_messages
    from resources import ICON
    from widgets.theme import apply_dark_theme

    route_qt_messages()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    app.setApplicationName("Vigil")
    app.setDesktopFileName("vigil")
    app.setWindowIcon(QIcon(str(ICON)))
    apply_dark_theme(app)
    return app


def _compose(options: Options, *, offscreen: bool) -> tuple[BaseDir, Any, Instance, Any]:
    """Base dir, logging, config, Qt, feeds and window: what `run` and `snapshot` share."""
    from app.access import AccountBook, Session
    from app.config import AccessSettings, SignIn
    from app.database import open_database
    from app.evidence import CustodyLog
    from app.evidence.review import open_review
    from app.room import RoomReviewStore, RoomSession
    from app.wall.remote import serve_wall
    from app.wall.screens import wall_screens
    from app.window import WallWindow

    base = BaseDir.resolve(options.base_dir).ensure()
    setup_logging(base, verbose=options.verbose)
    config = config_module.read(options.config)
    app = make_qt_app(offscreen)
    instance = Instance(config, demo=options.demo, base=base)
    map_view = instance.map.view()
    access = config.access if config else AccessSettings()
    db = open_database(base.database)  # the window's session: who is here, what they may do
    book = AccountBook(db, CustodyLog(db))
    room = instance.room
    session = (
        Session(book, access)
        if room is None
        else RoomSession(book, access, room, on_sign_in=room.show_room)
    )
    window = WallWindow(
        instance.feeds.feeds,
        layout=instance.layout,
        state_file=base.wall_state,
        title_note=" (demo)" if instance.demo else "",
        service=instance.feeds,
        gateway=instance.gateway,
        map_view=map_view,
        database=base.database,
        # A room desk's evidence is the server's: its tags and custody entries go there.
        clips=room.clips if room is not None else None,
        custody=room.custody if room is not None else None,
        tag_seconds=(config.evidence if config else EvidenceSettings()).tag_seconds,
        open_review=lambda parent, actor=None: open_review(
            base,
            parent,
            map_view,
            config=config,
            actor=actor,
            store=RoomReviewStore(base, room, actor=actor) if room is not None else None,
        ),
        session=session,
        sign_in=access.sign_in if room is None else SignIn.VIGIL,
        screens=wall_screens(config.screens if config else 1),
    )
    serve_wall(instance.desk, window.screens, window.bodycams)
    if room is not None:
        follow_room(room, window)
    return base, app, instance, window


def follow_room(room: RoomDesk, window: Any) -> None:
    """Keep a desk's wall the room's: every 2 s the room's feeds are asked for off the GUI
    thread, and callers who came or went are put on or taken off the wall on it."""
    from PySide6.QtCore import QTimer

    from widgets.background import run_in_background

    asking: list[bool] = []

    def ask() -> None:
        if asking or not room.signed_in:
            return  # one question at a time: an unreachable server takes 5 s to say so
        asking.append(True)

        def done(listed: list[dict[str, Any]]) -> None:
            asking.clear()
            room.apply(listed)

        def failed(exc: Exception) -> None:
            asking.clear()
            room.failed(exc)

        run_in_background(room.fetch, done, failed, context=window)

    timer = QTimer(window)
    timer.setInterval(round(ROOM_FOLLOW_S * 1000))
    timer.timeout.connect(ask)
    timer.start()


def _claim(options: Options) -> InstanceLock | None:
    """The base dir's lock, taken before anything in it is opened; None (and the reason on
    stderr) when another instance holds it."""
    base = BaseDir.resolve(options.base_dir).ensure()
    try:
        return InstanceLock.take(base.run_dir)
    except InstanceRunningError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return None


def run(options: Options) -> int:
    import qasync

    lock = _claim(options)
    if lock is None:
        return EXIT_FAILED
    base, app, instance, window = _compose(options, offscreen=options.offscreen)
    control = ControlServer(base.control_socket, instance.desk.handle, lock=lock)

    async def main() -> None:
        closed = asyncio.Event()
        app.lastWindowClosed.connect(closed.set)
        await control.start()
        instance.start()
        if instance.gateway is not None:
            await instance.gateway.start()
        window.show()
        log.info("Vigil running with %d feeds, base dir %s", len(instance.feeds.feeds), base.root)
        try:
            await closed.wait()
        finally:
            await control.close()
            if instance.gateway is not None:
                await instance.gateway.close()
            instance.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: window.close())
    app.setQuitOnLastWindowClosed(False)
    asyncio.set_event_loop_policy(None)
    qasync.run(main())
    log.info("Vigil stopped")
    return 0


def snapshot(options: Options, out: Path, after_s: float, size: tuple[int, int]) -> int:
    if options.base_dir is None:
        temporary = Path(tempfile.mkdtemp(prefix="vigil-snapshot-"))
        try:
            return snapshot(replace(options, base_dir=temporary), out, after_s, size)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
            if temporary.exists():
                print(f"vigil: could not remove the snapshot's {temporary}", file=sys.stderr)
    lock = _claim(options)
    if lock is None:
        return EXIT_FAILED
    try:
        return _snapshot(options, out, after_s, size)
    finally:
        lock.release()


def _snapshot(options: Options, out: Path, after_s: float, size: tuple[int, int]) -> int:
    from PySide6.QtCore import QTimer

    _, app, instance, window = _compose(options, offscreen=True)
    window.resize(*size)
    saved: list[bool] = []

    def take() -> None:
        saved.append(window.grab().save(str(out), "PNG"))
        app.quit()

    instance.start()
    window.show()
    QTimer.singleShot(round(after_s * 1000), take)
    try:
        app.exec()
    finally:
        window.close()
        instance.stop()
    if not saved or not saved[0]:
        log.error("could not write %s", out)
        return 1
    return 0
