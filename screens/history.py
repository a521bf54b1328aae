"""History: past alerts - when, who (user@ssh client), networks, urgency, first words, recipients,
delivered/failed/expired counts, how it ended. Enter opens the delivery monitor for the alert.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from bin_console import alerts
from bin_console.i18n import N_, _, number
from bin_console.textsafe import safe_text

from .base import BaseScreen

REFRESH_S = 3.0


def outcome(row: alerts.AlertRow) -> str:
    if row.outcome:
        return row.outcome
    return "cancelled" if row.cancelled_at else ""


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
            parts.append(f"{_(label)}: " + ", ".join(f"{k} {number(v)}" for k, v in sorted(states.items())))
    return " · ".join(parts)


class HistoryScreen(BaseScreen):
    CSS_PATH = "history.tcss"
    INITIAL_FOCUS = "#alerts"
    TITLE_TEXT = "History"
    KEY_NOTES = [("Up/Down", "move between alerts"), ("Enter", "open the delivery monitor for it")]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[alerts.AlertRow] = []
        self._shown: tuple = ()

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Past alerts (newest first) - Enter opens the monitor", style="bold"), id="history-title")
        table: DataTable = DataTable(id="alerts", cursor_type="row")
        # Fixed widths that fit 80 columns; the highlighted alert's details show below the table.
        table.add_column("#", width=4, key="id")
        table.add_column("When", width=11, key="when")
        table.add_column("Networks", width=12, key="nets")
        table.add_column("Text", width=9, key="text")
        table.add_column(_("SMS/mail"), width=9, key="channels")  # recipients per channel
        table.add_column("D/F/E", width=9, key="counts")
        table.add_column("Ended", width=9, key="end")
        yield table
        yield Static("", id="alert-detail")

    def on_mount(self) -> None:
        self.refresh_alerts()
        self.poll_every(REFRESH_S, self.refresh_alerts)  # paused while covered

    def refresh_alerts(self) -> None:
        db = self.app.db
        self.run_db(lambda: alerts.list_alerts(db, limit=100), group="history-poll", on_done=self._show)

    def _show(self, rows: list[alerts.AlertRow]) -> None:
        key = tuple(repr(r) for r in rows)
        if key == self._shown:
            return
        self._shown = key
        table = self.query_one("#alerts", DataTable)
        cursor = table.cursor_row
        self.rows = list(rows)
        table.clear()
        for r in self.rows:
            counts = r.counts
            failed = sum(counts.get(s, 0) for s in ("failed", "rejected", "undeliverable"))
            table.add_row(
                Text(str(r.id)),
                Text(r.created_at.astimezone().strftime("%d/%m %H:%M")),
                safe_text(", ".join(r.network_names)),
                safe_text(r.text.replace("\n", " ")[:40]),
                Text(per_channel(r)),
                Text(f"{counts.get('delivered', 0)}/{failed}/{counts.get('expired', 0)}"),
                safe_text(outcome(r)),
                key=str(r.id),
            )
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        table = self.query_one("#alerts", DataTable)
        w = self.query_one("#alert-detail", Static)
        if not self.rows or table.cursor_row >= len(self.rows):
            w.update(Text("No alerts sent yet."))
            return
        r = self.rows[table.cursor_row]
        t = Text(f"#{r.id} by ")
        t.append_text(safe_text(r.who, style="bold"))
        t.append(" · URGENT SMS" if r.urgency == "urgent" else " · non-urgent e-mail")
        if r.training:
            t.append(" · TRAINING")
        t.append(f" · {r.recipients} recipients · ")
        t.append(channel_states(r) or "no deliveries")
        t.append("\n")
        t.append_text(safe_text(", ".join(r.network_names), style="bold"))
        t.append(": ")
        t.append_text(safe_text(r.text.replace("\n", " ")))
        t.append("\n")
        t.append_text(safe_text(outcome(r)))
        w.update(t)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.cursor_row < len(self.rows):
            self.app.open_monitor(self.rows[event.cursor_row].id)
