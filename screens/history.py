"""History: past alerts - when, who (user@ssh client), networks, urgency, first words, recipients,
delivered/failed/expired counts, how it ended. Enter opens the delivery monitor for the alert.
"""

from __future__ import annotations

from typing import Any

from bin_console.widgets.fit_table import Col, FitTable, shared_prefix
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from bin_console import alerts
from bin_console.textsafe import safe_text

from .base import BaseScreen
from .inbox import g

REFRESH_S = 3.0


def outcome(row: Any) -> str:
    explicit = g(row, "outcome", "status", "ended")
    if explicit:
        return str(explicit)
    if g(row, "cancelled_at"):
        return "cancelled"
    return ""


ALERT_COLUMNS = (
    Col("#", 3),
    Col("When", 11),
    Col("Networks", 10, grow=1),
    Col("Text", 12, grow=4),  # what differs: the opening every alert shares is left out
    Col("Delivered", 9),  # 7/9
    Col("Failed", 6),  # failed, rejected, undeliverable or expired; per state in the line below
    Col("Ended", 9, grow=1),
)


class HistoryScreen(BaseScreen):
    CSS_PATH = "history.tcss"
    INITIAL_FOCUS = "#alerts"
    TITLE_TEXT = "History"
    HELP = [("Up/Down", "move between alerts"), ("Enter", "open the delivery monitor for it"), ("Escape", "back")]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []
        self._shown: tuple = ()

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Past alerts (newest first) - Enter opens the monitor", style="bold"), id="history-title")
        # Columns share the terminal's width; the highlighted alert's details show below the table.
        yield FitTable(ALERT_COLUMNS, id="alerts")
        yield Static("", id="alert-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_alerts()
        self.poll_every(REFRESH_S, self.refresh_alerts)  # paused while covered

    def refresh_alerts(self) -> None:
        db = self.app.db
        self.run_db(lambda: alerts.list_alerts(db, limit=100), group="history-poll", on_done=self._show)

    def _show(self, rows: list[Any]) -> None:
        key = tuple(repr(r) for r in rows)
        if key == self._shown:
            return
        self._shown = key
        table = self.query_one("#alerts", FitTable)
        cursor = table.cursor_row
        self.rows = list(rows)
        texts = [str(g(r, "text", default="")).replace("\n", " ") for r in self.rows]
        opening = shared_prefix(texts)
        shown = []
        for r, text in zip(self.rows, texts, strict=True):
            aid = g(r, "id", "alert_id")
            when = g(r, "created_at")
            nets = g(r, "network_names", default=[])
            nets_s = ", ".join(nets) if isinstance(nets, list | tuple) else str(nets)
            counts = g(r, "counts", default={}) or {}
            delivered = g(r, "delivered", default=counts.get("delivered", 0))
            failed = g(r, "failed", default=sum(counts.get(s, 0) for s in ("failed", "rejected", "undeliverable")))
            expired = g(r, "expired", default=counts.get("expired", 0))
            differs = "…" + text[len(opening) :] if opening else text
            cells = [
                Text(str(aid)),
                Text(when.astimezone().strftime("%d/%m %H:%M") if when else ""),
                safe_text(nets_s),
                safe_text(differs),
                Text(f"{delivered}/{g(r, 'recipients', default=0)}"),
                Text(f"{failed + expired}" if failed + expired else "", style="bold"),
                safe_text(outcome(r)),
            ]
            shown.append((aid, cells))
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
        who = str(g(r, "created_by", default=""))
        if g(r, "client_addr"):
            who += f"@{g(r, 'client_addr')}"
        counts = g(r, "counts", default={}) or {}
        t = Text(f"#{g(r, 'id', 'alert_id')} by ")
        t.append_text(safe_text(who, style="bold"))
        t.append(" · URGENT SMS" if g(r, "urgency") == "urgent" else " · non-urgent e-mail")
        if g(r, "training", default=False):
            t.append(" · TRAINING")
        t.append(f" · {g(r, 'recipients', default=0)} recipients · ")
        t.append(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no deliveries")
        t.append("\n")
        t.append_text(safe_text(", ".join(g(r, "network_names", default=[]) or []), style="bold"))
        t.append(": ")
        t.append_text(safe_text(str(g(r, "text", default="")).replace("\n", " ")))
        t.append("\n")
        t.append_text(safe_text(outcome(r)))
        w.update(t)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.cursor_row < len(self.rows):
            self.app.open_monitor(g(self.rows[event.cursor_row], "id", "alert_id"))
