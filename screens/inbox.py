"""Inbox: member replies as they arrive, across alerts and networks, newest first.

alerts.list_replies is re-read every 1.5 s in a thread worker. Each row: time, who (member name,
or the masked number of an unknown sender), network, the alert it answers, the text shown literally
(safe_text), opt-outs marked STOP. Enter or Ctrl+K marks the highlighted reply handled (audited by
the service); Ctrl+U shows unhandled replies only.
"""

from __future__ import annotations

from typing import Any

from bin_console.widgets.fit_table import Col, FitTable
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from bin_console import labels
from bin_console.alerts import service as alerts
from bin_console.i18n import N_, _
from bin_console.trust.textsafe import clean, safe_text

from .base import BaseScreen

REFRESH_S = 1.5


def reply_who(r: alerts.ReplyRow) -> Text:
    """The member's name, or the masked number / address of an unknown sender (never in full)."""
    if r.member_name:
        return safe_text(r.member_name)
    return safe_text(r.masked_source, style="italic")


def reply_via(r: alerts.ReplyRow) -> Text:
    """Which channel the reply came by: SMS or e-mail (both land in this one inbox)."""
    return Text(_("mail") if r.channel == "email" else _("SMS"))


REPLY_COLUMNS = (
    Col(N_("Time"), 11),
    Col(N_("From"), 14, grow=1),  # a member's name, or the masked number: "+32 470 •• •• 56"
    Col(N_("Network"), 9, grow=1),
    Col(N_("Alert"), 5),
    # Translators: column heading (SMS / mail): at most 4 characters
    Col(N_("Via"), 4),  # SMS | mail: both channels land in this one inbox
    Col(N_("Status"), 9),  # new | opted out | handled
    Col(N_("Reply"), 12, grow=4),
)


def reply_status(r: alerts.ReplyRow) -> Text:
    """What is left to do: a handled reply says so; an opt-out (STOP) was already applied when it arrived."""
    if r.handled:
        # Translators: status of a reply in the inbox, at most 9 characters
        return Text(_("handled"), style="dim")
    if r.is_opt_out:
        return Text(_(labels.OPTED_OUT), style="bold reverse")
    # Translators: status of a reply in the inbox, at most 9 characters
    return Text(_("new"), style="bold")


class InboxScreen(BaseScreen):
    CSS_PATH = "inbox.tcss"
    INITIAL_FOCUS = "#replies"
    TITLE_TEXT = N_("Inbox")
    KEY_NOTES = [("Up/Down", N_("move between replies")), ("Enter", N_("mark the highlighted reply handled"))]
    BINDINGS = [
        Binding(
            "ctrl+k",
            "mark_handled",
            N_("Handled"),
            id="inbox-handled",
            tooltip=N_("mark the highlighted reply handled"),
        ),
        Binding(
            "ctrl+u",
            "toggle_unhandled",
            N_("Unhandled only"),
            id="inbox-unhandled",
            tooltip=N_("show unhandled replies only / all replies"),
        ),
    ]

    # Ctrl+U: only the replies nobody has handled yet; the watcher re-titles and re-reads.
    unhandled_only: reactive[bool] = reactive(False, init=False)

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[alerts.ReplyRow] = []
        self._shown: tuple = ()

    def compose_body(self) -> ComposeResult:
        yield Static("", id="inbox-title")
        # The reply gets the room the terminal has; the whole reply shows below the table.
        yield FitTable(REPLY_COLUMNS, id="replies")
        yield Static("", id="reply-full")

    def on_mount(self) -> None:
        self._title()
        self.refresh_replies()
        self.poll_every(REFRESH_S, self.refresh_replies)  # paused while covered

    def _title(self) -> None:
        t = Text(_("Replies"), style="bold")
        t.append(" - " + (_("unhandled only") if self.unhandled_only else _("all (newest first)")))
        self.query_one("#inbox-title", Static).update(t)

    def refresh_replies(self) -> None:
        db, only = self.app.db, self.unhandled_only
        self.run_db(
            lambda: alerts.list_replies(db, limit=100, unhandled_only=only), group="inbox-poll", on_done=self._show
        )

    def _show(self, rows: list[alerts.ReplyRow]) -> None:
        key = tuple((r.id, r.handled) for r in rows)
        if key == self._shown:
            return
        table = self.query_one("#replies", FitTable)
        keep = None
        if table.row_count and table.cursor_row < len(self.rows):
            keep = self.rows[table.cursor_row].id
        self._shown = key
        self.rows = list(rows)
        shown = []
        for r in self.rows:
            cells = [
                Text(r.received_at.astimezone().strftime("%d/%m %H:%M")),
                reply_who(r),
                safe_text(r.network_name or ""),
                Text(f"#{r.alert_id}" if r.alert_id else ""),
                reply_via(r),
                reply_status(r),
                safe_text(r.text.replace("\n", " ")),
            ]
            shown.append((r.id, cells))
        ids = [r.id for r in self.rows]
        table.show_rows(shown, cursor_row=ids.index(keep) if keep in ids else 0)
        self._show_full()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_full()

    def _show_full(self) -> None:
        table = self.query_one("#replies", FitTable)
        w = self.query_one("#reply-full", Static)
        if not self.rows or table.cursor_row >= len(self.rows):
            w.update(Text(_("No replies.") if not self.rows else ""))
            return
        r = self.rows[table.cursor_row]
        # The reply first (it is what the dispatcher reads), wrapped; then which alert it answers.
        t = Text()
        t.append_text(reply_who(r))
        t.append(": ")
        t.append(clean(r.text))
        t.append("\n")
        t.append(_("by {via} from {source}").format(via=reply_via(r).plain, source=r.masked_source), style="dim")
        if r.alert_text:
            t.append(" · " + _("answers:") + " ", style="dim")
            t.append(clean(r.alert_text)[:70], style="dim")
        w.update(t)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_mark_handled()

    def action_mark_handled(self) -> None:
        table = self.query_one("#replies", FitTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return
        r = self.rows[table.cursor_row]
        if r.handled:
            return
        rid, db, actor = r.id, self.app.db, self.app.actor
        # App-owned write: leaving the inbox must not drop it.
        self.app.run_write(alerts.mark_reply_handled, db, rid, actor, on_done=self._marked, what=_("Mark handled"))

    def _marked(self, _result: Any) -> None:
        if self.is_attached:
            self.refresh_replies()

    def action_toggle_unhandled(self) -> None:
        self.unhandled_only = not self.unhandled_only

    def watch_unhandled_only(self) -> None:
        self._title()
        self.refresh_replies()
