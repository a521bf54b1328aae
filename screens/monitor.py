"""Delivery monitor: live counts per state, progress, rate and time to finish, a sparkline of the
sending rate, failures with readable reasons; Ctrl+X cancels what has not left yet (after a confirm;
never on Escape).

alerts.alert_progress is polled every 0.5 s in a screen-owned thread worker (one at a time,
latest wins) while the screen is on top (a covered monitor pauses); the screen only renders. It
never touches app.sending: the App's status poller clears that from a read known to be newer.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from bin_console.widgets.delivery_bar import DeliveryBar
from bin_console.widgets.fit_table import Col, FitTable
from bin_console.widgets.rate_sparkline import RateSparkline
from bin_console.widgets.state_counts import StateCounts
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from bin_console import alerts
from bin_console.textsafe import safe_text

from .base import BaseScreen
from .confirm import ConfirmActionModal

POLL_S = 0.5
RATE_WINDOW_S = 5.0


def _fmt_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _latest_alert_id(db: Any) -> int | None:
    rows = alerts.list_alerts(db, limit=1)
    return rows[0].id if rows else None


class RateMeter:
    """Messages that left the queue per second, over the last few seconds; ETA for the rest."""

    def __init__(self, window: float = RATE_WINDOW_S) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()
        self.history: list[float] = []  # one rate per poll, for the sparkline

    def add(self, now: float, left_queue: int) -> float:
        self.samples.append((now, left_queue))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        rate = self.rate()
        self.history.append(rate)
        del self.history[:-200]
        return rate

    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        return max(0.0, (n1 - n0) / (t1 - t0)) if t1 > t0 else 0.0


FAILURE_COLUMNS = (
    Col("Member", 14, grow=2),
    Col("Address", 16),  # the masked number: "+32 470 •• •• 56"
    Col("State", 13),
    Col("Reason", 14, grow=3),
)


class MonitorScreen(BaseScreen):
    CSS_PATH = "monitor.tcss"
    INITIAL_FOCUS = "#failures"
    TITLE_TEXT = "Delivery monitor"
    KEY_NOTES = [("Up/Down", "scroll the failures"), ("Escape", "back (sending goes on)")]
    BINDINGS = [
        Binding(
            "ctrl+x",
            "cancel_alert",
            "Cancel unsent",
            priority=True,
            id="monitor-cancel",
            tooltip="cancel the messages that have not left yet (asks first)",
        )
    ]

    def __init__(self, alert_id: int | None = None) -> None:
        super().__init__()
        self.alert_id = alert_id
        self.progress: Any = None
        self.meter = RateMeter()
        self._failures_shown: tuple = ()
        self.polls = 0

    def compose_body(self) -> ComposeResult:
        vt = self.app.has_class("-vt")
        yield Static("", id="title")
        yield Static("", id="text")
        yield StateCounts(id="counts")
        yield DeliveryBar(vt=vt, id="bar")
        yield Static("", id="rate")
        yield RateSparkline(ascii=vt, id="spark")
        yield Static(Text("Failures", style="bold"), id="failures-title")
        yield FitTable(FAILURE_COLUMNS, id="failures")

    def on_mount(self) -> None:
        self.query_one("#title", Static).update(Text("Loading..."))
        self.poll()
        self.poll_every(POLL_S, self.poll)  # paused while another screen covers the monitor

    def show_alert(self, alert_id: int) -> None:
        """The monitor was asked for another alert (App.open_monitor reuses the open one)."""
        self.alert_id = alert_id
        self.progress = None
        self.meter = RateMeter()
        self._failures_shown = ()
        self.query_one("#title", Static).update(Text("Loading..."))
        self.poll()

    # --- polling -------------------------------------------------------------------------------

    def poll(self) -> None:
        db, alert_id = self.app.db, self.alert_id

        def job() -> tuple[int | None, Any, int]:
            aid = alert_id if alert_id is not None else _latest_alert_id(db)
            if aid is None:
                return None, None, alerts.queue_depth(db)
            return aid, alerts.alert_progress(db, aid), alerts.queue_depth(db)

        self.run_db(job, group="monitor-poll", on_done=self._show)

    def _show(self, result: tuple[int | None, Any, int]) -> None:
        aid, progress, depth = result
        self.polls += 1
        if aid is None:
            self.query_one("#title", Static).update(Text("No alert sent yet. F4 composes one."))
            return
        if self.alert_id is not None and aid != self.alert_id:
            return  # an answer for the alert shown before show_alert() switched
        self.alert_id = aid
        self.progress = progress
        self._render_progress(progress)

    def _render_progress(self, p: Any) -> None:
        a = p.alert
        title = Text()
        title.append(f"Alert #{a.id} ", style="bold")
        if a.training:
            title.append(" TRAINING ", style="reverse bold")
            title.append(" ")
        title.append("URGENT SMS" if a.urgency == "urgent" else "non-urgent e-mail")
        title.append(" · ")
        title.append_text(safe_text(", ".join(p.network_names)))
        when = a.created_at.astimezone().strftime("%H:%M") if a.created_at else ""
        title.append(f" · {when} by ")
        title.append_text(safe_text(a.created_by + (f"@{a.client_addr}" if a.client_addr else "")))
        self.query_one("#title", Static).update(title)
        first = a.text.replace("\n", " ")
        self.query_one("#text", Static).update(safe_text(first[:76] + ("..." if len(first) > 76 else "")))

        counts = dict(p.counts)
        counts["possible_duplicates"] = p.possible_duplicates
        self.query_one("#counts", StateCounts).set_counts(counts)

        total = max(int(p.total), 0)
        pending = int(counts.get("queued", 0)) + int(counts.get("submitting", 0))
        left_queue = total - pending
        bar = self.query_one("#bar", DeliveryBar)
        bar.update(total=max(total, 1), progress=left_queue if total else 0)

        rate = self.meter.add(time.monotonic(), left_queue)
        line = Text()
        final = sum(int(counts.get(s, 0)) for s in ("delivered", "undeliverable", "expired", "rejected", "failed"))
        final += int(counts.get("cancelled", 0))
        if p.done:
            line.append(f"complete: {left_queue}/{total} left the queue", style="bold")
            line.append(f" · final {final}/{total}")
        else:
            line.append(f"sending {left_queue}/{total}", style="bold")
            line.append(f" · {rate:.1f} msg/s")
            line.append(f" · about {_fmt_eta(pending / rate)} to go" if rate > 0 else " · waiting for the SMSC")
        line.append(f" · parts {p.parts_acked}/{p.parts_total} accepted")
        self.query_one("#rate", Static).update(line)
        self.query_one("#spark", RateSparkline).set_values(self.meter.history)
        self._render_failures(p.failures)

    def _render_failures(self, failures: list[tuple[str, str, str, str]]) -> None:
        key = tuple(failures)
        if key == self._failures_shown:
            return  # unchanged: keep the cursor where the dispatcher put it
        self._failures_shown = key
        rows = [
            (i, [safe_text(name), safe_text(addr), Text(state), safe_text(reason)])
            for i, (name, addr, state, reason) in enumerate(failures[:200])
        ]
        self.query_one("#failures", FitTable).show_rows(rows)
        title = Text(f"Failures ({len(failures)})", style="bold")
        self.query_one("#failures-title", Static).update(title)

    # --- cancel --------------------------------------------------------------------------------

    def action_cancel_alert(self) -> None:
        if self.alert_id is None or self.progress is None:
            return
        c = self.progress.counts
        pending = int(c.get("queued", 0))
        if pending == 0:
            self.app.notify("Nothing left to cancel: every message has left the queue.", markup=False)
            return
        q = Text(f"Cancel the {pending} messages of alert #{self.alert_id} that have not left yet?\n")
        q.append("Messages already handed to the SMSC cannot be recalled.")
        aid, db, actor, app = self.alert_id, self.app.db, self.app.actor, self.app

        def done(yes: bool | None) -> None:
            if not yes:
                return
            # App-owned: leaving the monitor must not drop the cancel.
            app.run_write(alerts.cancel_alert, db, aid, actor, on_done=self._cancelled, what="Cancel")

        self.app.push_buffered(ConfirmActionModal(q, yes_label="Cancel them", no_label="Keep sending"), done)

    def _cancelled(self, n: int) -> None:
        self.app.notify(f"{n} messages cancelled.", markup=False)
        if self.is_attached:
            self.poll()
