"""The main window: the wall in the middle, menus for layout and view, a status line.

It composes widgets/ with the app's services and keeps the wall's arrangement between runs.
On a wall of several screens it is screen 1, the supervisor's, and drives the others
(app/wall/screens.py, app/wall/menus.py). It keeps the custody log's viewing records true
to what is on view, to whom, and for a body cam why (app/access/viewing.py,
app/access/bodycam_desk.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QScreen, QShowEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QWidget

from app.access import CustodyWriter, How, Permission, Person, Session, ViewingLog
from app.access.bodycam_desk import BodycamDesk
from app.access.window_controls import AccessControls, banner_above
from app.callers import CallerLink, LinkState
from app.callers.controls import CallerControls
from app.callers.gateway.service import GatewayService
from app.config import SignIn
from app.evidence.tagging import DEFAULT_TAG_SECONDS, OpenClips, TagDesk
from app.feeds import FeedService
from app.map import MapView
from app.map.panel_settings import map_setup
from app.wall import ScreenPlan, WallState, ordered
from app.wall.menus import WallMenus
from app.wall.on_view import OnView
from app.wall.screens import WallScreens
from media.live import Feed, FeedKind, FeedState
from widgets import theme
from widgets.access import AccessBanner
from widgets.layout import CHOICES
from widgets.map import MapPanel
from widgets.wall import AlertKind, AlertList, AlertWatcher, AudioOut, Wall


class WallWindow(QMainWindow):
    def __init__(
        self,
        feeds: list[Feed],
        *,
        layout: str = "auto",
        state_file: Path | None = None,
        title_note: str = "",
        service: FeedService | None = None,
        gateway: GatewayService | None = None,
        map_view: MapView | None = None,
        database: Path | None = None,
        clips: OpenClips | None = None,
        custody: CustodyWriter | None = None,
        tag_seconds: float = DEFAULT_TAG_SECONDS,
        open_review: Callable[..., QWidget] | None = None,
        session: Session | None = None,
        sign_in: SignIn = SignIn.OS,
        screens: Sequence[QScreen] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._state_file = state_file
        saved = WallState.load(state_file) if state_file else WallState()
        names = ordered([feed.name for feed in feeds], saved.order)
        by_name = {feed.name: feed for feed in feeds}
        self.wall = Wall([by_name[name] for name in names], saved.layout or layout, self)
        # Screens 2 and on (none: a wall of one screen), each with its own layout and feeds.
        self.screens = WallScreens(
            self.wall,
            list(screens) or [self.screen()],
            # Screen 1 as the window's wall is now: the saved layout, else the config's.
            plan=saved.plan.with_screen(0, ScreenPlan(self.wall.layout_name, tuple(saved.order))),
            presets=saved.presets,
            current_preset=saved.current_preset,
            parent=self,
        )
        self.screens.changed.connect(self._save_state)
        # Body cams are shuttered until opened for a stated reason (before the first paint).
        self.bodycams = BodycamDesk(self._person, self, locked=self._locked)
        self._review_before_lock = False
        self._viewer: tuple[str, str, bool] | None = None
        """Who is at the window: (user, how, locked); any change shutters every body cam."""
        self.banner = AccessBanner()
        self._no_watching = QLabel()
        self._no_watching.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._no_watching.setWordWrap(True)
        self._no_watching.hide()
        self.setCentralWidget(banner_above(self.wall, self.banner, self._no_watching))
        self.audio = AudioOut(self)
        self.wall.layout_changed.connect(self._save_state)
        self.wall.order_changed.connect(self._save_state)
        self.setWindowTitle(f"Vigil — control-room wall{title_note}")
        self.resize(1600, 900)
        self.callers = (
            CallerControls(gateway, service, self.wall, self)
            if gateway is not None and service is not None
            else None
        )
        if service is not None and self.callers is None:
            # Feeds that come and go while the wall runs without a gateway: a room's, as
            # its desk signs in and out.
            service.added.append(self._feed_came)
            service.removed.append(self._feed_gone)
        self.map = MapPanel(
            lambda: [tile.feed for tile in self.screens.tiles()],
            map_setup(map_view, fit_first=True),
        )
        self.map_dock = QDockWidget("Map", self)
        self.map_dock.setObjectName("map-dock")
        self.map_dock.setWidget(self.map)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.map_dock)
        self.resizeDocks([self.map_dock], [520], Qt.Orientation.Horizontal)
        # Trouble (a feed stalled, reconnecting or failed, a caller gone, a recording
        # stopped) in a list beside the wall, each entry a click away from its tile.
        self.alert_watcher = AlertWatcher()
        self.alerts = AlertList(self.alert_watcher)
        self.alerts_dock = QDockWidget("Alerts", self)
        self.alerts_dock.setObjectName("alerts-dock")  # saveState/restoreState need it
        self.alerts_dock.setWidget(self.alerts)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.alerts_dock)
        # The map is looked at, the alerts read: most of the height to the map.
        self.resizeDocks([self.map_dock, self.alerts_dock], [3, 1], Qt.Orientation.Vertical)
        self.alerts.feed_activated.connect(self._alert_chosen)
        self.alerts.unacknowledged_changed.connect(
            lambda n: self.alerts_dock.setWindowTitle(f"Alerts ({n})" if n else "Alerts")
        )
        if gateway is not None:
            gateway.desk.link_ended.append(self._on_link_ended)
        if saved.panels:
            self.restoreState(QByteArray.fromBase64(saved.panels.encode("ascii")))
        self.alerts_dock.visibilityChanged.connect(self._save_state)
        self.alerts_dock.topLevelChanged.connect(self._save_state)
        self.map_dock.visibilityChanged.connect(self._save_state)
        self.map_dock.topLevelChanged.connect(self._save_state)
        self.map.feed_clicked.connect(self.spotlight_feed)
        # Tagging needs the evidence database; a window shown without one (a test of the
        # wall alone) offers no Evidence menu rather than one that fails.
        # A room's desk makes its clips on the room server (`clips`), else this database.
        where_clips = clips or database
        self.tags = (
            TagDesk(
                self.wall, where_clips, self._say, self, tag_seconds=tag_seconds, actor=self._actor
            )
            if where_clips is not None
            else None
        )
        if self.tags is not None:
            self.wall.escape_pressed.connect(self.tags.drop_marks)
        # Who saw which feed, and for how long, goes into the custody log.
        self.viewing = ViewingLog(database, write=custody) if database is not None else None
        self.on_view = OnView(
            self.screens, self.bodycams, self.viewing, self.audio, person=self._person, parent=self
        )
        for wall in self.screens.walls:
            self._hook(wall)
        self._open_review = open_review
        self.review: QWidget | None = None
        self._build_menus()
        self.wall_menus = WallMenus(self, self.screens, self._say)
        # Who is signed in, and what their role offers (no session: a wall shown alone).
        self.access = (
            AccessControls(session, self, self.banner, sign_in=sign_in, on_change=self._offer)
            if session is not None
            else None
        )
        if self.access is not None:
            self._gate_controls(self.access)
            self.access.start()
        else:
            self._offer()
        self.wall.set_empty_text(
            "No callers yet.\n\nInvite a caller with Callers ▸ Invite caller… (Ctrl+I): "
            "their video appears here when they agree."
            if self.callers is not None
            else "No feeds are configured."
        )
        self._counts = QLabel()
        self._where = QLabel()
        self._alert = QLabel()
        self._alert.setStyleSheet(f"color: {theme.ERROR_TEXT.name()}; font-weight: bold")
        self._alert.hide()
        self.statusBar().addWidget(self._counts, 1)
        self.statusBar().addPermanentWidget(self._alert)
        self.statusBar().addPermanentWidget(self._where)
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start(500)
        self._update_status()
        self.wall.setFocus()

    def _build_menus(self) -> None:
        view = self.menuBar().addMenu("&View")
        layouts = view.addMenu("&Layout")
        group = QActionGroup(self)
        for name in CHOICES:
            action = QAction(name, self, checkable=True)
            action.setChecked(name == self.wall.layout_name)
            action.triggered.connect(lambda _=False, n=name: self.wall.set_layout(n))
            group.addAction(action)
            layouts.addAction(action)

        def check_current(name: str) -> None:
            for action in group.actions():
                action.setChecked(action.text() == name)

        self.wall.layout_changed.connect(check_current)
        self.layout_actions = [layouts.menuAction(), *group.actions()]
        self._add(view, "&Spotlight selected tile", "Return", self.wall.toggle_spotlight)
        self._add(view, "&Listen to selected tile", "M", self.wall.toggle_listening)
        self.bodycam_action = self._add(
            view, "&Open / close selected body cam…", "O", self.toggle_selected_bodycam
        )
        self._add(view, "&Full screen", "F11", self.toggle_full_screen)
        self.map_action = self.map_dock.toggleViewAction()
        self.map_action.setText("&Map")
        self.map_action.setShortcut(QKeySequence("Ctrl+M"))
        view.addAction(self.map_action)
        self.addAction(self.map_action)
        self.alerts_action = self.alerts_dock.toggleViewAction()
        self.alerts_action.setText("&Alerts")
        self.alerts_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        view.addAction(self.alerts_action)
        self.addAction(self.alerts_action)
        view.addSeparator()
        self._add(view, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        self._build_evidence_menu()
        callers = self.menuBar().addMenu("&Callers")
        self.invite_action = self._add(callers, "&Invite caller…", "Ctrl+I", self._invite)
        if self.callers is None:
            self.invite_action.setEnabled(False)
            self.invite_action.setToolTip("No caller gateway: add [gateway] to the config")
            callers.setToolTipsVisible(True)

    def _build_evidence_menu(self) -> None:
        if self.tags is None and self._open_review is None:
            return
        evidence = self.menuBar().addMenu("&Evidence")
        if self.tags is not None:
            seconds = f"{self.tags.tag_seconds:g}"
            self.tag_action = self._add(
                evidence, f"&Tag last {seconds} s of selected tile", "T", self.tags.tag_last
            )
            self.mark_action = self._add(
                evidence, "&Mark in / out on selected tile", "Shift+T", self.tags.mark
            )
        if self._open_review is not None:
            evidence.addSeparator()
            self.review_action = self._add(evidence, "&Review clips…", "Ctrl+R", self.show_review)

    def _gate_controls(self, access: AccessControls) -> None:
        if self.tags is not None:
            access.gate(self.tag_action, Permission.TAG)
            access.gate(self.mark_action, Permission.TAG)
        if self._open_review is not None:
            access.gate(self.review_action, Permission.REVIEW)
        if self.callers is not None:
            access.gate(self.invite_action, Permission.INVITE_CALLERS)
        for action in self.layout_actions:
            access.gate(action, Permission.MANAGE_LAYOUTS)

    def _offer(self) -> None:
        """After a sign-in, sign-out or lock: live pictures only for a role that watches,
        body cams shuttered again for anyone new, the wall's controls for who may."""
        person = self._person()
        locked = self._locked()
        viewer = None if person is None else (person.user, person.how.value, locked)
        if viewer != self._viewer:
            # Opened for one person's stated reason: never carried over to the next, nor
            # left open while they are away from a locked window.
            if self._viewer is not None and viewer is not None and viewer[:2] != self._viewer[:2]:
                self._drop_review()
            self._viewer = viewer
            self.bodycams.drop_dialog()
            self.bodycams.close_all()
        if self.review is not None and locked:
            self._review_before_lock = self._review_before_lock or self.review.isVisible()
            self.review.hide()
        elif self.review is not None and self._review_before_lock:
            self._review_before_lock = False
            self.review.show()
        watching = person is None or person.may(Permission.WATCH_FEEDS)
        self.wall.setVisible(watching)
        self.screens.set_watching(watching)
        self._no_watching.setVisible(not watching)
        if person is not None and person.how is How.NOBODY and person.problem:
            self._no_watching.setText(person.problem)  # nobody signed in: what to do
        elif person is not None:
            role = person.role.value if person.role else "no role"
            self._no_watching.setText(
                f"{person.label}: live feeds are not part of this role ({role})."
                + ("\n\nEvidence ▸ Review clips… (Ctrl+R)" if person.may(Permission.REVIEW) else "")
            )
        may_open = self.bodycams.may_open()
        for wall in self.screens.walls:
            wall.offers_opening = may_open
        self.bodycam_action.setVisible(may_open)
        self.bodycam_action.setEnabled(may_open)
        self.wall_menus.allow(
            not self._locked() and (person is None or person.may(Permission.MANAGE_LAYOUTS))
        )
        self.on_view.refresh()

    # -- who is here, and what is on view to them ------------------------------------------

    def _person(self) -> Person | None:
        """Who is at the window (None: a wall shown with no session, as in a test)."""
        return self.access.session.person if self.access is not None else None

    def _locked(self) -> bool:
        return self.access is not None and self.access.session.locked

    def _actor(self) -> str | None:
        """Whose name goes on what this window logs: the signed-in account's."""
        person = self._person()
        return person.user if person is not None else None

    def _hook(self, wall: Wall) -> None:
        """One screen's wall into the window: selection to the map, a caller's end from
        its tile (the rest of what a wall does is on view: app/wall/on_view.py)."""
        wall.selection_changed.connect(
            lambda feed: self.map.select(feed.name if feed is not None else None)
        )
        if self.callers is not None and wall is not self.wall:
            self.callers.watch(wall)

    def toggle_selected_bodycam(self) -> None:
        """O: open the selected body cam (asking why), or close it if open."""
        tile = self.wall.selected
        if tile is None:
            self._say("Select a body cam's tile first")
        elif tile.feed.kind is not FeedKind.BODYCAM:
            self._say(f"{tile.feed.name} is not a body cam: it needs no reason to watch")
        elif tile.feed.name in self.bodycams.open:
            self.bodycams.close(tile.feed.name)
        else:
            self.bodycams.ask(tile.feed)

    def show_review(self) -> QWidget | None:
        """Open (or bring forward) the Review window: a window of its own, so forensic
        staff can put it on another screen while the wall runs."""
        if self._open_review is None:
            return None
        if self.review is None:
            self.review = self._open_review(self, actor=self._actor())
        self.review.show()
        self.review.raise_()
        return self.review

    def _say(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _invite(self) -> None:
        if self.callers is not None:
            self.callers.invite()

    def _add(
        self,
        menu: QMenu,
        text: str,
        keys: str | QKeySequence.StandardKey,
        slot: Callable[[], object],
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        # Return and M reach the wall as keys; the menu entries only document them.
        if keys in ("Return", "M"):
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _drop_review(self) -> None:
        """The Review window is the person's: it closes when they go (its open clip's
        viewing ends under their name), and the next person opens their own."""
        if self.review is None:
            return
        finish = getattr(self.review, "finish", None)
        if finish is not None:
            finish()
        self.review.close()
        self.review.deleteLater()
        self.review = None

    def spotlight_feed(self, name: str) -> None:
        """A marker on the map was tapped: select its tile and give it its screen."""
        wall = self.screens.wall_of(name)
        tile = wall.tile_of(name) if wall is not None else None
        if wall is not None and tile is not None:
            wall.select(tile)
            wall.set_spotlight(tile)

    def _alert_chosen(self, name: str) -> None:
        self.spotlight_feed(name)
        self.wall.setFocus()  # the wall's keys work straight after choosing with Enter

    def _on_link_ended(self, link: CallerLink) -> None:
        # A decline never shows in a feed's state as anything but ENDED: say it plainly.
        if link.state is LinkState.DECLINED:
            self.alert_watcher.raise_alert(
                AlertKind.CALLER_DECLINED, link.feed_name, "did not agree to share video"
            )

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def _feed_came(self, feed: Feed) -> None:
        self.wall.add_feed(feed)

    def _feed_gone(self, feed: Feed) -> None:
        wall = self.screens.wall_of(feed.name)
        if wall is not None:
            wall.remove_feed(feed)

    def _save_state(self, *_: object) -> None:
        if self._state_file is not None and hasattr(self, "screens"):
            panels = bytes(self.saveState().toBase64().data()).decode("ascii")
            state = WallState(panels=panels, current_preset=self.screens.current_preset)
            state.presets = self.screens.presets.presets
            state.with_plan(self.screens.plan()).save(self._state_file)

    def _update_status(self) -> None:
        now = time.monotonic()
        tiles = self.screens.tiles()
        # Every feed on the wall, not just those shown: one missing is resolved as gone.
        self.alert_watcher.check([tile.feed for tile in tiles], now)
        states = Counter(tile.feed.state(now) for tile in tiles)
        parts = [f"{len(tiles)} feeds"]
        if self.screens.count > 1:
            parts[0] += f" on {self.screens.count} screens"
        for state in (
            FeedState.LIVE,
            FeedState.STALLED,
            FeedState.RECONNECTING,
            FeedState.CONNECTING,
            FeedState.FAILED,
            FeedState.ENDED,
        ):
            if states[state]:
                parts.append(f"{states[state]} {state.value}")
        hidden = self.wall.hidden_count
        if hidden and self.wall.spotlight_tile is None:
            parts.append(f"{hidden} not shown in this layout")
        self._counts.setText("  ·  ".join(parts))
        self._show_recording_alert()
        heard = self.audio.feed
        preset = self.screens.current_preset
        self._where.setText(
            f"layout {self.wall.layout_name}  ·  "
            + (f"preset {preset}  ·  " if preset else "")
            + (f"listening: {heard.name}" if heard else "all muted")
        )

    def _show_recording_alert(self) -> None:
        """Evidence being lost is never a quiet absence: every feed whose recording has
        stopped for good is named in red, with the first one's reason."""
        tiles = self.screens.tiles()
        stopped = [t.feed for t in tiles if t.feed.recording_stopped is not None]
        if not stopped:
            self._alert.hide()
            return
        names = ", ".join(feed.name for feed in stopped[:3])
        more = f" and {len(stopped) - 3} more" if len(stopped) > 3 else ""
        self._alert.setText(f"⚠ Not recording: {names}{more}")
        self._alert.setToolTip(
            "\n".join(f"{feed.name}: {feed.recording_stopped}" for feed in stopped)
        )
        self._alert.show()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.screens.show()  # the further screens' windows come with the supervisor's

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_state()
        self.screens.close()
        if self.viewing is not None:
            self.viewing.close()
        if self.access is not None:
            self.access.close()
        # The Review window's open clip: its viewing ends now, not on a worker that may
        # never run again once the application quits.
        self._drop_review()
        self.audio.play(None)
        super().closeEvent(event)
