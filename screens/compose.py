"""Compose an alert: text with a live SMS meter, targets, urgency, template, GSM-safe rewrite,
recipients summary; F5 reviews in the confirm modal and sends only after a deliberate second key.

The networks it sends to are given by whoever opens it (App.open_compose(targets): the networks on
the screen F4 was pressed on), shown in its top line and re-stated by the confirm window; only
Ctrl+T changes them. The App keeps the unsent text (App.keep_draft) and writes the alert
(App.submit_alert), answering with AlertQueued / AlertNotCreated (screens/messages.py).

The text can be held in several language versions (nl/fr/de/en; F9 moves to the next, the
network's language first), or as one combined nl+fr text (Ctrl+N) for a bilingual network; each
member then gets their language, else their network's, else the console's (alerts.create_alert
decides, as for `bin-console send --text-nl ... --text-fr ...`). Opened by App.open_follow_up(N),
it composes a follow-up of alert N: to that alert's members, by its channel or by e-mail.

The meter (encoding.analyse) is pure and fast, so it runs on the event loop on every change; the
recipient plan (alerts.plan_versions: who gets which version; it depends on which versions have a
text, not on the words, so it is asked again only when that set changes) and the alert creation
touch the database and run in thread workers. The alert and
all its delivery rows are written by alerts.create_alert in one transaction *before* the sender is
woken, so nothing confirmed is ever lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bin_console.data.models import LANGUAGES, utcnow
from bin_console.widgets.sms_meter import SmsMeter, VersionMeter
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
from bin_console.i18n import N_, _, ngettext, number
from bin_console.trust.textsafe import check_alert_text, clean

from .alert_draft import AlertDraft
from .base import BaseScreen
from .confirm import ConfirmSendModal, SendSummary, VersionLine
from .keys import key_label, own_bindings
from .messages import AlertNotCreated, AlertQueued
from .target import NetworkRef, target_text
from .target_picker import TargetPickerModal
from .template_picker import TemplatePickerModal

COMBINED = "nl+fr"  # how the combined version is named on the meter and in the confirm window
# plan_versions counts who gets which version: that depends on which versions have a text, never on
# the words, so the plan is asked with this stand-in text (the meter analyses the real ones).
_COUNTED = "x"


def _network_language(db: Any, nid: int) -> str:
    from bin_console.data.networks import network_language

    with db.read() as s:
        return network_language(s, nid)


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
    key: tuple = ()  # ComposeScreen._plan_key() it answers
    # version ("" = one text for all or the combined one) -> (members, of them by SMS)
    versions: dict[str, tuple[int, int]] = field(default_factory=dict)
    sent_copies: int = 0  # e-mail copies the alert as counted sends (a follow-up: the original's)
    language: str = ""  # the (first) network's language; "" = not known


def describe_plan(plan: Any, urgency: str) -> Text:
    """'SMS 412 · skipped: 3 opted out, 5 no mobile, 2 left or pending, 1 duplicate'."""
    channel = labels.channel_of(urgency)
    t = Text()
    head = _("SMS {n}") if channel == "sms" else _("E-mail {n}")
    t.append(head.format(n=number(plan.recipients)), style="bold")
    t.append(" · " + labels.skipped_of(channel, plan))
    return t


class ComposeScreen(BaseScreen):
    CSS_PATH = "compose.tcss"
    INITIAL_FOCUS = "#body"
    TITLE_TEXT = N_("Compose alert")
    KEY_NOTES = [("Tab", N_("leave the text area")), ("Escape", N_("back (the text is kept)"))]
    BINDINGS = [
        Binding(
            "f5",
            "review",
            N_("Review"),
            priority=True,
            id="compose-review",
            tooltip=N_("review the alert; the confirm window sends on F5 again or y"),
        ),
        Binding(
            "ctrl+l",
            "templates",
            N_("Template"),
            priority=True,
            id="compose-template",
            tooltip=N_("pick a message template"),
        ),
        Binding(
            "ctrl+g",
            "gsm_safe",
            N_("GSM-safe"),
            priority=True,
            show=False,
            id="compose-gsm-safe",
            tooltip=N_("rewrite to GSM-7 (shows what changed)"),
        ),
        Binding(
            "ctrl+u",
            "toggle_urgency",
            N_("Urgency"),
            priority=True,
            show=False,
            id="compose-urgency",
            tooltip=N_("urgency: urgent (SMS) / non-urgent (e-mail)"),
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
            N_("Targets"),
            priority=True,
            show=False,
            id="compose-targets",
            tooltip=N_("add or remove target networks"),
        ),
        Binding(
            "f9",
            "next_language",
            N_("Language"),
            priority=True,
            show=False,
            id="compose-language",
            tooltip=N_("edit the next language version of the text (nl, fr, de, en)"),
        ),
        Binding(
            "ctrl+n",
            "toggle_combined",
            N_("nl+fr"),
            priority=True,
            show=False,
            id="compose-combined",
            tooltip=N_("one combined Dutch + French text for a bilingual network (on / off)"),
        ),
    ]

    # urgent (SMS) | normal (e-mail); the watcher re-renders and re-counts the recipients.
    urgency: reactive[str] = reactive("urgent", init=False)
    # Urgent alerts only: an e-mail copy to the members without a mobile (a per-alert choice).
    email_copy: reactive[bool] = reactive(False, init=False)
    # One combined nl + fr text for everyone (a bilingual network) instead of a version per language.
    combined: reactive[bool] = reactive(False, init=False)

    def __init__(
        self,
        targets: tuple[NetworkRef, ...],
        *,
        draft: AlertDraft | None = None,
        follow_up_of: int | None = None,
    ) -> None:
        super().__init__()
        self.network_ids: list[int] = list(dict.fromkeys(ref.id for ref in targets))
        self.network_names: dict[int, str] = {ref.id: ref.name for ref in targets if ref.name}
        self._draft = draft
        # A follow-up of that alert: its networks and channel are read from it (on mount, in a worker).
        self.follow_up_of = follow_up_of
        self.original_urgency: str | None = None  # known once the original is read
        self.versions: dict[str, str] = dict.fromkeys(LANGUAGES, "")  # every version, kept while editing another
        self.editing = ""  # the version in the text area (set on mount)
        self.network_language = ""  # the first network's: its version comes first
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
            yield Static("", id="languages")
            yield TextArea(id="body", soft_wrap=True, tab_behavior="focus", show_line_numbers=False)
            yield SmsMeter(id="meter")
            yield Static("", id="recipients")

    def on_mount(self) -> None:
        body = self.query_one("#body", TextArea)
        language = self.app.settings.language
        self.editing = language if language in LANGUAGES else LANGUAGES[0]
        if self._draft is not None:
            self._restore(self._draft, body)
        self._render_targets()
        self._render_languages()
        self._update_meter()
        if self.follow_up_of is not None:
            self._read_original(self.follow_up_of)
        else:
            self._refresh_targets()

    def _read_original(self, alert_id: int) -> None:
        """A follow-up: the original's networks (it is filed under them) and channel, off the loop."""
        db = self.app.db

        def job() -> tuple[list[int], dict[int, str], str]:
            ids = alerts.follow_up_networks(db, alert_id)
            return ids, _network_names(db, ids), alerts.follow_up_urgency(db, alert_id, by_email=False)

        self.run_db(job, group="compose-original", on_done=self._original_read, on_error=self._plan_failed)

    def _original_read(self, result: tuple[list[int], dict[int, str], str]) -> None:
        ids, names, urgency = result
        self.network_ids = ids
        self.network_names.update(names)
        self.original_urgency = urgency
        if self._draft is None or urgency != "urgent":
            # by the original's channel (a draft may have chosen e-mail for an SMS original)
            self.set_reactive(ComposeScreen.urgency, urgency)
        self._render_targets()
        self._refresh_targets()

    # --- draft ---------------------------------------------------------------------------------

    def _restore(self, draft: AlertDraft, body: TextArea) -> None:
        """The text of the unsent alert comes back; the targets are the ones asked for now (F4 on
        another network means that network), and the dispatcher is told when they differ."""
        self.set_reactive(ComposeScreen.urgency, draft.urgency)  # on_mount renders and counts next
        self.set_reactive(ComposeScreen.email_copy, draft.email_copy)
        self.set_reactive(ComposeScreen.combined, draft.combined)
        self.template_key = draft.template_key
        if draft.editing in LANGUAGES:
            self.editing = draft.editing
        if draft.texts:
            self.versions.update({lang: t for lang, t in draft.texts.items() if lang in LANGUAGES})
        elif draft.text:
            self.versions[self.editing] = draft.text
        if self.versions[self.editing]:
            body.load_text(self.versions[self.editing])
            body.move_cursor(body.document.end)
        if self.follow_up_of is None and draft.network_ids and self.network_ids != draft.network_ids:
            self.app.notify(
                _("Your unsent alert text was kept; check the target networks."), title=_("Draft"), markup=False
            )

    def draft(self) -> AlertDraft:
        texts = self.filled()
        main = next(iter(texts.values()), self.text)
        return AlertDraft(
            main,
            self.target(),
            self.urgency,
            self.template_key,
            self.copying,
            texts=texts,
            combined=self.combined,
            follow_up_of=self.follow_up_of,
            editing=self.editing,
        )

    def _save_draft(self) -> None:
        if not self.is_attached:
            return
        if not self.filled() and self.template_key is None:
            self.app.keep_draft(None, follow_up_of=self.follow_up_of)
            return
        self.app.keep_draft(self.draft())

    # --- state shown --------------------------------------------------------------------------

    @property
    def copying(self) -> bool:
        """The e-mail copy is on and applies (it exists for urgent alerts only)."""
        return self.email_copy and self.urgency == "urgent"

    @property
    def text(self) -> str:
        """The version being edited."""
        return self.query_one("#body", TextArea).text

    def filled(self) -> dict[str, str]:
        """The versions with a text, in the order nl, fr, de, en (the edited one as typed now)."""
        self.versions[self.editing] = self.text
        return {lang: self.versions[lang] for lang in LANGUAGES if self.versions[lang].strip()}

    def combined_text(self) -> str | None:
        """The one nl + fr text of a combined alert, as create_alert joins it; None unless combined."""
        filled = self.filled()
        if not self.combined or set(filled) != {"nl", "fr"}:
            return None
        return filled["nl"] + alerts.COMBINED_SEPARATOR + filled["fr"]

    def order(self) -> list[str]:
        """The versions as the language bar shows them: the network's language first."""
        first = [self.network_language] if self.network_language in LANGUAGES else []
        return first + [lang for lang in LANGUAGES if lang not in first]

    def _render_targets(self) -> None:
        t = Text()
        if self.follow_up_of is not None:
            t.append(_("Follow-up of alert {n}").format(n=self.follow_up_of), style="bold")
            t.append(" ")
        if self.urgency == "urgent":
            t.append(" " + _("URGENT · SMS") + " ", style="bold reverse")
            if self.email_copy:
                t.append(" + " + _("e-mail copy") + " ", style="bold reverse")
        else:
            t.append(" " + _("non-urgent · e-mail") + " ", style="reverse")
        # Translators: between the channel badge and the target networks: "URGENT · SMS  to BIN Kerkwijk"
        t.append(" " + _("to") + " ")
        if not self.network_ids and self.follow_up_of is not None:
            t.append(_("the original's members"), style="bold")
        elif not self.network_ids:
            t.append(_("no network - {key} adds one").format(key=key_label(self._key("compose-targets"))), style="bold")
        t.append_text(target_text(self.target()))
        self.query_one("#targets", Static).update(t)

    def _render_languages(self) -> None:
        """' NL* | FR* | DE | EN  F9: next language · Ctrl+N: one nl+fr text (off)': which versions
        have a text (*), the edited one in reverse."""
        t = Text()
        for i, lang in enumerate(self.order()):
            if i:
                t.append("|", style="dim")
            has = bool(self.versions[lang].strip()) or (lang == self.editing and bool(self.text.strip()))
            label = f" {lang.upper()}{'*' if has else ' '}"
            if lang == self.editing:
                t.append(label, style="bold reverse")
            else:
                t.append(label, style="bold" if has else "dim")
        t.append("  ")
        t.append(_("{key}: next language").format(key=key_label(self._key("compose-language"))))
        t.append(" · ")
        if self.combined:
            t.append(_("{key}: one nl+fr text (on)").format(key=key_label(self._key("compose-combined"))), style="bold")
        else:
            t.append(_("{key}: one nl+fr text (off)").format(key=key_label(self._key("compose-combined"))))
        self.query_one("#languages", Static).update(t)

    def _version_meters(self) -> list[VersionMeter]:
        """Each version the alert would send, with its members (None while counting)."""
        # counts only from a plan of these very versions (else "?" until the recount arrives)
        counted = self.plan.versions if self.plan is not None and self._plan_current() else {}
        combined = self.combined_text()
        if combined is not None:
            enc, parts = alerts.analyse_text(combined)
            members, sms = counted.get("", (None, None))
            return [VersionMeter(COMBINED, enc, parts, members, sms)]
        filled = self.filled()
        if len(filled) < 2:
            return []
        out = []
        for lang in self.order():
            if lang in filled:
                enc, parts = alerts.analyse_text(filled[lang])
                members, sms = counted.get(lang, (None, None))
                out.append(VersionMeter(lang, enc, parts, members, sms))
        return out

    def _update_meter(self) -> None:
        self.analysis = encoding.analyse(self.text)
        a = self.analysis
        recipients = None
        if self.plan is not None and self.urgency == "urgent":
            recipients = self.plan.plan.recipients
        versions = self._version_meters()
        self.query_one("#meter", SmsMeter).show(
            chars=a.chars,
            encoding=a.encoding,
            parts=a.parts,
            per_part=a.per_part,
            ucs2_chars=a.ucs2_chars,
            recipients=recipients,
            language=self.editing if versions else "",  # one text: the language bar says which
            versions=versions,
            sms=self.urgency == "urgent",
        )

    def _render_plan(self) -> None:
        w = self.query_one("#recipients", Static)
        if not self.network_ids and self.follow_up_of is not None and self.original_urgency is None:
            w.update(Text(_("Recipients: reading alert {n}...").format(n=self.follow_up_of)))
        elif not self.network_ids:
            key = key_label(self._key("compose-targets"))
            w.update(Text(_("Recipients: choose a network ({key})").format(key=key)))
        elif self.plan is None:
            w.update(Text(_("Recipients: counting...")))
        else:
            t = Text(_("Recipients:") + " ")
            t.append_text(describe_plan(self.plan.plan, self.urgency))
            if self.urgency == "urgent":
                t.append("\n")
                t.append_text(self._copy_line(self.plan.email_copies))
            w.update(t)

    def _copy_line(self, copies: int) -> Text:
        """'+ e-mail copy to 3 without a mobile (Ctrl+O: off)', or how to turn it on."""
        if self.follow_up_of is not None:
            # a follow-up reaches the original's e-mail copies again, by e-mail
            sent = self.plan.sent_copies if self.plan is not None else 0
            line = ngettext(
                "+ {n} member by e-mail, as the original reached them",
                "+ {n} members by e-mail, as the original reached them",
                sent,
            )
            return Text(line.format(n=number(sent)), style="bold" if sent else "dim")
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
        return self._key("compose-email-copy")

    def _key(self, binding_id: str) -> str:
        """The key of one of this screen's bindings, as the [keys] table may have remapped it."""
        for binding in own_bindings(type(self).BINDINGS, self.app.settings.keys):
            if binding.id == binding_id:
                return binding.key
        raise LookupError(binding_id)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.versions[self.editing] = self.text
        self._render_languages()
        self._update_meter()
        self._save_draft()  # every change, so no way of leaving the screen can lose the text
        if self._plan_key() != self._asked:
            self._refresh_targets(keep=True)  # a version got its first text or lost its last: recount

    # --- workers --------------------------------------------------------------------------------

    def _counted_versions(self) -> tuple[str, ...]:
        """Which versions the plan must count: () one text for all, ("+",) the combined nl+fr text,
        else the languages that have a text."""
        filled = tuple(self.filled())
        if self.combined and set(filled) == {"nl", "fr"}:
            return ("+",)
        return filled if len(filled) > 1 else ()

    def _plan_key(self) -> tuple:
        return (tuple(self.network_ids), self.urgency, self._counted_versions(), self.copying)

    def _plan_current(self) -> bool:
        return self.plan is not None and self.plan.key == self._plan_key()

    _asked: tuple = ()  # the key of the last plan asked for

    def _refresh_targets(self, *, keep: bool = False) -> None:
        """Names and recipient plan for the current targets, urgency and versions (one worker,
        latest wins). ``keep``: only the versions changed, the old counts stay shown meanwhile."""
        if not keep:
            self.plan = None
            self._render_plan()
        key = self._plan_key()
        self._asked = key
        ids, urgency, counted, copying = key
        db, default, follow_up = self.app.db, self.app.settings.language, self.follow_up_of
        if not ids:
            return
        if counted == ("+",):
            texts, combined = {"nl": _COUNTED, "fr": _COUNTED}, True
        else:
            texts, combined = ({lang: _COUNTED for lang in counted} or {"": _COUNTED}), False

        def job() -> tuple[dict[int, str], _Plan]:
            names = _network_names(db, list(ids))
            vp = alerts.plan_versions(
                db,
                list(ids),
                texts,
                urgency=urgency,
                default_language=default,
                combined=combined,
                email_copy=copying,
                follow_up_of=follow_up,
                by_email=follow_up is not None and urgency == "normal",
            )
            copies = alerts.plan_email_copy(db, list(ids)) if urgency == "urgent" and follow_up is None else 0
            # members by SMS of each version: its SMS parts over its parts per SMS
            versions = {v.language: (v.members, v.sms_parts // v.parts_per_sms) for v in vp.versions}
            language = _network_language(db, ids[0])
            return names, _Plan(ids, urgency, vp.plan, copies, key, versions, vp.email_copies, language)

        self.run_db(job, group="compose-plan", on_done=self._plan_ready, on_error=self._plan_failed)

    def _plan_ready(self, result: tuple[dict[int, str], _Plan]) -> None:
        names, plan = result
        if plan.network_ids != tuple(self.network_ids) or plan.urgency != self.urgency:
            return  # a stale answer for targets that changed meanwhile
        self.network_names.update(names)
        self.plan = plan
        if plan.language != self.network_language:
            self.network_language = plan.language
            if plan.language in LANGUAGES and not self.filled() and self._draft is None:
                self.editing = plan.language  # nothing typed yet: start in the network's language
        self._render_targets()
        self._render_languages()
        self._render_plan()
        self._update_meter()
        if not self._plan_current() and self._asked != self._plan_key():
            self._refresh_targets(keep=True)  # the versions changed while this was counted
        if self._review_wanted and self._plan_current():
            self._review_wanted = False
            self.action_review()

    def _plan_failed(self, exc: BaseException) -> None:
        self._review_wanted = False
        self.query_one("#recipients", Static).update(
            Text(_("Recipients: could not count ({error})").format(error=clean(exc)), style="bold red")
        )

    # --- actions --------------------------------------------------------------------------------

    def action_toggle_urgency(self) -> None:
        if self.follow_up_of is not None and self.original_urgency != "urgent":
            self.app.notify(_("The original alert went by e-mail: its follow-up goes by e-mail too."), markup=False)
            return
        self.urgency = "normal" if self.urgency == "urgent" else "urgent"

    def watch_urgency(self) -> None:
        self._save_draft()
        self._render_targets()
        self._refresh_targets()
        self._update_meter()

    def action_toggle_email_copy(self) -> None:
        if self.follow_up_of is not None:
            self.app.notify(
                _("A follow-up reaches the original's members as it reached them: no copy to add."), markup=False
            )
            return
        if self.urgency != "urgent":
            self.app.notify(_("A non-urgent alert goes by e-mail already: no copy to add."), markup=False)
            return
        self.email_copy = not self.email_copy

    def watch_email_copy(self) -> None:
        self._save_draft()
        self._render_targets()
        self._render_plan()
        if self.plan is not None:
            self._refresh_targets(keep=True)  # the copies are members of the versions too

    def _switch_to(self, lang: str) -> None:
        body = self.query_one("#body", TextArea)
        self.versions[self.editing] = body.text
        self.editing = lang
        body.load_text(self.versions[lang])
        body.move_cursor(body.document.end)
        self._render_languages()
        self._update_meter()
        self._save_draft()

    def action_next_language(self) -> None:
        """The next language version into the text area; every version keeps its text."""
        order = self.order()
        self._switch_to(order[(order.index(self.editing) + 1) % len(order)])

    def action_toggle_combined(self) -> None:
        self.combined = not self.combined

    def watch_combined(self) -> None:
        if self.combined and self.editing not in ("nl", "fr"):
            self._switch_to("nl")
        self._save_draft()
        self._render_languages()
        self._update_meter()
        if self.plan is not None:
            self._refresh_targets(keep=True)

    def action_gsm_safe(self) -> None:
        body = self.query_one("#body", TextArea)
        before = body.text
        after = encoding.gsm_safe(before)
        if after == before:
            self.app.notify(_("Nothing to rewrite: the text is already GSM-7 where possible."), markup=False)
            return
        changed = sorted({f"{b}->{a}" for b, a in zip(before, after, strict=False) if a != b})
        body.load_text(after)
        body.move_cursor(body.document.end)
        left = encoding.analyse(after).ucs2_chars
        msg = _("GSM-safe: {changes}").format(changes=", ".join(changed[:8]) + (" ..." if len(changed) > 8 else ""))
        if left:
            msg += " | " + _("still UCS-2 because of {chars}").format(chars=" ".join(left[:4]))
        self.app.notify(msg, markup=False, title=_("Rewritten"))

    def action_targets(self) -> None:
        if self.follow_up_of is not None:
            self.app.notify(
                _("A follow-up goes to the members of alert {n}: its networks stay.").format(n=self.follow_up_of),
                markup=False,
            )
            return

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
        def done(result: tuple[str, str, str, dict[str, str]] | None) -> None:
            if result is None:
                return
            key, text, urgency, rendered = result
            self.template_key = key
            # every version from the template's translations (a combined text: its nl and fr ones);
            # a version the template lacks is emptied, so no older text goes out beside it
            wanted = ("nl", "fr") if self.combined else LANGUAGES
            self.versions = {lang: rendered.get(lang, "") if lang in wanted else "" for lang in LANGUAGES}
            shown = next((lang for lang, t in rendered.items() if t == text and lang in wanted), None)
            if shown is None:
                shown = self.editing if self.versions.get(self.editing) else next(iter(self.filled()), self.editing)
            self.editing = shown
            self.versions[shown] = self.versions[shown] or text
            body = self.query_one("#body", TextArea)
            body.load_text(self.versions[shown])
            body.move_cursor(body.document.end)
            self.set_focus(body)
            self._render_languages()
            self._save_draft()
            if self.follow_up_of is None and urgency in ("urgent", "normal") and urgency != self.urgency:
                self.action_toggle_urgency()  # a follow-up keeps the original's channel

        first = self.network_ids[0] if self.network_ids else None  # its members' language goes first
        first_key = "all_clear" if self.follow_up_of is not None else None
        self.app.push_buffered(TemplatePickerModal(self.app.settings.language, first, first_key=first_key), done)

    def refusal(self) -> str | None:
        """Why the alert cannot be reviewed now, or None."""
        filled = self.filled()
        if not filled:
            return _("Nothing to send: the text is empty.")
        for lang, text in filled.items():
            try:
                check_alert_text(text)
            except ValueError as exc:
                if len(filled) == 1:
                    return _("Not sendable: {error}.").format(error=exc)
                return _("Not sendable ({language}): {error}.").format(language=lang, error=clean(exc))
        if self.combined and set(filled) != {"nl", "fr"}:
            key = key_label(self._key("compose-combined"))
            return _("A combined text joins a Dutch and a French text only ({key} turns it off).").format(key=key)
        if self.follow_up_of is not None and self.original_urgency is None:
            return _("Still reading alert {n}: try again in a moment.").format(n=self.follow_up_of)
        if not self.network_ids:
            return _("No target network: press {key} to add one.").format(key=key_label(self._key("compose-targets")))
        if self.urgency == "urgent" and self.app.sms_block is not None:
            return self.app.sms_block.sentence()  # nothing is written for an SMS that cannot leave
        if self.plan is not None and self.plan.plan.recipients == 0 and not self._copies():
            if self.urgency == "urgent":
                return _("No recipients: no active member with a mobile number who has not opted out.")
            return _("No recipients: no active member with an e-mail address who has not opted out.")
        return None

    def action_review(self) -> None:
        if self._busy:
            return
        why = self.refusal()
        if why:
            self.app.notify(why, severity="error", markup=False, title=_("Not sent"))
            return
        if not self._plan_current():
            self._review_wanted = True  # opens as soon as the count arrives
            if self.plan is not None and self._asked != self._plan_key():
                self._refresh_targets(keep=True)
            return
        self._busy = True
        self.app.push_buffered(ConfirmSendModal(self.summary()), self._confirmed)

    def _copies(self) -> int:
        """E-mail copies this alert will send (0 unless the copy is on for an urgent alert; a
        follow-up: the original's copies, followed up by e-mail)."""
        if self.plan is None:
            return 0
        if self.follow_up_of is not None:
            return self.plan.sent_copies
        return self.plan.email_copies if self.copying else 0

    def _version_lines(self) -> list[VersionLine]:
        """Each version and how many members get it (the confirm window's per-version counts)."""
        return [
            VersionLine(v.language, v.members or 0, v.parts, v.encoding, v.sms or 0) for v in self._version_meters()
        ]

    def summary(self) -> SendSummary:
        assert self.plan is not None
        a = self.analysis
        versions = self._version_lines()
        text = self.text
        if versions:
            text = "\n".join(
                f"{v.language.upper()}: {self._sent_text(v.language)}".replace("\n", " ") for v in versions
            )
        elif self.filled():
            text = next(iter(self.filled().values()))
            a = encoding.analyse(text)
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
            text=text,
            skipped=describe_plan(self.plan.plan, self.urgency).plain,
            versions=versions,
            follow_up_of=self.follow_up_of,
        )

    def _sent_text(self, version: str) -> str:
        if version == COMBINED:
            return self.combined_text() or ""
        return self.filled().get(version, "")

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
        self.versions = dict.fromkeys(LANGUAGES, "")
        self.query_one("#body", TextArea).load_text("")

    @on(AlertNotCreated)
    def _create_failed(self, message: AlertNotCreated) -> None:
        self._busy = False
