"""One line at the bottom of every screen: SMSC link state, queue depth, TRAINING, current context.

Presentational: the App polls the database and publishes a LinkStatus on ``app.status_signal``;
this widget subscribes and renders it. Fixed text width so an update never re-lays out the screen,
and an unchanged status is not repainted (nothing is written to the terminal while nothing changes).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from bin_console.textsafe import clean

_LINK_LABEL = {
    "bound": ("SMSC bound", "green"),
    "connecting": ("SMSC connecting", "yellow"),
    "reconnecting": ("SMSC reconnecting", "yellow"),
    "throttled": ("SMSC throttled", "yellow"),
    "config_error": ("SMSC CONFIG ERROR", "bold red"),
    "stopped": ("SMSC stopped", "red"),
    "unknown": ("SMSC ?", ""),
}


def render_status(status: Any) -> Text:
    link = getattr(status, "link", "unknown")
    label, style = _LINK_LABEL.get(link, (f"SMSC {link}", ""))
    out = Text(no_wrap=True, end="")
    if getattr(status, "training", False):
        out.append(" TRAINING ", style="reverse bold")
        out.append(" ")
    out.append(label, style=style)
    detail = getattr(status, "detail", "")
    if detail:
        out.append(f" ({clean(detail)[:40]})")  # SMSC error text: untrusted
    out.append(f" | queue {getattr(status, 'queue_depth', 0):,}")
    # urgent alerts whose closing message is due (bin_console/reminders.py); status is None before the App has one
    reminders = getattr(status, "reminders", 0)
    if reminders:
        out.append(" | ")
        out.append(f"FOLLOW-UP DUE {reminders}", style="bold yellow")
    sms_off = getattr(status, "sms_off", "")
    if sms_off:  # why SMS cannot be sent and the fix (readiness): the reason comes first, the fix may be cut
        out.append(" | ")
        out.append("SMS OFF", style="bold red")
        out.append(f": {sms_off}")
    email_off = getattr(status, "email_off", "")
    if email_off:  # readiness.Readiness.sentence(): "E-mail cannot be sent: <reason>. <fix>"
        what, _, why = email_off.partition(": ")
        out.append(" | ")
        out.append(what, style="bold red")
        out.append(f": {why}")
    return out


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; background: $panel; color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        app = self.app
        signal = getattr(app, "status_signal", None)
        if signal is not None:
            signal.subscribe(self, self.show_status)
        self.show_status(getattr(app, "status", None))

    _shown: Text | None = None  # the text on screen now

    def show_status(self, status: Any) -> None:
        """Repaint only when the text changes: the same status can come again (the poll runs every
        0.5 s), and each repaint re-sends the whole line to the terminal (≈170 B, much on a slow link)."""
        text = render_status(status)
        if text == self._shown:
            return
        self._shown = text
        # One line of fixed height: no layout pass needed for new text.
        self.update(text, layout=False)
