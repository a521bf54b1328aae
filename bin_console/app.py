"""The Textual App: screen navigation, global keys, type-ahead buffer, status poller, embedded sender.

Contract for screens (docs/ARCHITECTURE.md, TUI section). Screens read ``app.db``, ``app.settings``
(``bin_console.config.Settings``), ``app.training``, ``app.actor``, ``app.status`` /
``app.status_signal`` and call the App's use cases: ``open_network(ref)``, ``open_members(ref)``,
``open_compose(targets)``, ``open_follow_up(alert_id)``, ``open_monitor(alert_id)``, ``keep_draft(draft)``,
``submit_alert(draft, requester)``, ``run_write(...)``, ``push_buffered(screen)``,
``hold_keys()`` / ``release_keys()``. The App answers ``submit_alert`` with the messages of
``screens/messages.py``. Screens never set App attributes.

The target of F3/F4 is never App state: the App asks the top screen (``BaseScreen.target()``),
which answers from what it shows; with nothing selected the key says so and does nothing.

Keys: every ``Binding`` has an id, a footer description and a ``tooltip`` (the longer help text);
the F1 help, the footer and the command palette are all built from the bindings, and the
``[keys]`` table of the config remaps them by id (``App.set_keymap``).

Type-ahead (shared notes/textual.md §2.3): a key that pushes a screen or moves focus would let the
keys that follow in the same burst reach the *old* screen. So every navigation holds the keys that
arrive after it (``hold_keys``), and the new screen, once its focus is set, calls
``release_keys``; the held keys are then replayed, in order, to the new focus. A safety timer
releases them anyway so a key can never be stuck.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import get_current_worker

from bin_console.alerts import service as alerts
from bin_console.alerts.reminders import due_reminders
from bin_console.config import ConfigError, Settings
from bin_console.i18n import N_, _
from bin_console.screens.alert_draft import AlertDraft
from bin_console.screens.base import BaseScreen
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmActionModal, ConfirmSendModal
from bin_console.screens.help import HelpScreen
from bin_console.screens.history import HistoryScreen
from bin_console.screens.import_report import ImportPathModal, ImportReportScreen
from bin_console.screens.inbox import InboxScreen
from bin_console.screens.keys import help_line, key_label, own_bindings
from bin_console.screens.member_form import MemberFormModal
from bin_console.screens.members import MembersScreen
from bin_console.screens.messages import AlertNotCreated, AlertQueued
from bin_console.screens.monitor import MonitorScreen
from bin_console.screens.network import NetworkScreen
from bin_console.screens.networks import NetworksScreen
from bin_console.screens.quit_confirm import QuitConfirmModal
from bin_console.screens.target import NetworkRef
from bin_console.screens.target_picker import TargetPickerModal
from bin_console.screens.template_picker import TemplatePickerModal
from bin_console.screens.textual_compat import ChangedRowsApp, raise_screen
from bin_console.trust.actor import Actor
from bin_console.trust.readiness import Readiness
from bin_console.trust.textsafe import clean

if TYPE_CHECKING:
    from bin_console.channels.smpp.sender import SenderRunner
    from bin_console.data.engine import Database

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
    sms_off: str = ""  # why SMS cannot be sent and the fix (readiness.Readiness), "" when it can
    reminders: int = 0  # urgent alerts whose follow-up is due (reminders.due_reminders), every console alike
    email_off: str = ""  # what of e-mail is off, why and the fix (Readiness.sentence()), "" when nothing is
    sms_rate: float | None = None  # parts/s the SMS flow control learnt (sender_status.rate_tps)
    email_queue: int = 0  # of queue_depth, the e-mails (queue_depth counts both channels)
    mail: str = ""  # the e-mail sender's state (sender_status "email"); "" = no e-mail sender
    mail_detail: str = ""
    imap: str = ""  # the IMAP reply reader's state (sender_status "imap"); "" = replies not read
    imap_detail: str = ""


# Not palette commands: Back is Escape's alone, the palette does not open itself (nor do the
# `system` bindings: moving a cursor).
PALETTE_SKIPS = frozenset({"back", "command_palette"})

# sender_status rows of the e-mail channel: channels/email/driver.py and imap_reader.py ACCOUNT
# (not imported: the console would load the mail machinery just to know two names).
EMAIL_ACCOUNT = "email"
IMAP_ACCOUNT = "imap"
MAIL_ACCOUNTS = frozenset({EMAIL_ACCOUNT, IMAP_ACCOUNT})
NO_MAIL_SENDER = N_("no e-mail sender running")  # shown as _(NO_MAIL_SENDER)

NOTHING_SELECTED = N_("Nothing selected: search a network (F2) and highlight it, or open one, first.")

# Every screen class, for the binding ids a [keys] table may name.
SCREEN_CLASSES: tuple[type[Screen], ...] = (
    NetworksScreen,
    NetworkScreen,
    MembersScreen,
    MemberFormModal,
    ImportPathModal,
    ImportReportScreen,
    ComposeScreen,
    TargetPickerModal,
    TemplatePickerModal,
    ConfirmSendModal,
    ConfirmActionModal,
    QuitConfirmModal,
    MonitorScreen,
    InboxScreen,
    HistoryScreen,
    HelpScreen,
)


def binding_ids() -> set[str]:
    bindings = [*BinConsoleApp.BINDINGS, *(b for cls in SCREEN_CLASSES for b in cls.BINDINGS)]
    return {b.id for b in bindings if isinstance(b, Binding) and b.id is not None}


def check_keymap(keys: dict[str, str]) -> None:
    """A [keys] entry for an id no binding has is a typo that would silently do nothing: refuse it."""
    known = binding_ids()
    for binding_id in keys:
        if binding_id not in known:
            raise ConfigError(
                _("keys.{id}: no key has the id {name}; known ids: {known}").format(
                    id=binding_id, name=repr(binding_id), known=", ".join(sorted(known))
                )
            )


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when  # SQLite hands back naive UTC


def _age_s(when: Any) -> float | None:
    if when is None:
        return None
    return (datetime.now(UTC) - _aware(when)).total_seconds()


def _silent_since(when: datetime) -> str:
    """'no heartbeat since 10:42:07': the same words every poll, so the status line is not
    repainted each second while a sender stays dead (an age in seconds would change every time)."""
    return _("no heartbeat since {time}").format(time=f"{_aware(when).astimezone():%H:%M:%S}")


def _channel_state(row: Any, stale_s: float = STALE_HEARTBEAT_S) -> tuple[str, str]:
    """(state, detail) of the e-mail sender's or IMAP reader's row; ("", "") without one. A row not
    written for ``stale_s`` belongs to a process that died: that channel is off, whatever it last wrote."""
    if row is None:
        return "", ""
    if row.state != "stopped":
        age = _age_s(row.updated_at)
        if age is not None and age > stale_s:
            return "stopped", _silent_since(row.updated_at)
    return row.state, row.detail or ""


def pick_theme(setting: str | None, term: str | None = None) -> str:
    """ansi-dark on the Linux VT (16 colours, no bright codes); otherwise the configured theme."""
    term = os.environ.get("TERM", "") if term is None else term
    if setting and setting != "auto":
        return setting
    if term.startswith("linux"):
        return "ansi-dark"
    return "textual-dark"


class BinConsoleApp(ChangedRowsApp, inherit_bindings=False):
    CSS_PATH = "console.tcss"
    # The VT look replaces Textual's default glyphs, so it sits in the defaults' layer (vt.tcss says why).
    DEFAULT_CSS = (Path(__file__).parent / "vt.tcss").read_text(encoding="utf-8")
    SCOPED_CSS = False  # its selectors start at the App's own -vt class
    TITLE = "bin-console"
    ENABLE_COMMAND_PALETTE = True

    # Replaces Textual's defaults (Ctrl+Q = quit at once). Priority so a focused Input cannot eat them,
    # and so they are handled by the App before the keys that follow (type-ahead). The tooltip is the
    # help text (F1 and the palette); with the mouse off Textual never shows it as a tooltip.
    BINDINGS = [
        Binding("f1", "help", N_("Help"), priority=True, id="help", tooltip=N_("help for this screen")),
        Binding("f2", "open_networks", N_("Networks"), priority=True, id="networks", tooltip=N_("networks (search)")),
        Binding(
            "f3",
            "open_members",
            N_("Members"),
            priority=True,
            id="members",
            tooltip=N_("members of the network on screen"),
        ),
        Binding(
            "f4",
            "open_compose",
            N_("Compose"),
            priority=True,
            id="compose",
            tooltip=N_("compose an alert to the network(s) on screen"),
        ),
        Binding(
            "f6", "open_monitor", N_("Monitor"), show=False, priority=True, id="monitor", tooltip=N_("delivery monitor")
        ),
        Binding("f7", "open_inbox", N_("Inbox"), show=False, priority=True, id="inbox", tooltip=N_("inbox (replies)")),
        Binding(
            "f8",
            "open_history",
            N_("History"),
            show=False,
            priority=True,
            id="history",
            tooltip=N_("history (past alerts)"),
        ),
        Binding("escape", "back", N_("Back"), show=False, priority=True, id="back", tooltip=N_("back")),
        Binding(
            "ctrl+p",
            "command_palette",
            N_("Palette"),
            show=False,
            priority=True,
            id="palette",
            tooltip=N_("command palette"),
        ),
        Binding(
            "f12",
            "redraw",
            N_("Redraw"),
            show=False,
            priority=True,
            id="redraw",
            tooltip=N_("write the whole screen again (after other output landed on it)"),
        ),
        Binding(
            "ctrl+q",
            "request_quit",
            N_("Quit"),
            show=False,
            priority=True,
            id="quit",
            tooltip=N_("quit (asks when sends are in flight)"),
        ),
    ]
    # Under a modal (a question, a form, the palette) only its own keys, Escape and F1 work: global
    # navigation must never push a screen over a question that is waiting for its answer.
    NOT_UNDER_MODAL = frozenset(
        {
            "open_networks",
            "open_members",
            "open_compose",
            "open_monitor",
            "open_inbox",
            "open_history",
            "command_palette",
            "request_quit",
        }
    )

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        sender: SenderRunner | None = None,
        training: bool = False,
        poll_status: bool = True,
        sms_block: Readiness | None = None,
        email_block: Readiness | None = None,
        email_sending: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        # Why SMS cannot be sent (no keyring, password or [smpp] account; app_main/readiness.py), or
        # None. The status line shows it; compose refuses an urgent send with it before writing.
        self.sms_block = sms_block
        # Why e-mail cannot be sent or its replies read (channels/email/service.py), or None: shown only.
        self.email_block = email_block
        self.settings = settings
        self.db = db
        self.sender = sender
        # This process runs the e-mail sender (app_main starts it beside the console): quitting stops it.
        self.email_sending = email_sending
        self.training = bool(training)
        self.actor = Actor.current()
        self._sending = False
        self._sending_set_at = 0.0
        self.status = LinkStatus(training=self.training, sms_off=self._sms_off(), email_off=self._email_off())
        self.status_signal: Signal[LinkStatus] = Signal(self, "status")
        self._held = False
        self._key_buffer: deque[events.Key] = deque()
        self._hold_timer: Any = None
        self._draining = False
        self._key_token: object | None = None
        self._poll = poll_status
        # Alerts confirmed in compose whose rows are being written (Ctrl+Q asks meanwhile).
        self._pending_creates = 0
        # The compose screens' unsent texts: Escape keeps them (keep_draft). One per kind of alert:
        # None = a new alert, N = a follow-up of alert N (a follow-up never overwrites another text).
        self._drafts: dict[int | None, AlertDraft] = {}
        # The sender's start (outbox recovery: a write that may wait on a lock) and stop (joins its
        # thread) never run on the event loop; the lock keeps a late start from following the stop.
        self._sender_lock = threading.Lock()
        self._sender_stopping = False
        self._sender_stopper: threading.Thread | None = None
        self.register_theme(HIGH_CONTRAST)
        self.theme = pick_theme(settings.ui_theme)
        self.cursor_blink = settings.cursor_blink
        check_keymap(settings.keys)
        self.set_keymap(settings.keys)
        if os.environ.get("TERM", "").startswith("linux"):
            self.add_class("-vt")

    @property
    def sending(self) -> bool:
        """True while an alert created here may still have messages in flight (guards Ctrl+Q)."""
        return self._sending

    def mark_sending(self) -> None:
        """An alert's rows were committed: Ctrl+Q asks until a status read newer than now sees an empty queue."""
        self._sending = True
        self._sending_set_at = time.monotonic()

    @property
    def pending_creates(self) -> int:
        """Alerts confirmed whose rows are still being written."""
        return self._pending_creates

    def keep_draft(self, draft: AlertDraft | None, *, follow_up_of: int | None = None) -> None:
        """Compose hands over its unsent text on every change; the next compose gets it back.
        None forgets the text of a new alert (or, with ``follow_up_of``, of that follow-up)."""
        if draft is None:
            self._drafts.pop(follow_up_of, None)
        else:
            self._drafts[draft.follow_up_of] = draft

    @property
    def _draft(self) -> AlertDraft | None:
        """The unsent text of a new alert (what F4 brings back)."""
        return self._drafts.get(None)

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        if self.sender is not None:
            start = functools.partial(self._start_sender, self.sender)
            self.run_worker(start, thread=True, group="sender-start", exit_on_error=False)
        if self._poll:
            self._poll_status()
        self.open_networks()

    def _start_sender(self, sender: SenderRunner) -> None:
        with self._sender_lock:
            if self._sender_stopping:
                return
            try:
                sender.start()
            except Exception:  # the console still works; the status line says why
                log.exception("embedded sender failed to start")

    def _stop_sender(self, sender: SenderRunner) -> None:
        got = self._sender_lock.acquire(timeout=SENDER_START_WAIT_S)
        try:
            self._sender_stopping = True
            sender.stop()
        except Exception:
            log.exception("embedded sender failed to stop")
        finally:
            if got:
                self._sender_lock.release()

    def on_unmount(self) -> None:
        if self.sender is not None and self._sender_stopper is None:
            # Off the event loop: stop() waits for outstanding resps and joins the sender thread.
            self._sender_stopper = threading.Thread(
                target=self._stop_sender, args=(self.sender,), name="sender-stop", daemon=True
            )
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
            screen = self.screen
            if isinstance(screen, BaseScreen) and event.key in screen.HOLD_AFTER:
                self.hold_keys()
            target = self.focused or screen
            # Textual's own routing: priority bindings, else forward to the focused widget.
            await super().on_event(event)
            if not event.is_forwarded:
                continue  # a priority binding handled it: nothing bubbles, take the next key
            self._await_key(target)
            return  # the barrier continues the drain once the key has been handled
        self._draining = False

    def _await_key(self, target: Widget) -> None:
        """A barrier: the next key goes only when this one has been handled.

        Textual forwards a key to the focused widget and runs non-priority bindings (Backspace in an
        Input, say) only once the key has bubbled back to the App - after the keys behind it in a
        burst have already reached the widget, so a fast `ab<BS>c` could lose the wrong letter.
        Here a callback follows the key up the same chain of message queues (bubbling posts to the
        parent synchronously at the end of handling), so the next key goes only when this one is
        done. A timer guards against a node that closes meanwhile.
        """
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
    def _find_screen(self, cls: type[Screen]) -> Screen | None:
        for screen in self.screen_stack:
            if type(screen) is cls:
                return screen
        return None

    def _to_top(self, cls: type[Screen]) -> Screen | None:
        """Bring an open screen of that class to the top (no second copy; the ones above stay)."""
        existing = self._find_screen(cls)
        if existing is not None and existing is not self.screen:
            raise_screen(self, existing)
            self.push_buffered(existing)
        return existing

    def screen_target(self) -> tuple[NetworkRef, ...]:
        """The network(s) the top screen shows: what F3/F4 act on. Empty when nothing is selected."""
        screen = self.screen
        return screen.target() if isinstance(screen, BaseScreen) else ()

    def open_networks(self) -> None:
        """The search screen, by unwinding back to it (it is the bottom of the stack)."""
        existing = self._find_screen(NetworksScreen)
        if existing is None:
            self.push_buffered(NetworksScreen())
        elif existing is not self.screen:
            self.hold_keys()
            while self.screen is not existing:
                self.pop_screen()

    def open_network(self, network: NetworkRef) -> None:
        self.push_buffered(NetworkScreen(network))

    def open_members(self, network: NetworkRef) -> None:
        self.push_buffered(MembersScreen(network))

    def open_compose(self, targets: tuple[NetworkRef, ...]) -> None:
        """Compose to exactly these networks; the unsent text (if any) comes back with them."""
        self.push_buffered(ComposeScreen(targets, draft=self._draft))

    def open_follow_up(self, alert_id: int) -> None:
        """Compose a follow-up of alert ``alert_id`` ("all clear"): to the original's members (less
        those who opted out since; alerts.create_alert(follow_up_of=...) decides), filed under its
        networks, by its channel or by e-mail. Compose reads the original in a worker."""
        self.push_buffered(ComposeScreen((), draft=self._drafts.get(alert_id), follow_up_of=alert_id))

    # Polling screens: one of each at most (a covered one pauses its polling; see their
    # on_screen_suspend), brought to the top when asked for again.
    def open_monitor(self, alert_id: int | None = None) -> None:
        screen = self._to_top(MonitorScreen)
        if screen is None:
            self.push_buffered(MonitorScreen(alert_id))
        elif isinstance(screen, MonitorScreen) and alert_id is not None and screen.alert_id != alert_id:
            screen.show_alert(alert_id)

    def open_inbox(self) -> None:
        if self._to_top(InboxScreen) is None:
            self.push_buffered(InboxScreen())

    def open_history(self) -> None:
        if self._to_top(HistoryScreen) is None:
            self.push_buffered(HistoryScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.NOT_UNDER_MODAL and self.screen.is_modal:
            return False
        return True

    def action_open_networks(self) -> None:
        self.open_networks()

    def action_open_members(self) -> None:
        targets = self.screen_target()
        if not targets:
            self.notify(_(NOTHING_SELECTED), severity="warning", markup=False)
        elif len(targets) > 1:
            self.notify(_("This alert has several networks: open one (F2) to see its members."), markup=False)
        elif not isinstance(self.screen, MembersScreen):
            self.open_members(targets[0])

    def action_open_compose(self) -> None:
        targets = self.screen_target()
        if not targets:
            self.notify(_(NOTHING_SELECTED), severity="warning", markup=False)
        elif not isinstance(self.screen, ComposeScreen):
            self.open_compose(targets)

    def action_open_monitor(self) -> None:
        self.open_monitor()

    def action_open_inbox(self) -> None:
        self.open_inbox()

    def action_open_history(self) -> None:
        self.open_history()

    def action_command_palette(self) -> None:
        super().action_command_palette()
        if not self.settings.cursor_blink:  # the palette is Textual's screen, not a BaseScreen
            self.call_after_refresh(self._palette_without_blink)

    def _palette_without_blink(self) -> None:
        # Slow links: its blinking cursor re-sent the palette's input line twice a second while
        # it was open (caught by the tmux oracle: the screen never settled)
        for widget in self.screen.query(Input):
            widget.cursor_blink = False

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_buffered(HelpScreen(self.screen))

    # Textual's own action_back is async; this one is called synchronously too (screens/import_report)
    def action_back(self) -> None:  # type: ignore[override]
        """Escape: the screen decides (BaseScreen.go_back); never destructive."""
        self.hold_keys()
        screen = self.screen
        left = False
        if isinstance(screen, BaseScreen):
            left = screen.go_back()
        elif len(self.screen_stack) > 2:
            self.pop_screen()
            left = True
        if not left:
            self.release_keys()

    def sends_in_flight(self) -> bool:
        """An alert is being written, or may still have messages queued / on the wire."""
        if self._sending or self._pending_creates > 0:
            return True
        # Each channel counts when this process sends it: quitting stops that sender.
        status = self.status
        sms_queued = status.queue_depth - status.email_queue
        return (self.sender is not None and sms_queued > 0) or (self.email_sending and status.email_queue > 0)

    def action_redraw(self) -> None:
        self.redraw()

    def action_request_quit(self) -> None:
        if not self.sends_in_flight():
            self.exit()
            return
        if self._poll and self._pending_creates == 0:
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
        def done(really: bool | None) -> None:
            if really:
                self.exit()

        self.push_buffered(QuitConfirmModal(), done)

    # ------------------------------------------------------------------ palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's (but Quit, which bypasses the sends-in-flight guard, and Screenshot, which writes
        member data to an SVG file), then one command per binding of the App and of the screen."""
        for cmd in super().get_system_commands(screen):
            if cmd.title.lower() in {"quit", "screenshot"}:
                continue
            yield cmd
        keymap = self.settings.keys
        own: list[tuple[Binding, Any]] = [(b, self) for b in own_bindings(self.BINDINGS, keymap)]
        if isinstance(screen, BaseScreen):
            own += [(b, screen) for b in own_bindings(type(screen).BINDINGS, keymap)]
        for binding, node in own:
            if binding.system or binding.action in PALETTE_SKIPS:
                continue
            help_text = f"{help_line(binding)} ({key_label(binding.key)})"  # help_line translates
            title = _(binding.description)  # an N_() msgid
            yield SystemCommand(title, help_text, partial(self.run_action, binding.action, node))

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
            except Exception as exc:  # shown to the dispatcher, never swallowed
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
            message = _("{what} failed: {error}").format(what=what, error=f"{type(exc).__name__}: {exc}")
            self.notify(message, severity="error", markup=False)

    # ------------------------------------------------------------------ alerts
    def _sms_off(self) -> str:
        block = self.sms_block
        return f"{block.reason}. {block.fix}" if block is not None else ""

    def _email_off(self) -> str:
        return self.email_block.sentence() if self.email_block is not None else ""

    def submit_alert(self, draft: AlertDraft, requester: Screen) -> None:
        """Write the alert and all its delivery rows (one transaction), then wake the sender.

        App-owned: leaving the compose screen must not cancel what was confirmed. ``requester`` gets
        ``AlertQueued`` / ``AlertNotCreated`` if it is still there; the App notifies either way."""
        if draft.urgency == "urgent" and self.sms_block is not None:
            # The one gate every path to an SMS alert passes: nothing is written for an SMS that cannot leave.
            self._pending_creates += 1  # _alert_failed takes it back
            self._alert_failed(requester, RuntimeError(self.sms_block.sentence()))
            return
        db, actor, training = self.db, self.actor, self.training
        # the SMS expiry only: a normal alert goes by e-mail at the relay's pace, with no deadline (as the CLI)
        minutes = self.settings.alert_expiry_minutes if draft.urgency == "urgent" else None
        language = self.settings.language
        text, texts = draft.service_texts()

        def create() -> int:
            # as `bin-console send` calls it: the versions, the combined flag, the follow-up link
            return alerts.create_alert(
                db,
                network_ids=draft.network_ids,
                text=text,
                texts=texts,
                combined=draft.combined,
                default_language=language,
                follow_up_of=draft.follow_up_of,
                by_email=draft.by_email,
                urgency=draft.urgency,
                actor=actor,
                template_key=draft.template_key,
                expires_minutes=minutes,
                training=training,
                email_copy=draft.email_copy and draft.urgency == "urgent" and draft.follow_up_of is None,
            )

        # Counted before the worker starts, so Ctrl+Q asks while the rows are being written
        # (`sending` only becomes true once they are committed).
        self._pending_creates += 1
        self.run_write(
            create,
            on_done=partial(self._alert_created, requester, draft.follow_up_of),
            on_error=partial(self._alert_failed, requester),
            what=_("Create alert"),
        )

    def _alert_created(self, requester: Screen, follow_up_of: int | None, alert_id: int) -> None:
        self._pending_creates -= 1
        self.mark_sending()
        self.wake_sender()
        self._drafts.pop(follow_up_of, None)  # sent: the next compose (of this kind) starts empty
        self.notify(_("Alert #{id} queued.").format(id=alert_id), markup=False)
        if requester.is_attached:
            requester.post_message(AlertQueued(alert_id))
            if self.screen is requester:  # not over a window opened meanwhile (the quit question, say)
                self.open_monitor(alert_id)

    def _alert_failed(self, requester: Screen, exc: BaseException) -> None:
        self._pending_creates -= 1
        self.notify(
            _("The alert was NOT created: {error}").format(error=clean(exc)),
            severity="error",
            markup=False,
            title=_("Not sent"),
        )
        if requester.is_attached:
            requester.post_message(AlertNotCreated(exc))

    # ------------------------------------------------------------------ sender and status
    def wake_sender(self) -> None:
        if self.sender is not None:
            try:
                self.sender.wake()
            except Exception:
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
            except Exception:  # the app is shutting down
                break
            time.sleep(STATUS_POLL_S)

    def _read_status(self) -> LinkStatus:
        try:
            depth = alerts.queue_depth(self.db)
            email_depth = alerts.queue_depth(self.db, "email")
            states = alerts.sender_states(self.db)
            due = len(due_reminders(self.db, after_minutes=self.settings.followup_reminder_minutes))
        except Exception as exc:  # shown on the status line, polled again
            return LinkStatus(
                link="unknown",
                detail=f"{type(exc).__name__}",
                training=self.training,
                sms_off=self._sms_off(),
                email_off=self._email_off(),
            )
        accounts = tuple((s.account, s.state) for s in states)
        by_account = {s.account: s for s in states}
        # The e-mail sender and the IMAP reader have their own rows; every other row is an SMSC account.
        sms = [s for s in states if s.account not in MAIL_ACCOUNTS]
        mail_state, mail_detail = _channel_state(by_account.get(EMAIL_ACCOUNT))
        if not mail_state and email_depth:
            mail_state, mail_detail = "stopped", _(NO_MAIL_SENDER)  # e-mail queued that nothing will send
        # The reader writes its row once per poll (no heartbeat between): two missed polls mean it died.
        imap_stale = 2 * self.settings.imap.poll_s + STALE_HEARTBEAT_S
        imap_state, imap_detail = _channel_state(by_account.get(IMAP_ACCOUNT), imap_stale)
        link = sms[0].state if sms else "stopped"
        detail = sms[0].detail if sms else ""
        if sms and link != "stopped":
            age = _age_s(sms[0].updated_at)
            if age is not None and age > STALE_HEARTBEAT_S:
                detail = _silent_since(sms[0].updated_at)
        return LinkStatus(
            link=link,
            detail=detail or "",
            queue_depth=depth,
            training=self.training,
            accounts=accounts,
            sms_off=self._sms_off(),
            reminders=due,
            email_off=self._email_off(),
            sms_rate=sms[0].rate_tps if sms else None,
            email_queue=email_depth,
            mail=mail_state,
            mail_detail=mail_detail,
            imap=imap_state,
            imap_detail=imap_detail,
        )

    def _set_status(self, status: LinkStatus, read_started: float | None = None) -> None:
        changed = status != self.status
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
        if changed:  # subscribers repaint; an unchanged status must not cost terminal bytes (issue 7)
            self.status_signal.publish(status)
