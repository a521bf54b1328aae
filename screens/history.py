"""History: past alerts - when, who (user@ssh client), networks, urgency, first words, recipients,
delivered/failed/expired counts, how it ended. Enter opens the delivery monitor for the alert.

Threads: a follow-up ("all clear") is listed right under the alert it follows up, its text behind
"└ " (a box-drawing glyph every Linux console font has; shared notes/textual.md §2.5); the detail
lines below the table name the original and the follow-ups.

Reminders (bin_console/alerts/reminders.py): an urgent alert whose closing message is due shows
DUE in its Ended column, as on every console of the database. Ctrl+F composes a follow-up of the
highlighted alert (``App.open_follow_up``); Ctrl+D dismisses its reminder, audited, in an App-owned
thread worker (the same service as `bin-console alerts reminders --dismiss`).
"""

from __future__ import annotations

from datetime import datetime

from bin_console.widgets.fit_table import Col, FitTable, shared_prefix
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from bin_console import labels
from bin_console.alerts import reminders
from bin_console.alerts import service as alerts
from bin_console.i18n import N_, _, ngettext, number
from bin_console.trust.textsafe import safe_text

from .base import BaseScreen

REFRESH_S = 3.0
THREAD = "└ "  # before a follow-up's text: it sits under the alert it follows up
DUE_STYLE = "bold yellow"  # as the status line's FOLLOW-UP DUE


def outcome(row: alerts.AlertRow) -> str:
    if row.outcome:
        return row.outcome
    return _("cancelled") if row.cancelled_at else ""


def per_channel(row: alerts.AlertRow) -> str:
    """'12/1': rows by SMS / by e-mail ('-' for a channel the alert does not use)."""
    counts = [sum(row.by_channel[ch].values()) if ch in row.by_channel else None for ch in ("sms", "email")]
    return "/".join("-" if n is None else number(n) for n in counts)


def channel_states(row: alerts.AlertRow) -> str:
    """'SMS: delivered 12 · e-mail: failed 1' (every state of every channel the alert used)."""
    parts = []
    for channel, label in (("sms", N_("SMS")), ("email", N_("e-mail"))):
        states = row.by_channel.get(channel)
        if states:
            parts.append(
                f"{_(label)}: " + ", ".join(f"{labels.state_label(k)} {number(v)}" for k, v in sorted(states.items()))
            )
    return " · ".join(parts)


def threaded(rows: list[alerts.AlertRow]) -> list[tuple[alerts.AlertRow, int]]:
    """(row, depth), newest thread first: each alert followed by its follow-ups (oldest first) that
    are on this page. A follow-up whose original is not on the page stands on its own, at depth 1.
    Every row comes out exactly once."""
    by_id = {r.id: r for r in rows}
    children: dict[int, list[alerts.AlertRow]] = {}
    for r in rows:
        if r.follow_up_of is not None and r.follow_up_of in by_id and r.follow_up_of != r.id:
            children.setdefault(r.follow_up_of, []).append(r)
    out: list[tuple[alerts.AlertRow, int]] = []
    seen: set[int] = set()

    def emit(row: alerts.AlertRow, depth: int) -> None:
        if row.id in seen:
            return
        seen.add(row.id)
        out.append((row, depth))
        for child in sorted(children.get(row.id, []), key=lambda c: (c.created_at, c.id)):
            emit(child, depth + 1)

    for r in rows:  # newest first, as read
        if r.follow_up_of is None or r.follow_up_of not in by_id:
            emit(r, 0 if r.follow_up_of is None else 1)
    for r in rows:  # never drop one (a thread whose first alert is a follow-up of itself, say)
        emit(r, 1 if r.follow_up_of is not None else 0)
    return out


