"""The Textual App: screen navigation, global keys, type-ahead buffer, status poller, embedded sender.

Contract for screens (docs/ARCHITECTURE.md, TUI section): ``app.db``, ``app.settings``,
``app.training``, ``app.actor``, ``app.current_network_id``, ``app.sending``, ``app.open_*()``,
``app.wake_sender()``, ``app.status`` / ``app.status_signal``, ``app.push_buffered(screen)``,
``app.hold_keys()`` / ``app.release_keys()``.

Type-ahead (shared notes/textual.md §2.3): a key that pushes a screen or moves focus would let the
keys that follow in the same burst reach the *old* screen. So every navigation holds the keys that
arrive after it (``hold_keys``), and the new screen, once its focus is set, calls
``release_keys``; the held keys are then replayed, in order, to the new focus. A safety timer
releases them anyway so a key can never be stuck.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.worker import get_current_worker

from .actor import Actor

log = logging.getLogger(__name__)

HOLD_SAFETY_S = 2.0  # held keys are replayed after this even if no screen released them
STATUS_POLL_S = 0.5
STALE_HEARTBEAT_S = 15.0  # a sender that has not written its status for this long may be dead
KEY_BARRIER_S = 1.0  # longest wait for one key to be handled before the next goes anyway
SENDER_START_WAIT_S = 15.0  # stop waits this long for a start still running (outbox recovery)
SENDER_STOP_JOIN_S = 8.0  # run_console waits this long for the sender to unbind after the TUI exits


HIGH_CONTRAST = Theme(
    name="high-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#ffffff",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    success="#00ff00",
    warning="#ffff00",
    error="#ff5555",
    dark=True,
)


@dataclass(frozen=True)
class LinkStatus:
    """What the status line shows: the SMSC link, the queue, training mode."""

    link: str = "unknown"  # bound | connecting | reconnecting | throttled | config_error | stopped | unknown
    detail: str = ""
    queue_depth: int = 0
    training: bool = False
    accounts: tuple[tuple[str, str], ...] = field(default_factory=tuple)


# Global keys, shown first in the footer; every one also has a palette command (see get_system_commands).
GLOBAL_KEYS: list[tuple[str, str]] = [
    ("F1", "help for this screen"),
    ("F2", "networks (search)"),
    ("F3", "members of the current network"),
    ("F4", "compose an alert to the current network"),
    ("F6", "delivery monitor"),
    ("F7", "inbox (replies)"),
    ("F8", "history (past alerts)"),
    ("Escape", "back"),
    ("Ctrl+P", "command palette"),
    ("Ctrl+Q", "quit (asks when sends are in flight)"),
]


def _age_s(when: Any) -> float | None:
    if when is None:
        return None
    if when.tzinfo is None:  # SQLite hands back naive UTC
        when = when.replace(tzinfo=UTC)
    return (datetime.now(UTC) - when).total_seconds()


def pick_theme(setting: str | None, term: str | None = None) -> str:
    """ansi-dark on the Linux VT (16 colours, no bright codes); otherwise the configured theme."""
    term = os.environ.get("TERM", "") if term is None else term
    if setting and setting != "auto":
        return setting
    if term.startswith("linux"):
        return "ansi-dark"
    return "textual-dark"


class BinConsoleApp(App, inherit_bindings=False):
    CSS_PATH = "console.tcss"
    # The VT look replaces Textual's default glyphs, so it sits in the defaults' layer (vt.tcss says why).
    DEFAULT_CSS = (Path(__file__).parent / "vt.tcss").read_text(encoding="utf-8")
    SCOPED_CSS = False  # its selectors start at the App's own -vt class
    TITLE = "bin-console"
    ENABLE_COMMAND_PALETTE = True

    # Replaces Textual's defaults (Ctrl+Q = quit at once). Priority so a focused Input cannot eat them,
    # and so they are handled by the App before the keys that follow (type-ahead).
    BINDINGS = [
        Binding("f1", "help", "Help", priority=True, id="help"),
        Binding("f2", "open_networks", "Networks", priority=True, id="networks"),
        Binding("f3", "open_members", "Members", priority=True, id="members"),
        Binding("f4", "open_compose", "Compose", priority=True, id="compose"),
        Binding("f6", "open_monitor", "Monitor", show=False, priority=True, id="monitor"),
        Binding("f7", "open_inbox", "Inbox", show=False, priority=True, id="inbox"),
        Binding("f8", "open_history", "History", show=False, priority=True, id="history"),
        Binding("escape", "back", "Back", show=False, priority=True, id="back"),
        Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True, id="quit"),
    ]

    def __init__(
        self,
        settings: Any,
        db: Any,
        *,
        sender: Any = None,
        training: bool = False,
        poll_status: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.settings = settings
        self.db = db
        self.sender = sender
        self.training = bool(training)
        self.actor = Actor.current()
        self.current_network_id: int | None = None
        self._sending = False
        self._sending_set_at = 0.0
        self.status = LinkStatus(training=self.training)
        self.status_signal: Signal[LinkStatus] = Signal(self, "status")
        self._held = False
        self._key_buffer: deque[events.Key] = deque()
        self._hold_timer: Any = None
        self._draining = False
        self._key_token: object | None = None
        self._poll = poll_status
        # Alerts confirmed in compose whose rows are being written (Ctrl+Q asks meanwhile).
        self.pending_creates = 0
        # The compose screen's unsent text (screens/compose.py ComposeDraft): Escape keeps it.
        self.compose_draft: Any = None
        # The sender's start (outbox recovery: a write that may wait on a lock) and stop (joins its
        # thread) never run on the event loop; the lock keeps a late start from following the stop.
        self._sender_lock = threading.Lock()
        self._sender_stopping = False
        self._sender_stopper: threading.Thread | None = None
        self.register_theme(HIGH_CONTRAST)
        self.theme = pick_theme(getattr(settings, "ui_theme", "auto"))
        self.cursor_blink = bool(getattr(settings, "cursor_blink", True))
        if os.environ.get("TERM", "").startswith("linux"):
            self.add_class("-vt")

    @property
    def sending(self) -> bool:
        """True while an alert created here may still have messages in flight (guards Ctrl+Q)."""
        return self._sending

    @sending.setter
    def sending(self, value: bool) -> None:
        self._sending = bool(value)
        self._sending_set_at = time.monotonic()

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        if self.sender is not None:
            self.run_worker(self._start_sender, thread=True, group="sender-start", exit_on_error=False)
        if self._poll:
            self._poll_status()
        self.open_networks()

    def _start_sender(self) -> None:
        with self._sender_lock:
            if self._sender_stopping:
                return
            try:
                self.sender.start()
            except Exception:  # noqa: BLE001 - the console still works; the status line says why
                log.exception("embedded sender failed to start")

    def _stop_sender(self) -> None:
        got = self._sender_lock.acquire(timeout=SENDER_START_WAIT_S)
        try:
            self._sender_stopping = True
            self.sender.stop()
        except Exception:  # noqa: BLE001
            log.exception("embedded sender failed to stop")
        finally:
            if got:
                self._sender_lock.release()

    def on_unmount(self) -> None:
        if self.sender is not None and self._sender_stopper is None:
            # Off the event loop: stop() waits for outstanding resps and joins the sender thread.
            self._sender_stopper = threading.Thread(target=self._stop_sender, name="sender-stop", daemon=True)
            self._sender_stopper.start()

    def join_sender(self, timeout: float = SENDER_STOP_JOIN_S) -> bool:
        """After run() returned: wait (bounded) for the sender to unbind. True when it has stopped."""
        stopper = self._sender_stopper
        if stopper is None:
            return True
        stopper.join(timeout)
        return not stopper.is_alive()

    # ------------------------------------------------------------------ type-ahead buffer
    def hold_keys(self) -> None:
        """Queue keys from now on until ``release_keys`` (or the safety timer)."""
        self._held = True
        if self._hold_timer is not None:
            self._hold_timer.stop()
        self._hold_timer = self.set_timer(HOLD_SAFETY_S, self._safety_release)

    def _safety_release(self) -> None:
        if self._held:
            log.warning(
                "type-ahead held for %.1fs without release; replaying %d keys", HOLD_SAFETY_S, len(self._key_buffer)
            )
            self.release_keys()

    def release_keys(self) -> None:
        """Replay the held keys, in order, to whatever is focused now."""
        self._held = False
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        if self._key_buffer and not self._draining:
            self.call_later(self._drain_keys)

    async def _drain_keys(self) -> None:
        """Route held / queued keys one at a time; each finishes before the next starts."""
        if self._draining:
            return
        self._draining = True
        while self._key_buffer and not self._held:
            event = self._key_buffer.popleft()
            if event.key in getattr(self.screen, "HOLD_AFTER", ()):
                self.hold_keys()
            if await self._check_bindings(event.key, priority=True):
                continue
            self._forward_key(event)
            return  # _key_done continues the drain once the key has been handled
        self._draining = False

    def _forward_key(self, event: events.Key) -> None:
        """Textual's routing (focused widget, then bubbling up to the App's bindings), with a barrier.

        Textual forwards a key to the focused widget and runs non-priority bindings (Backspace in an
        Input, say) only once the key has bubbled back to the App - after the keys behind it in a
        burst have already reached the widget, so a fast `ab<BS>c` could lose the wrong letter.
        Here a callback follows the key up the same chain of message queues (bubbling posts to the
        parent synchronously at the end of handling), so the next key goes only when this one is
        done. A timer guards against a node that closes meanwhile.
        """
        target = self.focused or self.screen
        chain = [node for node in target.ancestors_with_self if node is not self]
        token = object()
        self._key_token = token

        def done() -> None:
            if self._key_token is token:
                self._key_token = None
                self._draining = False
                if self._key_buffer and not self._held:
                    self.call_later(self._drain_keys)

        def step(index: int) -> None:
            if index >= len(chain):
                self.call_later(done)  # after the bubbled key in the App's own queue
                return
            if not chain[index].call_later(step, index + 1):
                done()  # that node is closed: nothing more will bubble

        target._forward_event(event)
        step(0)
        self.set_timer(KEY_BARRIER_S, done)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._key_buffer.append(event)
            if not self._held and not self._draining:
                await self._drain_keys()
            return
        await super().on_event(event)

    def push_buffered(self, screen: Screen, callback: Any = None) -> None:
        """Push a screen, holding type-ahead until it has set its focus."""
        self.hold_keys()
        self.push_screen(screen, callback)

    # ------------------------------------------------------------------ navigation
    def _screen_class(self, module: str, name: str) -> type | None:
        try:
            return getattr(importlib.import_module(f"bin_console.screens.{module}"), name)
        except (ImportError, AttributeError) as exc:
            # Screens are written in parallel; a missing one is a notice, not a crash.
            log.warning("screen %s.%s unavailable: %s", module, name, exc)
            self.notify(f"{name} is not available yet ({exc})", severity="warning", markup=False)
            return None

    def _raise_screen(self, screen: Screen) -> None:
        """Bring a screen already in the stack to the top (no second copy, the ones above stay)."""
        stack = self._screen_stack
        stack.remove(screen)
        screen._pop_result_callback()  # push_screen adds one again
        self.push_buffered(screen)

    def _find_screen(self, cls: type) -> Screen | None:
        for screen in self.screen_stack:
            if type(screen) is cls:
                return screen
        return None

    def _show(
        self, module: str, name: str, *args: Any, reuse: bool = False, to_top: bool = False, **kwargs: Any
    ) -> Screen | None:
        """Push a new screen; with ``to_top`` an open one of that class is brought to the top instead,
        with ``reuse`` the stack is unwound back to it. Returns the screen shown."""
        cls = self._screen_class(module, name)
        if cls is None:
            return None
        if to_top:
            existing = self._find_screen(cls)
            if existing is not None:
                if existing is not self.screen:
                    self._raise_screen(existing)
                return existing
        if reuse:
            existing = self._find_screen(cls)
            if existing is not None:
                if existing is self.screen:
                    return existing
                # Unwind back to it rather than stacking a second copy.
                self.hold_keys()
                while self.screen is not existing:
                    self.pop_screen()
                return existing
        screen = cls(*args, **kwargs)
        self.push_buffered(screen)
        return screen

    def open_networks(self) -> None:
        self._show("networks", "NetworksScreen", reuse=True)

    def open_network(self, network_id: int) -> None:
        self.current_network_id = network_id
        self._show("network", "NetworkScreen", network_id)

    def open_members(self) -> None:
        if self.current_network_id is None:
            self.notify("Open a network first (F2, type its name, Enter).", severity="warning")
            return
        self._show("members", "MembersScreen", self.current_network_id)

    def open_compose(self, network_ids: list[int] | None = None) -> None:
        if network_ids is None and self.current_network_id is not None:
            network_ids = [self.current_network_id]
        self._show("compose", "ComposeScreen", network_ids)

    # Polling screens: one of each at most (a covered one pauses its polling; see their
    # on_screen_suspend), brought to the top when asked for again.
    def open_monitor(self, alert_id: int | None = None) -> None:
        screen = self._show("monitor", "MonitorScreen", alert_id, to_top=True)
        if screen is not None and alert_id is not None and getattr(screen, "alert_id", None) != alert_id:
            screen.show_alert(alert_id)

    def open_inbox(self) -> None:
        self._show("inbox", "InboxScreen", to_top=True)

    def open_history(self) -> None:
        self._show("history", "HistoryScreen", to_top=True)

    def action_open_networks(self) -> None:
        self.open_networks()

    def action_open_members(self) -> None:
        self.open_members()

    def action_open_compose(self) -> None:
        self.open_compose()

    def action_open_monitor(self) -> None:
        self.open_monitor()

    def action_open_inbox(self) -> None:
        self.open_inbox()

    def action_open_history(self) -> None:
        self.open_history()

    def action_help(self) -> None:
        cls = self._screen_class("help", "HelpScreen")
        if cls is not None and not isinstance(self.screen, cls):
            self.push_buffered(cls(self.screen))

    def action_back(self) -> None:
        """Escape: the screen decides (BaseScreen.go_back); never destructive."""
        self.hold_keys()
        go_back = getattr(self.screen, "go_back", None)
        left = False
        if go_back is not None:
            left = bool(go_back())
        elif len(self.screen_stack) > 2:
            self.pop_screen()
            left = True
        if not left:
            self.release_keys()

    def sends_in_flight(self) -> bool:
        """An alert is being written, or may still have messages queued / on the wire."""
        if self.sending or self.pending_creates > 0:
            return True
        return self.sender is not None and self.status.queue_depth > 0

    def action_request_quit(self) -> None:
        if not self.sends_in_flight():
            self.exit()
            return
        if self._poll and self.pending_creates == 0:
            # The flag / last status may be up to one poll old (the alert finished a moment ago):
            # read the queue now, off the event loop, and decide on that. Keys typed meanwhile
            # are held for the question, if it comes.
            self.hold_keys()
            self.run_worker(self._quit_check, thread=True, group="quit-check", exclusive=True, exit_on_error=False)
            return
        self._ask_quit()

    def _quit_check(self) -> None:
        started = time.monotonic()
        status = self._read_status()
        self.call_from_thread(self._quit_checked, status, started)

    def _quit_checked(self, status: LinkStatus, started: float) -> None:
        self._set_status(status, started)  # clears `sending` only from a read newer than the alert
        if self.sends_in_flight():
            self._ask_quit()
        else:
            self.exit()

    def _ask_quit(self) -> None:
        cls = self._screen_class("quit_confirm", "QuitConfirmModal")
        if cls is None:
            self.release_keys()
            return

        def done(really: bool | None) -> None:
            if really:
                self.exit()

        self.push_buffered(cls(), done)

    # ------------------------------------------------------------------ palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Quit would bypass the sends-in-flight guard; Screenshot writes member data to an SVG file.
        for cmd in super().get_system_commands(screen):
            if cmd.title.lower() in {"quit", "screenshot"}:
                continue
            yield cmd
        yield SystemCommand("Help", "Keys of this screen (F1)", self.action_help)
        yield SystemCommand("Networks", "Search networks (F2)", self.open_networks)
        yield SystemCommand("Members", "Members of the current network (F3)", self.open_members)
        yield SystemCommand("Compose alert", "Alert to the current network (F4)", self.open_compose)
        yield SystemCommand("Delivery monitor", "Live delivery of the latest alert (F6)", self.open_monitor)
        yield SystemCommand("Inbox", "Member replies (F7)", self.open_inbox)
        yield SystemCommand("History", "Past alerts (F8)", self.open_history)
        yield SystemCommand(
            "Quit bin-console", "Asks first when sends are in flight (Ctrl+Q)", self.action_request_quit
        )
        for title, help_text, callback in getattr(screen, "palette_commands", lambda: [])():
            yield SystemCommand(title, help_text, callback)

    # ------------------------------------------------------------------ writes
    def run_write(
        self,
        fn: Any,
        *args: Any,
        on_done: Any = None,
        on_error: Any = None,
        what: str = "write",
    ) -> None:
        """Run a database write as an App-owned thread worker: leaving the screen that asked for it
        (which cancels the screen's workers) can never drop it, and writes never cancel each other.
        ``on_done(result)`` / ``on_error(exc)`` run on the event loop; a screen callback checks
        ``is_attached`` itself. Without ``on_error`` the failure is notified from the App."""

        def job() -> None:
            try:
                result = fn(*args)
            except Exception as exc:  # noqa: BLE001 - shown to the dispatcher, never swallowed
                log.exception("%s failed", what)
                self.call_from_thread(self._write_failed, on_error, what, exc)
            else:
                if on_done is not None:
                    self.call_from_thread(on_done, result)

        self.run_worker(job, thread=True, group="app-write", exclusive=False, exit_on_error=False)

    def _write_failed(self, on_error: Any, what: str, exc: BaseException) -> None:
        if on_error is not None:
            on_error(exc)
        else:
            self.notify(f"{what} failed: {type(exc).__name__}: {exc}", severity="error", markup=False)

    # ------------------------------------------------------------------ sender and status
    def wake_sender(self) -> None:
        if self.sender is not None:
            try:
                self.sender.wake()
            except Exception:  # noqa: BLE001
                log.exception("sender wake failed")

    @work(thread=True, exclusive=True, group="status-poller", exit_on_error=False)
    def _poll_status(self) -> None:
        """App-owned: outlives screens. Reads queue depth and link state every 0.5 s."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            started = time.monotonic()
            status = self._read_status()
            if worker.is_cancelled:
                break
            try:
                self.call_from_thread(self._set_status, status, started)
            except Exception:  # noqa: BLE001 - the app is shutting down
                break
            time.sleep(STATUS_POLL_S)

    def _read_status(self) -> LinkStatus:
        try:
            alerts = importlib.import_module("bin_console.alerts")
            depth = int(alerts.queue_depth(self.db))
            states = alerts.sender_states(self.db)
        except Exception as exc:  # noqa: BLE001 - shown on the status line, polled again
            return LinkStatus(link="unknown", detail=f"{type(exc).__name__}", training=self.training)
        accounts = tuple((getattr(s, "account", "?"), getattr(s, "state", "unknown")) for s in states)
        link = accounts[0][1] if accounts else "stopped"
        detail = getattr(states[0], "detail", "") if states else ""
        if states and link != "stopped":
            age = _age_s(getattr(states[0], "updated_at", None))
            if age is not None and age > STALE_HEARTBEAT_S:
                detail = f"no heartbeat for {int(age)} s"
        return LinkStatus(link=link, detail=detail or "", queue_depth=depth, training=self.training, accounts=accounts)

    def _set_status(self, status: LinkStatus, read_started: float | None = None) -> None:
        self.status = status
        # Nothing queued or submitting any more: the quit guard can stand down. Only a read that
        # began after `sending` was set counts (an older one may predate the alert's rows).
        if (
            self._sending
            and read_started is not None
            and read_started > self._sending_set_at
            and status.link != "unknown"
            and status.queue_depth == 0
        ):
            self._sending = False
        self.status_signal.publish(status)
