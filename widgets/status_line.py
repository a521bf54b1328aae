"""One line at the bottom of every screen: SMSC link and learnt rate, e-mail sender, IMAP reply
reader, the queue over both channels, TRAINING, and why SMS is off.

Presentational: the App polls the database and publishes a LinkStatus on ``app.status_signal``;
this widget subscribes and renders it. Fixed text width so an update never re-lays out the screen,
and an unchanged status is not repainted (nothing is written to the terminal while nothing changes).
Everything must fit 80 columns, so states are abbreviated; the SMSC's own text gets the room left.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from bin_console.i18n import N_, _, decimal, number
from bin_console.trust.textsafe import clean

_LINK_LABEL = {
    "bound": (N_("SMSC bound"), "green"),
    "connecting": (N_("SMSC connecting"), "yellow"),
    "reconnecting": (N_("SMSC reconnecting"), "yellow"),
    "throttled": (N_("SMSC throttled"), "yellow"),
    "config_error": (N_("SMSC CONFIG ERROR"), "bold red"),
    "stopped": (N_("SMSC stopped"), "red"),
    "unknown": (N_("SMSC ?"), ""),
}
# A mail channel's state in three words: working, trying again, or off (with the reason).
_CHANNEL_OK = frozenset({"idle", "bound"})
_CHANNEL_RETRYING = frozenset({"connecting", "reconnecting", "throttled"})
WIDTH = 78  # 80 columns minus the padding
OFF_REASON_MAX = 24  # a mail reason is cut so the rest of the line still shows


def _rate(tps: float) -> str:
    return f"{decimal(tps, 0)}/s" if tps >= 10 else f"{decimal(tps)}/s"


def _channel(out: Text, ok: str, retrying: str, off: str, state: str, detail: str) -> None:
    """'mail ok' / 'mail retrying' / 'MAIL OFF: reason' (state "" = no such channel: nothing)."""
    if not state:
        return
    out.append(" | ")
    if state in _CHANNEL_OK:
        out.append(ok, style="green")
    elif state in _CHANNEL_RETRYING:
        out.append(retrying, style="yellow")
    else:
        out.append(off, style="bold red")
        reason = clean(detail) or state  # a server's or sender's text: untrusted
        out.append(f": {reason[:OFF_REASON_MAX]}")


def render_status(status: Any) -> Text:
    """``status`` is the App's LinkStatus (bin_console/app.py); widgets cannot import the App."""
    out = Text(no_wrap=True, end="")
    if status is None:
        return out
    if status.training:
        out.append(" " + _("TRAINING") + " ", style="reverse bold")
        out.append(" ")
    label, style = _LINK_LABEL.get(status.link, (f"SMSC {status.link}", ""))
    out.append(_(label), style=style)
    if status.sms_rate is not None and status.link in ("bound", "throttled"):
        out.append(f" {_rate(status.sms_rate)}", style=style)
    out.append(" | ")
    out.append(_("queue {n}").format(n=number(status.queue_depth)))
    if status.email_queue:
        out.append(" (" + _("mail {n}").format(n=number(status.email_queue)) + ")")
    if status.reminders:  # urgent alerts whose closing message is due (alerts/reminders.py), every console alike
        out.append(" | ")
        out.append(_("FOLLOW-UP DUE {n}").format(n=status.reminders), style="bold yellow")
    _channel(out, _("mail ok"), _("mail retrying"), _("MAIL OFF"), status.mail, status.mail_detail)
    _channel(out, _("IMAP ok"), _("IMAP retrying"), _("IMAP OFF"), status.imap, status.imap_detail)
    if status.sms_off:  # why SMS cannot be sent and the fix (readiness): the reason comes first, the fix may be cut
        out.append(" | ")
        out.append(_("SMS OFF"), style="bold red")
        out.append(f": {status.sms_off}")
    if status.email_off:  # readiness: "E-mail cannot be sent: <reason>. <fix>"
        what, _sep, why = status.email_off.partition(": ")
        out.append(" | ")
        out.append(what, style="bold red")
        out.append(f": {why}")
    room = WIDTH - len(out.plain) - 3
    if status.detail and room > 8:  # the SMSC's text (untrusted) gets what is left; F1/monitor show all
        out.append(f" ({clean(status.detail)[:room]})")
    return out


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; background: $panel; color: $text; padding: 0 1;
                 text-wrap: nowrap; text-overflow: ellipsis; }
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
