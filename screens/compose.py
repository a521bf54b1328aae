"""Compose an alert: text with a live SMS meter, targets, urgency, template, GSM-safe rewrite,
recipients summary; F5 reviews in the confirm modal and sends only after a deliberate second key.

The networks it sends to are given by whoever opens it (App.open_compose(targets): the networks on
the screen F4 was pressed on), shown in its top line and re-stated by the confirm window; only
Ctrl+T changes them. The App keeps the unsent text (App.keep_draft) and writes the alert
(App.submit_alert), answering with AlertQueued / AlertNotCreated (screens/messages.py).

The meter (encoding.analyse) is pure and fast, so it runs on the event loop on every change; the
recipient plan and the alert creation touch the database and run in thread workers. The alert and
all its delivery rows are written by alerts.create_alert in one transaction *before* the sender is
woken, so nothing confirmed is ever lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bin_console.data.models import utcnow
from bin_console.widgets.sms_meter import SmsMeter
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static, TextArea

from bin_console import labels
from bin_console.alerts import service as alerts
from bin_console.channels.smpp import encoding
from bin_console.directory.validation import check_alert_text
from bin_console.i18n import N_, _, ngettext, number
from bin_console.trust.textsafe import clean

from .alert_draft import AlertDraft
from .base import BaseScreen
from .confirm import ConfirmSendModal, SendSummary
from .keys import key_label, own_bindings
from .messages import AlertNotCreated, AlertQueued
from .target import NetworkRef, target_text
from .target_picker import TargetPickerModal
from .template_picker import TemplatePickerModal


def _network_names(db: Any, ids: list[int]) -> dict[int, str]:
    from bin_console.data import networks

    out: dict[int, str] = {}
    with db.read() as s:
        for nid in ids:
            net = networks.get_network(s, nid)
            if net is not None:
                out[nid] = net.name
    return out


@dataclass
class _Plan:
    network_ids: tuple[int, ...]
    urgency: str
    plan: Any  # alerts.RecipientPlan
    email_copies: int = 0  # urgent: members an e-mail copy would reach (no mobile, an address)


def describe_plan(plan: Any, urgency: str) -> Text:
    """'SMS 412 · skipped: 3 opted out, 5 no mobile, 2 left or pending, 1 duplicate'."""
    channel = labels.channel_of(urgency)
    t = Text()
    t.append(f"{'SMS' if channel == 'sms' else 'E-mail'} {number(plan.recipients)}", style="bold")
    t.append(" · " + labels.skipped_of(channel, plan))
    return t


class ComposeScreen(BaseScreen):
    CSS_PATH = "compose.tcss"
    INITIAL_FOCUS = "#body"
    TITLE_TEXT = "Compose alert"
    KEY_NOTES = [("Tab", "leave the text area"), ("Escape", "back (the text is kept)")]
    BINDINGS = [
        Binding(
            "f5",
            "review",
            "Review",
            priority=True,
            id="compose-review",
            tooltip="review the alert; the confirm window sends on F5 again or y",
        ),
        Binding(
            "ctrl+l", "templates", "Template", priority=True, id="compose-template", tooltip="pick a message template"
        ),
        Binding(
            "ctrl+g",
            "gsm_safe",
            "GSM-safe",
            priority=True,
            show=False,
            id="compose-gsm-safe",
            tooltip="rewrite to GSM-7 (shows what changed)",
        ),
        Binding(
            "ctrl+u",
            "toggle_urgency",
            "Urgency",
            priority=True,
            show=False,
            id="compose-urgency",
            tooltip="urgency: urgent (SMS) / non-urgent (e-mail)",
        ),
        Binding(
            "ctrl+o",
            "toggle_email_copy",
            N_("E-mail copy"),
            priority=True,
            show=False,
            id="compose-email-copy",
            tooltip=N_("urgent alert: also e-mail the members without a mobile (on / off)"),
        ),
        Binding(
            "ctrl+t",
            "targets",
            "Targets",
            priority=True,
            show=False,
            id="compose-targets",
            tooltip="add or remove target networks",
        ),
    ]

    # urgent (SMS) | normal (e-mail); the watcher re-renders and re-counts the recipients.
    urgency: reactive[str] = reactive("urgent", init=False)
    # Urgent alerts only: an e-mail copy to the members without a mobile (a per-alert choice).
    email_copy: reactive[bool] = reactive(False, init=False)

    def __init__(self, targets: tuple[NetworkRef, ...], *, draft: AlertDraft | None = None) -> None:
        super().__init__()
        self.network_ids: list[int] = list(dict.fromkeys(ref.id for ref in targets))
        self.network_names: dict[int, str] = {ref.id: ref.name for ref in targets if ref.name}
        self._draft = draft
        self.template_key: str | None = None
        self.plan: _Plan | None = None
        self.analysis = encoding.analyse("")
        self._review_wanted = False  # F5 pressed while the plan was still being computed
        self._busy = False  # confirm open or alert being created: a second F5 does nothing
        self.last_alert_id: int | None = None

    def target(self) -> tuple[NetworkRef, ...]:
        return tuple(NetworkRef(nid, self.network_names.get(nid, "")) for nid in self.network_ids)

    # --- layout ---------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        # BaseScreen.compose wraps this with the status line and the footer.
        with Vertical(id="compose"):
            yield Static("", id="targets")
            yield TextArea(id="body", soft_wrap=True, tab_behavior="focus", show_line_numbers=False)
            yield SmsMeter(id="meter")
            yield Static("", id="recipients")

    def on_mount(self) -> None:
        body = self.query_one("#body", TextArea)
        if self._draft is not None:
            self._restore(self._draft, body)
        self._render_targets()
        self._update_meter()
        self._refresh_targets()

    # --- draft ---------------------------------------------------------------------------------

    def _restore(self, draft: AlertDraft, body: TextArea) -> None:
        """The text of the unsent alert comes back; the targets are the ones asked for now (F4 on
        another network means that network), and the dispatcher is told when they differ."""
        self.set_reactive(ComposeScreen.urgency, draft.urgency)  # on_mount renders and counts next
        self.set_reactive(ComposeScreen.email_copy, draft.email_copy)
        self.template_key = draft.template_key
        if draft.text:
            body.load_text(draft.text)
            body.move_cursor(body.document.end)
        if draft.network_ids and self.network_ids != draft.network_ids:
            self.app.notify("Your unsent alert text was kept; check the target networks.", title="Draft", markup=False)

    def draft(self) -> AlertDraft:
        return AlertDraft(self.text, self.target(), self.urgency, self.template_key, self.copying)

    def _save_draft(self) -> None:
        if not self.is_attached:
            return
        if not self.text.strip() and self.template_key is None:
            self.app.keep_draft(None)
            return
        self.app.keep_draft(self.draft())

    # --- state shown --------------------------------------------------------------------------

    @property
    def copying(self) -> bool:
        """The e-mail copy is on and applies (it exists for urgent alerts only)."""
        return self.email_copy and self.urgency == "urgent"

    @property
    def text(self) -> str:
        return self.query_one("#body", TextArea).text

    def _render_targets(self) -> None:
        t = Text()
        if self.urgency == "urgent":
            t.append(" URGENT · SMS ", style="bold reverse")
            if self.email_copy:
                t.append(" + " + _("e-mail copy") + " ", style="bold reverse")
        else:
            t.append(" non-urgent · e-mail ", style="reverse")
        t.append(" to ")
        if not self.network_ids:
            t.append("no network - Ctrl+T adds one", style="bold")
        t.append_text(target_text(self.target()))
        self.query_one("#targets", Static).update(t)

    def _update_meter(self) -> None:
        self.analysis = encoding.analyse(self.text)
        a = self.analysis
        recipients = None
        if self.plan is not None and self.urgency == "urgent":
            recipients = self.plan.plan.recipients
        self.query_one("#meter", SmsMeter).show(
            chars=a.chars,
            encoding=a.encoding,
            parts=a.parts,
            per_part=a.per_part,
            ucs2_chars=a.ucs2_chars,
            recipients=recipients,
        )

    def _render_plan(self) -> None:
        w = self.query_one("#recipients", Static)
        if not self.network_ids:
            w.update(Text("Recipients: choose a network (Ctrl+T)"))
        elif self.plan is None:
            w.update(Text("Recipients: counting..."))
        else:
            t = Text("Recipients: ")
            t.append_text(describe_plan(self.plan.plan, self.urgency))
            if self.urgency == "urgent":
                t.append("\n")
                t.append_text(self._copy_line(self.plan.email_copies))
            w.update(t)

    def _copy_line(self, copies: int) -> Text:
        """'+ e-mail copy to 3 without a mobile (Ctrl+O: off)', or how to turn it on."""
        key = key_label(self._copy_key())
        n = number(copies)
        if self.email_copy:
            line = ngettext(
                "+ e-mail copy to {n} member without a mobile ({key}: off)",
                "+ e-mail copy to {n} members without a mobile ({key}: off)",
                copies,
            )
            return Text(line.format(n=n, key=key), style="bold")
        line = ngettext(
            "{key}: e-mail copy to the {n} member without a mobile",
            "{key}: e-mail copy to the {n} members without a mobile",
            copies,
        )
        return Text(line.format(n=n, key=key), style="dim")

    def _copy_key(self) -> str:
        """The key of the e-mail copy toggle, as the [keys] table may have remapped it."""
        for binding in own_bindings(type(self).BINDINGS, self.app.settings.keys):
            if binding.id == "compose-email-copy":
                return binding.key
        raise LookupError("compose-email-copy")

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._update_meter()
        self._save_draft()  # every change, so no way of leaving the screen can lose the text

    # --- workers --------------------------------------------------------------------------------

    def _refresh_targets(self) -> None:
        """Names and recipient plan for the current targets and urgency (one worker, latest wins)."""
        self.plan = None
        self._render_plan()
        ids, urgency, db = tuple(self.network_ids), self.urgency, self.app.db
        if not ids:
            return

        def job() -> tuple[dict[int, str], _Plan]:
            names = _network_names(db, list(ids))
            copies = alerts.plan_email_copy(db, list(ids)) if urgency == "urgent" else 0
            return names, _Plan(ids, urgency, alerts.plan_alert(db, list(ids), urgency), copies)

        self.run_db(job, group="compose-plan", on_done=self._plan_ready, on_error=self._plan_failed)

    def _plan_ready(self, result: tuple[dict[int, str], _Plan]) -> None:
        names, plan = result
        if plan.network_ids != tuple(self.network_ids) or plan.urgency != self.urgency:
            return  # a stale answer for targets that changed meanwhile
        self.network_names.update(names)
        self.plan = plan
        self._render_targets()
        self._render_plan()
        self._update_meter()
        if self._review_wanted:
            self._review_wanted = False
            self.action_review()

    def _plan_failed(self, exc: BaseException) -> None:
        self._review_wanted = False
        self.query_one("#recipients", Static).update(
            Text(f"Recipients: could not count ({clean(exc)})", style="bold red")
        )

    # --- actions --------------------------------------------------------------------------------

    def action_toggle_urgency(self) -> None:
        self.urgency = "normal" if self.urgency == "urgent" else "urgent"

    def watch_urgency(self) -> None:
        self._save_draft()
        self._render_targets()
        self._refresh_targets()
        self._update_meter()

    def action_toggle_email_copy(self) -> None:
        if self.urgency != "urgent":
            self.app.notify(_("A non-urgent alert goes by e-mail already: no copy to add."), markup=False)
            return
        self.email_copy = not self.email_copy

    def watch_email_copy(self) -> None:
        self._save_draft()
        self._render_targets()
        self._render_plan()

    def action_gsm_safe(self) -> None:
        body = self.query_one("#body", TextArea)
        before = body.text
        after = encoding.gsm_safe(before)
        if after == before:
            self.app.notify("Nothing to rewrite: the text is already GSM-7 where possible.", markup=False)
            return
        changed = sorted({f"{b}->{a}" for b, a in zip(before, after, strict=False) if a != b})
        body.load_text(after)
        body.move_cursor(body.document.end)
        left = encoding.analyse(after).ucs2_chars
        msg = "GSM-safe: " + ", ".join(changed[:8]) + (" ..." if len(changed) > 8 else "")
        if left:
            msg += " | still UCS-2 because of " + " ".join(left[:4])
        self.app.notify(msg, markup=False, title="Rewritten")

    def action_targets(self) -> None:
        def done(result: tuple[list[int], dict[int, str]] | None) -> None:
            if result is None:
                return
            ids, names = result
            self.network_names.update(names)
            if ids != self.network_ids:
                self.network_ids = ids
                self._save_draft()
                self._render_targets()
                self._refresh_targets()

        self.app.push_buffered(TargetPickerModal(list(self.network_ids), dict(self.network_names)), done)

    def action_templates(self) -> None:
        def done(result: tuple[str, str, str] | None) -> None:
            if result is None:
                return
            key, text, urgency = result
            self.template_key = key
            self._save_draft()
            body = self.query_one("#body", TextArea)
            body.load_text(text)
            body.move_cursor(body.document.end)
            self.set_focus(body)
            if urgency in ("urgent", "normal") and urgency != self.urgency:
                self.action_toggle_urgency()

        first = self.network_ids[0] if self.network_ids else None  # its members' language goes first
        self.app.push_buffered(TemplatePickerModal(self.app.settings.language, first), done)

    def refusal(self) -> str | None:
        """Why the alert cannot be reviewed now, or None."""
        if not self.text.strip():
            return "Nothing to send: the text is empty."
        try:
            check_alert_text(self.text)
        except ValueError as exc:
            return f"Not sendable: {exc}."
        if not self.network_ids:
            return "No target network: press Ctrl+T to add one."
        if self.urgency == "urgent" and self.app.sms_block is not None:
            return self.app.sms_block.sentence()  # nothing is written for an SMS that cannot leave
        if self.plan is not None and self.plan.plan.recipients == 0 and not self._copies():
            what = "mobile number" if self.urgency == "urgent" else "e-mail address"
            return f"No recipients: no active member with a {what} who has not opted out."
        return None

    def action_review(self) -> None:
        if self._busy:
            return
        why = self.refusal()
        if why:
            self.app.notify(why, severity="error", markup=False, title="Not sent")
            return
        if self.plan is None:
            self._review_wanted = True  # opens as soon as the count arrives
            return
        self._busy = True
        self.app.push_buffered(ConfirmSendModal(self.summary()), self._confirmed)

    def _copies(self) -> int:
        """E-mail copies this alert will send (0 unless the copy is on for an urgent alert)."""
        return self.plan.email_copies if self.plan is not None and self.copying else 0

    def summary(self) -> SendSummary:
        assert self.plan is not None
        a = self.analysis
        return SendSummary(
            channel="sms" if self.urgency == "urgent" else "email",
            recipients=self.plan.plan.recipients,
            email_copies=self._copies(),
            smtp=self.app.settings.smtp,
            network_names=[ref.label() for ref in self.target()],
            parts_each=a.parts,
            encoding=a.encoding,
            ucs2_chars=list(a.ucs2_chars),
            expires_at=utcnow() + timedelta(minutes=self.app.settings.alert_expiry_minutes)
            if self.urgency == "urgent"
            else None,
            training=self.app.training,
            text=self.text,
            skipped=describe_plan(self.plan.plan, self.urgency).plain,
        )

    def _confirmed(self, ok: bool | None) -> None:
        if not ok:
            self._busy = False
            self.set_focus(self.query_one("#body", TextArea))
            return
        self.app.submit_alert(self.draft(), self)

    @on(AlertQueued)
    def _created(self, message: AlertQueued) -> None:
        self._busy = False
        self.last_alert_id = message.alert_id
        self.template_key = None
        # Sent: Escape back here must not offer the same alert again by accident.
        self.query_one("#body", TextArea).load_text("")

    @on(AlertNotCreated)
    def _create_failed(self, message: AlertNotCreated) -> None:
        self._busy = False
