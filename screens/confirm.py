"""The confirm-send modal, and a small yes/no modal for other consequential actions.

ConfirmSendModal states exactly what will happen ("SMS to 412 members of BIN Kerkwijk, 2 parts
each, 824 parts", encoding, expiry, TRAINING; with language versions how many members get each,
"follow-up of alert N" for a follow-up) and sends only on a deliberate key:

- it opens with Cancel focused, so Enter cancels;
- F5 or ``y`` send only once the modal is *armed*, which it is from the moment it has been painted
  (``Screen.screen_layout_refresh_signal``, published right after the compositor wrote the screen).
  A key that arrived before that (``events.Key.time``) was typed ahead, before the window showed, and
  is ignored; once anything was typed ahead ``y`` stops counting: only F5 sends (a stray letter in a
  burst of type-ahead can never confirm, shared notes/textual.md §2.3);
- Escape or ``n`` cancel; Escape never does anything else.

Untrusted text (network names, the alert text) goes through safe_text(), never markup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from bin_console.config import SmtpSettings
from bin_console.i18n import N_, _, ngettext, number
from bin_console.trust.textsafe import safe_text

from .base import BaseModal
from .email_time import email_time


class ArmedOnPaint(BaseModal):
    """A question that counts only keys pressed after it was painted (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.armed_at: float | None = None

    @property
    def armed(self) -> bool:
        return self.armed_at is not None

    def on_mount(self) -> None:
        # immediate: called inside the refresh that painted, before any later key is handled.
        self.screen_layout_refresh_signal.subscribe(self, self._painted, immediate=True)

    def _painted(self, _screen: object) -> None:
        if self.armed_at is None and self.is_current:
            self.armed_at = time.monotonic()
            self.on_armed()

    def on_armed(self) -> None:
        """Subclasses update their hint."""

    def pressed_after_paint(self, event_time: float) -> bool:
        return self.armed_at is not None and event_time >= self.armed_at


@dataclass(frozen=True)
class VersionLine:
    """One language version of the alert and who gets it (from the compose screen's plan)."""

    language: str  # nl | fr | de | en | nl+fr (the combined text)
    members: int
    parts_each: int
    encoding: str  # gsm7 | ucs2
    sms: int = 0  # of the members, those reached by SMS

    def label(self, channel: str) -> str:
        """'nl: 8 members, UCS-2, 2 parts each' (SMS) or 'nl: 8 members' (e-mail)."""
        who = ngettext("{lang}: {n} member", "{lang}: {n} members", self.members).format(
            lang=self.language, n=number(self.members)
        )
        if channel != "sms":
            return who
        enc = "UCS-2" if self.encoding == "ucs2" else "GSM-7"
        each = ngettext("{n} part each", "{n} parts each", self.parts_each).format(n=number(self.parts_each))
        return f"{who}, {enc}, {each}"


BOX_COLUMNS = 72  # inside the confirm window's border and padding at 80 columns
HEADLINE_LINES = 3  # at most this many lines of network names, so the window fits 80x24


@dataclass
class SendSummary:
    channel: str  # sms | email
    recipients: int
    network_names: list[str]
    parts_each: int
    encoding: str  # gsm7 | ucs2
    expires_at: datetime | None
    training: bool
    text: str
    ucs2_chars: list[str] = field(default_factory=list)
    skipped: str = ""
    email_copies: int = 0  # urgent: members without a mobile who also get it by e-mail
    smtp: SmtpSettings = field(default_factory=SmtpSettings)  # the relay's rate: the e-mail time to finish
    versions: list[VersionLine] = field(default_factory=list)  # language versions; [] = one text for all
    follow_up_of: int | None = None  # a follow-up of that alert

    @property
    def total_parts(self) -> int:
        """SMS parts the alert costs: per version its SMS members x its parts, else recipients x parts."""
        if self.versions:
            return sum(v.sms * v.parts_each for v in self.versions)
        return self.recipients * self.parts_each

    def title(self) -> str:
        if self.follow_up_of is not None:
            return _("Send this follow-up of alert {n}?").format(n=self.follow_up_of)
        return _("Send this alert?")

    def versions_line(self) -> Text | None:
        """'Versions: nl: 8 members, GSM-7, 1 part each · fr: 4 members, ...', None for one text."""
        if not self.versions:
            return None
        head = _("Versions:") + " "
        labels = [v.label(self.channel) for v in self.versions]
        one_line = " · ".join(labels)
        t = Text(head, style="bold")
        # on one line when it fits the window (72 columns inside), else one version a line
        t.append(one_line if len(head) + len(one_line) <= 72 else ("\n" + " " * len(head)).join(labels))
        return t

    @property
    def emails(self) -> int:
        """E-mails this alert sends: all of a non-urgent one, the copies of an urgent one."""
        return self.recipients if self.channel == "email" else self.email_copies

    def channels(self) -> Text:
        """'SMS 412 · e-mail 0 · e-mail copies 3': every channel, zero ones too (nothing hidden)."""
        sms = self.recipients if self.channel == "sms" else 0
        mail = self.recipients if self.channel == "email" else 0
        line = _("SMS {sms} · e-mail {mail} · e-mail copies {copies}").format(
            sms=number(sms), mail=number(mail), copies=number(self.email_copies)
        )
        return Text(line, style="bold")

    def email_time(self) -> Text | None:
        """'2,000 e-mails at 30/min: about 1 h 7 min' (reverse when long), None without e-mail."""
        return email_time(self.emails, self.smtp) if self.emails else None

    def headline(self) -> Text:
        """'SMS to 412 members of BIN Kerkwijk, 2 parts each, 824 parts' (names literal)."""
        t = Text()
        if self.channel == "sms":
            head = ngettext("SMS to {n} member of", "SMS to {n} members of", self.recipients)
        else:
            head = ngettext("E-mail to {n} member of", "E-mail to {n} members of", self.recipients)
        t.append(head.format(n=number(self.recipients)) + " ", style="bold")
        shown, more = self._names_that_fit(len(t.plain))
        for i, name in enumerate(shown):
            if i:
                last = i == len(shown) - 1 and not more
                # Translators: before the last of several network names: "BIN A, BIN B and BIN C"
                t.append(" " + _("and") + " " if last else ", ", style="bold")
            t.append_text(safe_text(name, style="bold"))
        if more:
            others = ngettext("and {n} more network", "and {n} more networks", more)
            t.append(" " + others.format(n=number(more)) + f" ({number(len(self.network_names))})", style="bold")
        if self.channel == "sms" and len({v.parts_each for v in self.versions}) > 1:
            t.append(", " + ngettext("{n} part", "{n} parts", self.total_parts).format(n=number(self.total_parts)))
        elif self.channel == "sms":
            parts = self.versions[0].parts_each if self.versions else self.parts_each
            total = self.total_parts
            each = ngettext("{n} part each", "{n} parts each", parts).format(n=number(parts))
            t.append(", " + each + ", " + ngettext("{n} part", "{n} parts", total).format(n=number(total)))
        else:
            t.append(" " + _("(non-urgent)"))
        return t

    def _names_that_fit(self, used: int) -> tuple[list[str], int]:
        """The network names the headline shows, and how many it leaves out. Every name while they
        fit HEADLINE_LINES lines of the window: 40 networks (a whole zone) pushed the text preview
        and the buttons below the bottom of an 80x24 terminal."""
        names = self.network_names
        budget = HEADLINE_LINES * BOX_COLUMNS - used - 30  # the parts or "(non-urgent)" that follow
        if sum(len(n) + 2 for n in names) <= budget:
            return list(names), 0
        room = budget - 28  # "and 37 more networks (40)", in any of the languages
        shown: list[str] = []
        for name in names:
            if len(shown) and sum(len(n) + 2 for n in shown) + len(name) > room:
                break
            shown.append(name)
        return shown, len(names) - len(shown)

    def details(self) -> Text:
        t = Text()
        if self.channel == "sms" and not self.versions:  # versions: each one's encoding is on its line
            if self.encoding == "ucs2":
                forced = " ".join(self.ucs2_chars[:4])
                # the characters are untrusted: appended literally where the template has {chars}
                before, _sep, after = _("Encoding UCS-2 (because of {chars})").partition("{chars}")
                t.append(before)
                t.append_text(safe_text(forced))
                t.append(after)
            else:
                t.append(_("Encoding GSM-7"))
            t.append(" · ")
        if self.expires_at is not None:
            local = self.expires_at.astimezone()
            t.append(_("not sent by {time} = expired, never sent late").format(time=f"{local:%H:%M}"))
        return t


class ConfirmSendModal(ArmedOnPaint):
    """Dismisses with True to send, False/None to cancel."""

    INITIAL_FOCUS = "#cancel"
    TITLE_TEXT = N_("Send this alert?")
    KEY_NOTES = [
        ("y", N_("send, if nothing was typed ahead")),
        ("Enter", N_("press the focused button (Cancel by default)")),
    ]
    # F5 and y are handled in on_key (which sees when the key was pressed); the F5 binding only
    # names the key (help, keymap) and does nothing by itself.
    BINDINGS = [
        Binding(
            "f5", "send_hint", N_("Send"), id="confirm-send", tooltip=N_("send (again: the deliberate second key)")
        ),
        Binding(
            "escape", "cancel", N_("Cancel"), priority=True, id="confirm-cancel", tooltip=N_("cancel; nothing is sent")
        ),
        Binding("n", "cancel", N_("Cancel"), show=False, id="confirm-no", tooltip=N_("cancel; nothing is sent")),
        Binding(
            "left,right",
            "switch",
            N_("Switch"),
            show=False,
            system=True,
            id="confirm-switch",
            tooltip=N_("other button"),
        ),
    ]
    DEFAULT_CSS = """
    ConfirmSendModal { align: center middle; }
    ConfirmSendModal > #box { width: 76; height: auto; max-height: 22; border: double $warning;
                              padding: 0 1; background: $surface; }
    ConfirmSendModal #training { background: $error; color: $text; text-style: bold; width: 1fr;
                                 content-align: center middle; }
    ConfirmSendModal #preview { color: $text-muted; max-height: 6; }
    ConfirmSendModal #buttons { height: auto; align: center middle; margin-top: 1; }
    ConfirmSendModal Button { margin: 0 2; }
    ConfirmSendModal #hint { color: $text-muted; }
    """

    def __init__(self, summary: SendSummary) -> None:
        super().__init__()
        self.summary = summary
        self.typed_ahead = False
        self.sent = False

    def compose(self) -> ComposeResult:
        s = self.summary
        with Vertical(id="box"):
            if s.training:
                yield Static(_("TRAINING - training SMSC, no real SMS"), id="training")
            yield Static(Text(s.title(), style="bold"), id="title")
            yield Static(s.headline(), id="headline")
            versions = s.versions_line()
            if versions is not None:
                yield Static(versions, id="versions")
            yield Static(s.channels(), id="channels")
            eta = s.email_time()
            if eta is not None:
                yield Static(eta, id="email-time")
            yield Static(s.details(), id="details")
            if s.skipped:
                yield Static(Text(s.skipped), id="skipped")
            if s.versions:
                # one line per version: "NL: ...", cut to the line (the confirm fits 80x24)
                lines = [line if len(line) <= 72 else line[:69] + "..." for line in s.text.split("\n")]
                yield Static(Text("\n").join(safe_text(line) for line in lines), id="preview")
            else:
                preview = s.text if len(s.text) <= 300 else s.text[:300] + "..."
                yield Static(Text(safe_text(preview.replace("\n", " ")).plain, no_wrap=False), id="preview")
            with Horizontal(id="buttons"):
                yield Button(_("Cancel"), id="cancel")
                yield Button(_("Send (F5)"), id="send", disabled=True)
            yield Static(_("Read the summary..."), id="hint")

    def on_armed(self) -> None:
        self.query_one("#send", Button).disabled = False
        self._hint()

    def _hint(self) -> None:
        if self.typed_ahead:
            msg = _("Keys typed before this window showed were ignored. F5 = send · Escape = cancel")
        else:
            msg = _("F5 or y = send · Enter = Cancel · Escape or n = cancel")
        self.query_one("#hint", Static).update(Text(msg))

    def _deliberate(self, event_time: float) -> bool:
        """True when a key was pressed after the modal was painted (not typed ahead)."""
        if not self.pressed_after_paint(event_time):
            self.typed_ahead = True
            if self.armed:
                self._hint()
            return False
        return True

    def on_key(self, event: events.Key) -> None:
        # Handled here, not as bindings, to see when the key was pressed (event.time).
        if event.key == "y":
            event.stop()
            event.prevent_default()
            if self._deliberate(event.time) and not self.typed_ahead:
                self._send()
        elif event.key == "f5":
            event.stop()
            event.prevent_default()
            if self._deliberate(event.time):
                self._send()

    def action_send_hint(self) -> None:
        pass  # reached only if on_key did not see the key; never sends on its own

    def _send(self) -> None:
        if self.sent:
            return
        self.sent = True
        self.dismiss(True)

    def action_cancel(self) -> None:
        if not self.sent:
            self.dismiss(False)

    def action_switch(self) -> None:
        focused = self.focused
        target = "#send" if focused is not None and focused.id == "cancel" else "#cancel"
        btn = self.query_one(target, Button)
        if not btn.disabled:
            self.set_focus(btn)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "send":
            # Enter on Send (reached with Tab or arrows) is deliberate; typed-ahead Enter cannot get
            # here because Cancel has focus until someone moves it.
            if self.armed:
                self._send()
        else:
            self.action_cancel()


class ConfirmActionModal(ArmedOnPaint):
    """'Cancel the 120 SMS not sent yet?' - Cancel/No focused; F5 or y (once painted) confirms."""

    INITIAL_FOCUS = "#no"
    TITLE_TEXT = N_("Question")
    KEY_NOTES = [("y", N_("yes (once the question has been shown)")), ("Enter", N_("no (the focused button)"))]
    BINDINGS = [
        Binding("f5", "yes_hint", N_("Yes"), id="question-yes", tooltip=N_("yes (once the question has been shown)")),
        Binding("escape", "no", N_("No"), priority=True, id="question-escape", tooltip=N_("no")),
        Binding("n", "no", N_("No"), show=False, id="question-no", tooltip=N_("no")),
    ]
    DEFAULT_CSS = """
    ConfirmActionModal { align: center middle; }
    ConfirmActionModal > #box { width: 64; height: auto; border: double $warning; padding: 0 1;
                                background: $surface; }
    ConfirmActionModal #buttons { height: auto; align: center middle; margin-top: 1; }
    ConfirmActionModal Button { margin: 0 2; }
    """

    def __init__(self, question: Text | str, yes_label: str | None = None, no_label: str | None = None) -> None:
        super().__init__()
        self.question = question if isinstance(question, Text) else Text(question)
        self.yes_label = yes_label if yes_label is not None else _("Yes")
        self.no_label = no_label if no_label is not None else _("No")

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(self.question, id="question")
            with Horizontal(id="buttons"):
                yield Button(self.no_label, id="no")
                yield Button(self.yes_label, id="yes")
            # The keys in the buttons' own words: "F5 or y = quit anyway", never a bare yes/no.
            yes, no = self.yes_label.lower(), self.no_label.lower()
            yield Static(Text(_("F5 or y = {yes} · Enter, n or Escape = {no}").format(yes=yes, no=no)), id="hint")

    def on_key(self, event: events.Key) -> None:
        if event.key in ("y", "f5"):
            event.stop()
            event.prevent_default()
            if self.pressed_after_paint(event.time):
                self.dismiss(True)

    def action_yes_hint(self) -> None:
        pass  # see ConfirmSendModal.action_send_hint

    def action_no(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes" and self.armed:
            self.dismiss(True)
        elif event.button.id == "no":
            self.dismiss(False)
