"""Compose an alert: text with a live SMS meter, targets, urgency, template, GSM-safe rewrite,
recipients summary; F5 reviews in the confirm modal and sends only after a deliberate second key.

The meter (encoding.analyse) is pure and fast, so it runs on the event loop on every change; the
recipient plan and the alert creation touch the database and run in thread workers. The alert and
all its delivery rows are written by alerts.create_alert in one transaction *before* the sender is
woken, so nothing confirmed is ever lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bin_console.data.models import utcnow
from bin_console.widgets.sms_meter import SmsMeter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static, TextArea

from bin_console import alerts, encoding, labels
from bin_console.textsafe import clean, safe_text

from .base import BaseScreen
from .confirm import ConfirmSendModal, SendSummary

log = logging.getLogger(__name__)


def _network_names(db: Any, ids: list[int]) -> dict[int, str]:
    from bin_console.data import networks

    out: dict[int, str] = {}
    with db.read() as s:
        for nid in ids:
            net = networks.get_network(s, nid)
            if net is not None:
                out[nid] = net.name
    return out


@dataclass(frozen=True)
class ComposeDraft:
    """What the dispatcher composed and has not sent: kept on the App (``app.compose_draft``) so
    Escape, F2 or any other way out of the compose screen never throws the text away."""

    text: str
    network_ids: tuple[int, ...]
    urgency: str
    template_key: str | None


@dataclass
class _Plan:
    network_ids: tuple[int, ...]
    urgency: str
    plan: Any  # alerts.RecipientPlan


def describe_plan(plan: Any, urgency: str) -> Text:
    """'SMS 412 · skipped: 3 opted out, 5 no mobile, 2 left or pending, 1 duplicate'."""
    channel = labels.channel_of(urgency)
    t = Text()
    t.append(f"{'SMS' if channel == 'sms' else 'E-mail'} {plan.recipients}", style="bold")
    t.append(" · " + labels.skipped_of(channel, plan))
    return t


class ComposeScreen(BaseScreen):
    CSS_PATH = "compose.tcss"
    INITIAL_FOCUS = "#body"
    TITLE_TEXT = "Compose alert"
    HELP = [
        ("F5", "review the alert; the confirm window sends on F5 again or y"),
        ("Ctrl+U", "urgency: urgent (SMS) / non-urgent (e-mail)"),
        ("Ctrl+T", "add or remove target networks"),
        ("Ctrl+L", "pick a message template"),
        ("Ctrl+G", "rewrite to GSM-7 (shows what changed)"),
        ("Tab", "leave the text area"),
        ("Escape", "back (the text is kept)"),
    ]
    BINDINGS = [
        Binding("f5", "review", "Review", priority=True),
        Binding("ctrl+l", "templates", "Template", priority=True),
        Binding("ctrl+g", "gsm_safe", "GSM-safe", priority=True, show=False),
        Binding("ctrl+u", "toggle_urgency", "Urgency", priority=True, show=False),
        Binding("ctrl+t", "targets", "Targets", priority=True, show=False),
    ]

    def __init__(self, network_ids: list[int] | None = None) -> None:
        super().__init__()
        self._initial_ids = list(network_ids) if network_ids else None
        self.network_ids: list[int] = []
        self.network_names: dict[int, str] = {}
        self.urgency = "urgent"
        self.template_key: str | None = None
        self.plan: _Plan | None = None
        self.analysis = encoding.analyse("")
        self._review_wanted = False  # F5 pressed while the plan was still being computed
        self._busy = False  # confirm open or alert being created: a second F5 does nothing
        self.last_alert_id: int | None = None

    # --- layout ---------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        # BaseScreen.compose wraps this with the status line and the footer.
        with Vertical(id="compose"):
            yield Static("", id="targets")
            yield TextArea(id="body", soft_wrap=True, tab_behavior="focus", show_line_numbers=False)
            yield SmsMeter(id="meter")
            yield Static("", id="recipients")

    def on_mount(self) -> None:
        super().on_mount()
        body = self.query_one("#body", TextArea)
        body.cursor_blink = bool(getattr(self.app.settings, "cursor_blink", True))
        draft: ComposeDraft | None = getattr(self.app, "compose_draft", None)
        if self._initial_ids is None:
            if draft is not None and draft.network_ids:
                self._initial_ids = list(draft.network_ids)
            else:
                cur = getattr(self.app, "current_network_id", None)
                self._initial_ids = [cur] if cur is not None else []
        self.network_ids = list(dict.fromkeys(self._initial_ids))
        if draft is not None:
            self._restore(draft, body)
        self._render_targets()
        self._update_meter()
        self._refresh_targets()

    # --- draft ---------------------------------------------------------------------------------

    def _restore(self, draft: ComposeDraft, body: TextArea) -> None:
        """The text of the unsent alert comes back; the targets are the ones asked for now (F4 on
        another network means that network), and the dispatcher is told when they differ."""
        self.urgency = draft.urgency
        self.template_key = draft.template_key
        if draft.text:
            body.load_text(draft.text)
            body.move_cursor(body.document.end)
        if draft.network_ids and tuple(self.network_ids) != draft.network_ids:
            self.app.notify("Your unsent alert text was kept; check the target networks.", title="Draft", markup=False)

    def _save_draft(self) -> None:
        if not self.is_attached:
            return
        text = self.text
        if not text.strip() and self.template_key is None:
            self.app.compose_draft = None
            return
        self.app.compose_draft = ComposeDraft(text, tuple(self.network_ids), self.urgency, self.template_key)

    # --- state shown --------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.query_one("#body", TextArea).text

    def _render_targets(self) -> None:
        t = Text()
        if self.urgency == "urgent":
            t.append(" URGENT · SMS ", style="bold reverse")
        else:
            t.append(" non-urgent · e-mail ", style="reverse")
        t.append(" to ")
        if not self.network_ids:
            t.append("no network - Ctrl+T adds one", style="bold")
        for i, nid in enumerate(self.network_ids):
            if i:
                t.append(", ")
            t.append_text(safe_text(self.network_names.get(nid, f"network #{nid}"), style="bold"))
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
            w.update(t)

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
            return names, _Plan(ids, urgency, alerts.plan_alert(db, list(ids), urgency))

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
        self._save_draft()
        self._render_targets()
        self._refresh_targets()
        self._update_meter()

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
        from .target_picker import TargetPickerModal

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

        self._push(TargetPickerModal(list(self.network_ids), dict(self.network_names)), done)

    def action_templates(self) -> None:
        from .template_picker import TemplatePickerModal

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

        lang = getattr(self.app.settings, "language", "nl")
        first = self.network_ids[0] if self.network_ids else None  # its members' language goes first
        self._push(TemplatePickerModal(lang, first), done)

    def _push(self, screen: Any, callback: Any) -> None:
        push = getattr(self.app, "push_buffered", None)
        if push is not None:
            push(screen, callback)
        else:
            self.app.push_screen(screen, callback)

    def refusal(self) -> str | None:
        """Why the alert cannot be reviewed now, or None."""
        if not self.text.strip():
            return "Nothing to send: the text is empty."
        if not self.network_ids:
            return "No target network: press Ctrl+T to add one."
        if self.plan is not None and self.plan.plan.recipients == 0:
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
        summary = self.summary()
        self._push(ConfirmSendModal(summary), self._confirmed)

    def summary(self) -> SendSummary:
        assert self.plan is not None
        a = self.analysis
        minutes = int(getattr(self.app.settings, "alert_expiry_minutes", 60) or 60)
        return SendSummary(
            channel="sms" if self.urgency == "urgent" else "email",
            recipients=self.plan.plan.recipients,
            network_names=[self.network_names.get(n, f"network #{n}") for n in self.network_ids],
            parts_each=a.parts,
            encoding=a.encoding,
            ucs2_chars=list(a.ucs2_chars),
            expires_at=utcnow() + timedelta(minutes=minutes),
            training=bool(getattr(self.app, "training", False)),
            text=self.text,
            skipped=describe_plan(self.plan.plan, self.urgency).plain,
        )

    def _confirmed(self, ok: bool | None) -> None:
        if not ok:
            self._busy = False
            self.set_focus(self.query_one("#body", TextArea))
            return
        app, text, ids, urgency = self.app, self.text, list(self.network_ids), self.urgency
        minutes = int(getattr(app.settings, "alert_expiry_minutes", 60) or 60)
        key = self.template_key

        def create() -> int:
            return alerts.create_alert(
                app.db,
                network_ids=ids,
                text=text,
                urgency=urgency,
                actor=app.actor,
                template_key=key,
                expires_minutes=minutes,
                training=bool(getattr(app, "training", False)),
            )

        def finish(alert_id: int | None, exc: BaseException | None) -> None:
            # Runs on the event loop even if this screen was left meanwhile: the rows are written,
            # so the App must know something is in flight and the sender must be woken.
            app.pending_creates = max(0, app.pending_creates - 1)
            if exc is not None or alert_id is None:
                self._create_failed(exc or RuntimeError("no alert id"))
                return
            self._created(alert_id)

        def job() -> None:
            try:
                alert_id = create()
            except Exception as exc:  # noqa: BLE001 - shown to the dispatcher, never swallowed
                log.exception("create_alert failed")
                app.call_from_thread(finish, None, exc)
            else:
                app.call_from_thread(finish, alert_id, None)

        # Counted before the worker starts, so Ctrl+Q asks while the rows are being written
        # (app.sending only becomes true once they are committed).
        app.pending_creates = getattr(app, "pending_creates", 0) + 1

        # An App-owned worker: leaving the compose screen must not cancel what was confirmed.
        app.run_worker(job, thread=True, group="compose-send", exclusive=False, exit_on_error=False)

    def _created(self, alert_id: int) -> None:
        self._busy = False
        app = self.app
        app.sending = True
        wake = getattr(app, "wake_sender", None)
        if wake is not None:
            wake()
        self.last_alert_id = alert_id
        app.compose_draft = None  # sent: the next compose starts empty
        app.notify(f"Alert #{alert_id} queued.", markup=False)
        if self.is_attached:
            body = self.query_one("#body", TextArea)
            self.template_key = None
            body.load_text("")  # sent: Escape back here must not offer the same alert again by accident
            if app.screen is self:  # not over a window opened meanwhile (the quit question, say)
                app.open_monitor(alert_id)

    def _create_failed(self, exc: BaseException) -> None:
        self._busy = False
        self.app.notify(f"The alert was NOT created: {clean(exc)}", severity="error", markup=False, title="Not sent")
