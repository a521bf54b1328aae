"""Network: one network at a glance - streets, coordinator, members by status and channel, recent
alerts and replies. F3 opens its members, F4 composes an alert to it: its target is the network it
shows, named in its title. Ctrl+L changes the network's language (the one its members' alerts
default to): a small list, the choice written by directory.service.set_network_language (audited)
in an App-owned thread worker.

The summary is read in a thread worker and turned into rich Text there; every untrusted field goes
through safe_text() (names, streets, replies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from bin_console.i18n import N_, _, number
from bin_console.labels import kind_label
from bin_console.trust.textsafe import safe_text

from .base import BaseModal, BaseScreen
from .target import NetworkRef
from .template_picker import LANGUAGES as LANGUAGE_NAMES

MAX_STREETS = 40


@dataclass(frozen=True)
class NetworkView:
    name: str
    language: str  # "" = the console's default applies
    title: Text
    counts: Text
    streets: Text
    activity: Text


def _when(dt: Any) -> str:
    if dt is None:
        return ""
    try:
        return dt.astimezone().strftime("%d/%m %H:%M")
    except (ValueError, AttributeError):
        return str(dt)[:16]


def kind_in_name(kind: str, name: str) -> bool:
    """'BIN Bruggeveld-Dorp' already says BIN (and 'ZBIN Haven' / 'Z-BIN Haven' say Z-BIN)."""
    first = (name.split(maxsplit=1) or [""])[0].upper().replace("-", "")
    return first == kind.upper().replace("-", "")


def build_view(db: Any, network_id: int) -> NetworkView:
    """Blocking: read the summary and render it (runs in a thread worker)."""
    from bin_console.data.networks import network_summary

    with db.read() as session:
        s = network_summary(session, network_id)
        net = s.network
        kind = kind_label(net.kind)
        title = Text.assemble(
            (f"{kind} " if not kind_in_name(kind, net.name) else "", "bold"),
            safe_text(net.name, style="bold"),
            "  ",
            safe_text(net.municipality),
            "  " + _("zone {code}").format(code=s.zone_code),
            # "-": the console's default language applies
            "  " + _("lang {language}").format(language=net.language or "-"),
            ("  " + _("(inactive)") if net.status != "active" else ""),
            no_wrap=True,
            end="",
        )
        counts = Text(end="")
        coords = s.coordinators
        counts.append(_("Coordinator:") + " ", style="bold")
        if coords:
            for i, c in enumerate(coords[:3]):
                if i:
                    counts.append(", ")
                counts.append_text(safe_text(c.name))
        elif net.coordinator_name:
            counts.append_text(safe_text(net.coordinator_name))
        else:
            counts.append(_("none recorded"))
        counts.append("\n")
        counts.append(_("Members:") + " ", style="bold")
        counts.append(
            _("{active} active, {pending} pending, {left} left").format(
                active=number(s.by_status.get("active", 0)),
                pending=number(s.by_status.get("pending", 0)),
                left=number(s.by_status.get("left", 0)),
            )
            + "\n"
        )
        counts.append(_("Reach:").ljust(len(_("Members:"))) + " ", style="bold")  # aligned under Members
        counts.append(
            _("SMS {sms} · e-mail {email} · {opted_out} opted out (SMS) · {none} no mobile and no e-mail").format(
                sms=number(s.sms_reachable),
                email=number(s.email_reachable),
                opted_out=number(s.sms_opted_out),
                none=number(s.no_contact),
            )
        )
        streets = Text(end="")
        streets.append(_("Streets ({n})").format(n=number(len(s.streets))) + "\n", style="bold")
        for st in s.streets[:MAX_STREETS]:
            streets.append_text(safe_text(st.street))
            streets.append(" ")
            streets.append_text(safe_text(st.postcode))
            streets.append("\n")
        if len(s.streets) > MAX_STREETS:
            streets.append(_("... and {n} more").format(n=number(len(s.streets) - MAX_STREETS)) + "\n")
        activity = Text(end="")
        activity.append(_("Recent alerts") + "\n", style="bold")
        if not s.recent_alerts:
            activity.append(_("none yet") + "\n")
        for a in s.recent_alerts:
            if a.urgency == "urgent":
                line = _("{when} SMS to {n}").format(when=_when(a.created_at), n=number(a.recipients))
            else:
                line = _("{when} e-mail to {n}").format(when=_when(a.created_at), n=number(a.recipients))
            activity.append(line + "  ")
            activity.append_text(safe_text(a.text[:40]))
            activity.append("\n")
        activity.append(_("Recent replies") + "\n", style="bold")
        if not s.recent_replies:
            activity.append(_("none") + "\n")
        for r in s.recent_replies:
            activity.append(f"{_when(r.received_at)} ")
            if r.is_opt_out:
                activity.append("[STOP] ", style="bold")
            activity.append_text(safe_text(r.text[:50]))
            activity.append("\n")
    return NetworkView(
        name=net.name, language=net.language or "", title=title, counts=counts, streets=streets, activity=activity
    )


class NetworkScreen(BaseScreen):
    TITLE_TEXT = N_("Network")
    INITIAL_FOCUS = "#network-body"
    FOOTER_GLOBAL = ("help", "networks", "members", "compose")
    KEY_NOTES = [("Up/Down/PgUp/PgDn", N_("scroll"))]
    BINDINGS = [
        Binding(
            "ctrl+l",
            "language",
            N_("Language"),
            id="network-language",
            tooltip=N_("change the network's language (its members' alerts default to it)"),
        ),
    ]
    DEFAULT_CSS = """
    NetworkScreen #network-title { height: 1; padding: 0 1; background: $boost; }
    NetworkScreen #network-counts { height: 3; padding: 0 1; }
    NetworkScreen #network-body { height: 1fr; }
    NetworkScreen #network-cols { height: auto; }
    NetworkScreen #network-cols Static { height: auto; }
    NetworkScreen #network-streets { width: 30; padding: 0 1; }
    NetworkScreen #network-activity { width: 1fr; padding: 0 1; }
    """

    def __init__(self, network: NetworkRef) -> None:
        super().__init__()
        self.network = network
        self.view: NetworkView | None = None

    @property
    def network_id(self) -> int:
        return self.network.id

    def target(self) -> tuple[NetworkRef, ...]:
        return (self.network,)

    def compose_body(self):
        yield Static(safe_text(self.network.label(), style="bold"), id="network-title")
        yield Static("", id="network-counts")
        with VerticalScroll(id="network-body"):
            with Horizontal(id="network-cols"):
                yield Static("", id="network-streets")
                yield Static("", id="network-activity")

    def on_mount(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        self.run_db(build_view, self.app.db, self.network_id, group="network-view", on_done=self._show)

    def _show(self, view: NetworkView) -> None:
        self.view = view
        self.network = NetworkRef(self.network.id, view.name)
        self.query_one("#network-title", Static).update(view.title)
        self.query_one("#network-counts", Static).update(view.counts)
        self.query_one("#network-streets", Static).update(view.streets)
        self.query_one("#network-activity", Static).update(view.activity)

    def action_language(self) -> None:
        if self.view is None:
            return  # not read yet: nothing to show the current language against
        self.app.push_buffered(NetworkLanguageModal(self.view.name, self.view.language), self._language_chosen)

    def _language_chosen(self, language: str | None) -> None:
        if language is None or self.view is None or language == self.view.language:
            return
        from bin_console.directory.service import set_network_language

        app, nid, name = self.app, self.network_id, self.view.name
        # App-owned: leaving the screen must not drop the change the dispatcher chose.
        app.run_write(
            set_network_language,
            app.db,
            nid,
            language,
            app.actor,
            on_done=lambda _changed: self._language_set(name, language),
            what=_("Language"),
        )

    def _language_set(self, name: str, language: str) -> None:
        shown = language or _("the console's default")
        message = _("Language of {network} set to {language}.").format(network=name, language=shown)
        self.app.notify(message, markup=False)
        if self.is_attached:
            self.refresh_view()


class NetworkLanguageModal(BaseModal):
    """Which language a network's alerts default to: nl, fr, de, en or the console's default.
    Returns the code ("" for the default), or None (Escape: nothing changes)."""

    INITIAL_FOCUS = "#languages"
    TITLE_TEXT = N_("Network language")
    KEY_NOTES = [
        ("Up/Down", N_("choose a language")),
        ("Enter", N_("set it")),
        ("Escape", N_("close without changing it")),
    ]
    CHOICES = ("nl", "fr", "de", "en", "")
    DEFAULT_CSS = """
    NetworkLanguageModal { align: center middle; }
    NetworkLanguageModal > #box { width: 60; height: auto; border: double $accent; padding: 0 1;
                                  background: $surface; }
    NetworkLanguageModal #languages { height: auto; }
    """

    def __init__(self, network_name: str, current: str) -> None:
        super().__init__()
        self.network_name = network_name
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            # the name is untrusted: formatted into the trusted template, shown literally
            title = _("Language of {network}").format(network=self.network_name)
            yield Static(safe_text(title, style="bold"), id="language-title")
            options = []
            for code in self.CHOICES:
                label = (
                    _(LANGUAGE_NAMES[code])
                    if code
                    else _("the console's default ({language})").format(language=self.app.settings.language)
                )
                if code == self.current:
                    label += "  " + _("(now)")
                options.append(Option(Text(label), id=code or "-"))
            yield OptionList(*options, id="languages")
            yield Static(Text(_("Enter = set · Escape = close")), id="language-hint")

    def on_mount(self) -> None:
        super().on_mount()
        languages = self.query_one("#languages", OptionList)
        languages.highlighted = self.CHOICES.index(self.current) if self.current in self.CHOICES else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or "-"
        self.dismiss("" if option_id == "-" else option_id)
