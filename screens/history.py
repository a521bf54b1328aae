"""History: past alerts - when, who (user@ssh client), networks, urgency, first words, recipients,
delivered/failed/expired counts, how it ended. Enter opens the delivery monitor for the alert.
"""

from __future__ import annotations

from bin_console.widgets.fit_table import Col, FitTable, shared_prefix
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from bin_console.alerts import service as alerts
from bin_console.i18n import N_, _, number
from bin_console.trust.textsafe import safe_text

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


ALERT_COLUMNS = (
    Col("#", 3),
    Col("When", 11),
    Col("Networks", 8, grow=1),
    Col("Text", 10, grow=4),  # what differs: the opening every alert shares is left out
    Col("SMS/mail", 8),  # recipients per channel: "12/1"
    Col("Delivered", 9),  # 7/9
    Col("Failed", 6),  # failed, rejected, undeliverable or expired; per state in the line below
    Col("Ended", 5, grow=1),
)


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
        # Columns share the terminal's width; the highlighted alert's details show below the table.
        yield FitTable(ALERT_COLUMNS, id="alerts")
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
        table = self.query_one("#alerts", FitTable)
        cursor = table.cursor_row
        self.rows = list(rows)
        texts = [r.text.replace("\n", " ") for r in self.rows]
        opening = shared_prefix(texts)
        shown = []
        for r, text in zip(self.rows, texts, strict=True):
            counts = r.counts
            delivered = counts.get("delivered", 0)
            failed = sum(counts.get(s, 0) for s in ("failed", "rejected", "undeliverable", "expired"))
            differs = "…" + text[len(opening) :] if opening else text
            cells = [
                Text(str(r.id)),
                Text(r.created_at.astimezone().strftime("%d/%m %H:%M")),
                safe_text(", ".join(r.network_names)),
                safe_text(differs),
                Text(per_channel(r)),
                Text(f"{delivered}/{r.recipients}"),
                Text(f"{failed}" if failed else "", style="bold"),
                safe_text(outcome(r)),
            ]
            shown.append((r.id, cells))
        table.show_rows(shown, cursor_row=cursor)
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        table = self.query_one("#alerts", FitTable)
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
