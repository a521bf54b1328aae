"""Delivery monitor: live counts per state, progress, rate and time to finish, a sparkline of the
sending rate, failures with readable reasons; Ctrl+X cancels what has not left yet (after a confirm;
never on Escape); Ctrl+F composes a follow-up of the alert shown (App.open_follow_up).

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

from bin_console import labels
from bin_console.alerts import service as alerts
from bin_console.i18n import N_, _, decimal, ngettext, number
from bin_console.trust.textsafe import safe_text

from .base import BaseScreen
from .confirm import ConfirmActionModal
from .email_time import email_time

POLL_S = 0.5
CHANNELS = (("sms", N_("SMS")), ("email", N_("e-mail")))
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
    Col(N_("Member"), 14, grow=2),
    Col(N_("Address"), 16),  # the masked number: "+32 470 •• •• 56"
    Col(N_("State"), 13),
    Col(N_("Reason"), 14, grow=3),
)


class MonitorScreen(BaseScreen):
    CSS_PATH = "monitor.tcss"
    INITIAL_FOCUS = "#failures"
    TITLE_TEXT = N_("Delivery monitor")
    KEY_NOTES = [("Up/Down", N_("scroll the failures")), ("Escape", N_("back (sending goes on)"))]
    BINDINGS = [
        Binding(
            "ctrl+x",
            "cancel_alert",
            N_("Cancel unsent"),
            priority=True,
            id="monitor-cancel",
            tooltip=N_("cancel the messages that have not left yet (asks first)"),
        ),
        Binding(
            "ctrl+f",
            "follow_up",
            N_("Follow up"),
            priority=True,
            id="monitor-follow-up",
            tooltip=N_("compose a follow-up of this alert (all clear) to the same members"),
        ),
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
        yield Static("", id="channels")
        yield RateSparkline(ascii=vt, id="spark")
        yield Static(Text(_("Failures"), style="bold"), id="failures-title")
        yield FitTable(FAILURE_COLUMNS, id="failures")

    def on_mount(self) -> None:
        self.query_one("#title", Static).update(Text(_("Loading...")))
        self.poll()
        self.poll_every(POLL_S, self.poll)  # paused while another screen covers the monitor

    def show_alert(self, alert_id: int) -> None:
        """The monitor was asked for another alert (App.open_monitor reuses the open one)."""
        self.alert_id = alert_id
        self.progress = None
        self.meter = RateMeter()
        self._failures_shown = ()
        self.query_one("#title", Static).update(Text(_("Loading...")))
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
            self.query_one("#title", Static).update(Text(_("No alert sent yet. F4 composes one.")))
            return
        if self.alert_id is not None and aid != self.alert_id:
            return  # an answer for the alert shown before show_alert() switched
        self.alert_id = aid
        self.progress = progress
        self._render_progress(progress)

    def _render_progress(self, p: Any) -> None:
        a = p.alert
        title = Text()
        title.append(_("Alert #{id}").format(id=a.id) + " ", style="bold")
        if a.training:
            title.append(" " + _("TRAINING") + " ", style="reverse bold")
            title.append(" ")
        if a.urgency != "urgent":
            title.append(_("non-urgent e-mail"))
        elif "email" in p.by_channel:
            title.append(_("URGENT SMS + e-mail"))  # short: the title line also names who sent it
        else:
            title.append(_("URGENT SMS"))
        title.append(" · ")
        title.append_text(safe_text(", ".join(p.network_names)))
        when = a.created_at.astimezone().strftime("%H:%M") if a.created_at else ""
        # Translators: "· 10:42 by jan@10.0.0.5" (the time the alert was sent, then who sent it)
        title.append(" · " + _("{time} by").format(time=when) + " ")
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
            line.append(_("complete: {done}/{total} left the queue").format(done=left_queue, total=total), style="bold")
            line.append(" · " + _("final {final}/{total}").format(final=final, total=total))
        else:
            line.append(_("sending {done}/{total}").format(done=left_queue, total=total), style="bold")
            line.append(" · " + _("{rate} msg/s").format(rate=decimal(rate)))
            if rate > 0:
                line.append(" · " + _("about {time} to go").format(time=_fmt_eta(pending / rate)))
            else:
                line.append(" · " + _("waiting for the SMSC"))
        line.append(" · " + _("parts {acked}/{total} accepted").format(acked=p.parts_acked, total=p.parts_total))
        self.query_one("#rate", Static).update(line)
        self.query_one("#channels", Static).update(self._channels(p))
        self.query_one("#spark", RateSparkline).set_values(self.meter.history)
        self._render_failures(p.failures)

    def _channels(self, p: Any) -> Text:
        """'SMS 11/12 out, 1 failed · e-mail 0/3 out, 0 failed', then while e-mail waits its time to
        finish at the relay's rate and the e-mail sender's state in full (the status line cuts it)."""
        t = Text()
        for i, (channel, label) in enumerate((ch, lb) for ch, lb in CHANNELS if ch in p.by_channel):
            states = p.by_channel[channel]
            total = sum(states.values())
            pending = sum(states.get(k, 0) for k in ("queued", "submitting"))
            failed = sum(states.get(k, 0) for k in alerts.FAILED_STATES)
            if i:
                t.append(" · ")
            t.append(
                _("{channel} {out}/{total} out, {failed} failed").format(
                    channel=_(label), out=number(total - pending), total=number(total), failed=number(failed)
                ),
                style="bold red" if failed else "",
            )
        mail = p.by_channel.get("email", {})
        mail_pending = mail.get("queued", 0) + mail.get("submitting", 0)
        if mail_pending:
            t.append("\n" + _("e-mail to go: "))
            t.append_text(email_time(mail_pending, self.app.settings.smtp))
            status = self.app.status
            t.append("\n")
            if status.mail:
                t.append(_("e-mail sender: {state}").format(state=labels.sender_state_label(status.mail)))
                if status.mail_detail:
                    t.append(" - ")
                    t.append_text(safe_text(status.mail_detail))  # the relay's text: untrusted
            else:
                t.append(_("e-mail sender: not seen running"), style="bold red")
        return t

    def _render_failures(self, failures: list[tuple[str, str, str, str]]) -> None:
        key = tuple(failures)
        if key == self._failures_shown:
            return  # unchanged: keep the cursor where the dispatcher put it
        self._failures_shown = key
        rows = [
            (i, [safe_text(name), safe_text(addr), Text(labels.state_label(state)), safe_text(reason)])
            for i, (name, addr, state, reason) in enumerate(failures[:200])
        ]
        self.query_one("#failures", FitTable).show_rows(rows)
        title = Text(_("Failures ({n})").format(n=number(len(failures))), style="bold")
        self.query_one("#failures-title", Static).update(title)

    # --- cancel --------------------------------------------------------------------------------

    def action_cancel_alert(self) -> None:
        if self.alert_id is None or self.progress is None:
            return
        c = self.progress.counts
        pending = int(c.get("queued", 0))
        if pending == 0:
            self.app.notify(_("Nothing left to cancel: every message has left the queue."), markup=False)
            return
        question = ngettext(
            "Cancel the {n} message of alert #{id} that has not left yet?",
            "Cancel the {n} messages of alert #{id} that have not left yet?",
            pending,
        )
        q = Text(question.format(n=number(pending), id=self.alert_id) + "\n")
        q.append(_("Messages already handed to the SMSC cannot be recalled."))
        aid, db, actor, app = self.alert_id, self.app.db, self.app.actor, self.app

        def done(yes: bool | None) -> None:
            if not yes:
                return
            # App-owned: leaving the monitor must not drop the cancel.
            app.run_write(alerts.cancel_alert, db, aid, actor, on_done=self._cancelled, what=_("Cancel"))

        self.app.push_buffered(ConfirmActionModal(q, yes_label=_("Cancel them"), no_label=_("Keep sending")), done)

    def action_follow_up(self) -> None:
        """A follow-up of the alert shown ("all clear"): App.open_follow_up decides the rest."""
        if self.alert_id is None or self.progress is None:
            self.app.notify(_("No alert shown: nothing to follow up."), markup=False)
            return
        self.app.open_follow_up(self.alert_id)

    def _cancelled(self, n: int) -> None:
        done = ngettext("{n} message cancelled.", "{n} messages cancelled.", n).format(n=number(n))
        self.app.notify(done, markup=False)
        if self.is_attached:
            self.poll()
