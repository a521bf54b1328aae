"""History: past alerts - when, who (user@ssh client), networks, urgency, first words, recipients,
delivered/failed/expired counts, how it ended. Enter opens the delivery monitor for the alert.
"""

from __future__ import annotations

from typing import Any

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
        table: DataTable = DataTable(id="alerts", cursor_type="row")
        table.add_column("#", width=5, key="id")
        table.add_column("When", width=11, key="when")
        table.add_column("Who", width=14, key="who")
        table.add_column("Networks", width=16, key="nets")
        table.add_column("Urg.", width=4, key="urg")
        table.add_column("Text", width=20, key="text")
        table.add_column("Rcpt", width=5, key="n")
        table.add_column("Dlv/Fail/Exp", width=13, key="counts")
        table.add_column("Ended", width=12, key="end")
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_alerts()
        self.set_interval(REFRESH_S, self.refresh_alerts)

    def refresh_alerts(self) -> None:
        db = self.app.db
        self.run_db(lambda: alerts.list_alerts(db, limit=100), group="history-poll", on_done=self._show)

    def _show(self, rows: list[Any]) -> None:
        key = tuple(repr(r) for r in rows)
        if key == self._shown:
            return
        self._shown = key
        table = self.query_one("#alerts", DataTable)
        cursor = table.cursor_row
        self.rows = list(rows)
        table.clear()
        for r in self.rows:
            aid = g(r, "id", "alert_id")
            when = g(r, "created_at")
            who = str(g(r, "created_by", default=""))
            client = g(r, "client_addr")
            if client:
                who += f"@{client}"
            nets = g(r, "network_names", default=[])
            nets_s = ", ".join(nets) if isinstance(nets, list | tuple) else str(nets)
            counts = g(r, "counts", default={}) or {}
            delivered = g(r, "delivered", default=counts.get("delivered", 0))
            failed = g(r, "failed", default=sum(counts.get(s, 0) for s in ("failed", "rejected", "undeliverable")))
            expired = g(r, "expired", default=counts.get("expired", 0))
            text = str(g(r, "text", default="")).replace("\n", " ")
            table.add_row(
                Text(str(aid)),
                Text(when.astimezone().strftime("%d/%m %H:%M") if when else ""),
                safe_text(who),
                safe_text(nets_s),
                Text("SMS" if g(r, "urgency") == "urgent" else "mail"),
                safe_text(text[:40]),
                Text(str(g(r, "recipients", default=0))),
                Text(f"{delivered}/{failed}/{expired}"),
                safe_text(outcome(r)),
                key=str(aid),
            )
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.cursor_row < len(self.rows):
            self.app.open_monitor(g(self.rows[event.cursor_row], "id", "alert_id"))