def load_history(db, after_minutes: int) -> tuple[list[alerts.AlertRow], dict[int, datetime]]:
    """Blocking (a thread worker): the last 100 alerts and, by alert id, since when a closing
    message is due (reminders.due_reminders, the status line's count)."""
    rows = alerts.list_alerts(db, limit=100)
    due = {r.alert_id: r.due_since for r in reminders.due_reminders(db, after_minutes=after_minutes)}
    return rows, due


ALERT_COLUMNS = (
    Col(N_("#"), 3),
    Col(N_("When"), 11),
    Col(N_("Networks"), 8, grow=1),
    Col(N_("Text"), 10, grow=4),  # what differs: the opening every alert shares is left out
    Col(N_("SMS/mail"), 8),  # recipients per channel: "12/1"
    Col(N_("Delivered"), 9),  # 7/9
    Col(N_("Failed"), 6),  # failed, rejected, undeliverable or expired; per state in the line below
    # how it ended, or DUE while its closing message is due
    Col(N_("Ended"), 5, grow=1),
)


class HistoryScreen(BaseScreen):
    CSS_PATH = "history.tcss"
    INITIAL_FOCUS = "#alerts"
    TITLE_TEXT = N_("History")
    FOOTER_GLOBAL = ("help", "networks")  # room for the screen's own keys at 80 columns
    KEY_NOTES = [("Up/Down", N_("move between alerts")), ("Enter", N_("open the delivery monitor for it"))]
    BINDINGS = [
        Binding(
            "ctrl+f",
            "follow_up",
            N_("Follow up"),
            id="history-follow-up",
            tooltip=N_("compose a follow-up (closing message) of the highlighted alert"),
        ),
        Binding(
            "ctrl+d",
            "dismiss_reminder",
            N_("No follow-up"),
            id="history-dismiss",
            tooltip=N_("dismiss the highlighted alert's closing-message reminder (audited)"),
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[alerts.AlertRow] = []  # in the order shown (threads)
        self.depth: dict[int, int] = {}  # alert id -> 0, or 1 for a follow-up
        self.due: dict[int, datetime] = {}  # alert id -> since when its closing message is due
        self._shown: tuple = ()

    def compose_body(self) -> ComposeResult:
        title = _("Past alerts (newest first) - Enter opens the monitor")
        yield Static(Text(title, style="bold"), id="history-title")
        # Columns share the terminal's width; the highlighted alert's details show below the table.
        yield FitTable(ALERT_COLUMNS, id="alerts")
        yield Static("", id="alert-detail")

    def on_mount(self) -> None:
        self.refresh_alerts()
        self.poll_every(REFRESH_S, self.refresh_alerts)  # paused while covered

    def refresh_alerts(self) -> None:
        db, minutes = self.app.db, self.app.settings.followup_reminder_minutes
        self.run_db(load_history, db, minutes, group="history-poll", on_done=self._show)

    def _show(self, result: tuple[list[alerts.AlertRow], dict[int, datetime]]) -> None:
        rows, due = result
        key = (tuple(repr(r) for r in rows), tuple(sorted(due.items())))
        if key == self._shown:
            return
        self._shown = key
        table = self.query_one("#alerts", FitTable)
        # the highlight stays on the same alert, not the same row: a new alert or a follow-up from
        # another console shifts the rows, and Ctrl+D / Ctrl+F act on the highlighted one
        was = self.highlighted()
        ordered = threaded(list(rows))
        self.rows = [r for r, _depth in ordered]
        self.depth = {r.id: depth for r, depth in ordered}
        self.due = dict(due)
        on_page = {r.id for r in self.rows}
        texts = [r.text.replace("\n", " ") for r in self.rows]
        opening = shared_prefix(texts)
        shown = []
        for r, text in zip(self.rows, texts, strict=True):
            counts = r.counts
            delivered = counts.get("delivered", 0)
            failed = sum(counts.get(s, 0) for s in ("failed", "rejected", "undeliverable", "expired"))
            differs = "…" + text[len(opening) :] if opening else text
            shown_text = safe_text(differs)
            if self.depth[r.id]:
                # under its original; one that is not on this page names it
                lead = THREAD if r.follow_up_of in on_page else f"{THREAD}#{r.follow_up_of} "
                shown_text = Text.assemble(lead, shown_text)
            if r.id in self.due:
                # Translators: the Ended column (5 cells) of an alert whose closing message is due
                ended = Text(_("DUE"), style=DUE_STYLE)
            else:
                ended = safe_text(outcome(r))
            cells = [
                Text(str(r.id)),
                Text(r.created_at.astimezone().strftime("%d/%m %H:%M")),
                safe_text(", ".join(r.network_names)),
                shown_text,
                Text(per_channel(r)),
                Text(f"{delivered}/{r.recipients}"),
                Text(f"{failed}" if failed else "", style="bold"),
                ended,
            ]
            shown.append((r.id, cells))
        ids = [r.id for r in self.rows]
        cursor = ids.index(was.id) if was is not None and was.id in ids else 0
        table.show_rows(shown, cursor_row=cursor)
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def highlighted(self) -> alerts.AlertRow | None:
        table = self.query_one("#alerts", FitTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def _detail(self) -> None:
        w = self.query_one("#alert-detail", Static)
        r = self.highlighted()
        if r is None:
            w.update(Text(_("No alerts sent yet.")))
            return
        t = Text(no_wrap=True, overflow="ellipsis")  # one line each: the third must stay in view
        t.append(f"#{r.id} ")
        t.append_text(safe_text(r.who, style="bold"))
        t.append(" · " + (_("URGENT SMS") if r.urgency == "urgent" else _("non-urgent e-mail")))
        if r.training:
            t.append(" · " + _("TRAINING"))
        t.append(
            " · " + ngettext("{n} recipient", "{n} recipients", r.recipients).format(n=number(r.recipients)) + " · "
        )
        t.append(channel_states(r) or _("no deliveries"))
        t.append("\n")
        t.append_text(safe_text(", ".join(r.network_names), style="bold"))
        t.append(": ")
        t.append_text(safe_text(r.text.replace("\n", " ")))
        t.append("\n")
        due = self.due.get(r.id)
        if due is not None:
            since = due.astimezone().strftime("%H:%M")
            t.append(
                _("Closing message due since {time}").format(time=since),  # the footer names the keys
                style=DUE_STYLE,
            )
            t.append(" · ")
        if r.follow_up_of is not None:
            t.append(_("follow-up of #{id}").format(id=r.follow_up_of) + " · ")
        if r.follow_ups:
            ids = ", ".join(f"#{i}" for i in r.follow_ups)
            t.append(_("followed up by {ids}").format(ids=ids) + " · ")
        t.append_text(safe_text(outcome(r)))
        w.update(t)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.cursor_row < len(self.rows):
            self.app.open_monitor(self.rows[event.cursor_row].id)

    def action_follow_up(self) -> None:
        r = self.highlighted()
        if r is None:
            self.app.notify(_("No alert to follow up."), severity="warning", markup=False)
            return
        # A thread has one original: following up a follow-up follows up the same alert.
        self.app.open_follow_up(r.follow_up_of if r.follow_up_of is not None else r.id)

    def action_dismiss_reminder(self) -> None:
        r = self.highlighted()
        if r is None or r.id not in self.due:
            self.app.notify(_("No closing message is due for this alert."), severity="warning", markup=False)
            return
        app, aid = self.app, r.id
        # App-owned: leaving the screen must not drop a dismissal the dispatcher asked for.
        app.run_write(
            reminders.dismiss_reminder,
            app.db,
            aid,
            app.actor,
            on_done=lambda _r: self._dismissed(aid),
            what=_("Dismiss"),
        )

    def _dismissed(self, alert_id: int) -> None:
        self.app.notify(_("Reminder for alert {id} dismissed.").format(id=alert_id), markup=False)
        if self.is_attached:
            self.refresh_alerts()
