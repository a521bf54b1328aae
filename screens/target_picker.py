"""Target networks for an alert: search as you type, Enter adds or removes the highlighted one.

Returns (network ids, names) on Escape/F5 (the list as it stands) - adding and removing are undone
by pressing Enter again, so nothing here is destructive.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from bin_console.i18n import N_, _, ngettext, number
from bin_console.labels import kind_label
from bin_console.trust.textsafe import safe_text

from .base import BaseModal


def _search(db: Any, query: str) -> list[Any]:
    from bin_console.data import networks

    with db.read() as s:
        return networks.search_networks(s, query, limit=20)


class TargetPickerModal(BaseModal):
    INITIAL_FOCUS = "#q"
    TITLE_TEXT = N_("Target networks")
    KEY_NOTES = [
        (N_("type"), N_("search networks by name, street, postcode")),
        ("Enter", N_("add / remove the highlighted network")),
        ("Escape", N_("done: back to the alert with these targets")),
    ]
    BINDINGS = [
        Binding(
            "down", "move(1)", N_("Down"), show=False, priority=True, system=True, id="targets-down", tooltip=N_("next")
        ),
        Binding(
            "up", "move(-1)", N_("Up"), show=False, priority=True, system=True, id="targets-up", tooltip=N_("previous")
        ),
        Binding(
            "f5",
            "done",
            N_("Done"),
            priority=True,
            id="targets-done",
            tooltip=N_("done: back to the alert with these targets"),
        ),
    ]
    DEFAULT_CSS = """
    TargetPickerModal { align: center middle; }
    TargetPickerModal > #box { width: 76; height: 20; border: double $accent; padding: 0 1; background: $surface; }
    TargetPickerModal #chosen { height: auto; max-height: 3; }
    TargetPickerModal #hits { height: 1fr; }
    """

    def __init__(self, ids: list[int], names: dict[int, str]) -> None:
        super().__init__()
        self.ids = list(ids)
        self.names = dict(names)
        self.hits: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static("", id="chosen")
            yield Input(placeholder=_("network, street, postcode"), id="q")
            yield OptionList(id="hits")
            yield Static(Text(_("Enter = add [ ] / remove [x] · F5 or Escape = done")))

    def on_mount(self) -> None:
        self._render_chosen()

    def _render_chosen(self) -> None:
        t = Text(_("Targets:") + " ", style="bold")
        if not self.ids:
            t.append(_("none"), style="")
        for i, nid in enumerate(self.ids):
            if i:
                t.append(", ")
            t.append_text(safe_text(self.names.get(nid, f"#{nid}")))
        self.query_one("#chosen", Static).update(t)

    def on_input_changed(self, event: Input.Changed) -> None:
        q = event.value.strip()
        if not q:
            self.hits = []
            self.query_one("#hits", OptionList).clear_options()
            return
        self.run_db(_search, self.app.db, q, group="target-search", on_done=self._show_hits)

    def _show_hits(self, hits: list[Any]) -> None:
        self.hits = list(hits)
        ol = self.query_one("#hits", OptionList)
        ol.clear_options()
        for i, h in enumerate(self.hits):
            # [x] = a target already (Enter removes it), [ ] = not yet (Enter adds it)
            label = Text("[x] " if h.network_id in self.ids else "[ ] ", style="bold")
            label.append_text(safe_text(h.name, style="bold"))
            label.append(f"  {kind_label(h.kind)} · ")
            label.append_text(safe_text(h.municipality))
            label.append(" · " + ngettext("{n} member", "{n} members", h.member_count).format(n=number(h.member_count)))
            ol.add_option(Option(label, id=str(i)))
        if self.hits:
            ol.highlighted = 0

    def action_move(self, step: int) -> None:
        ol = self.query_one("#hits", OptionList)
        if ol.option_count:
            cur = ol.highlighted if ol.highlighted is not None else -1
            ol.highlighted = max(0, min(ol.option_count - 1, cur + step))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        ol = self.query_one("#hits", OptionList)
        if ol.highlighted is None or not self.hits:
            return
        h = self.hits[ol.highlighted]
        if h.network_id in self.ids:
            self.ids.remove(h.network_id)
        else:
            self.ids.append(h.network_id)
            self.names[h.network_id] = h.name
        self._render_chosen()
        self._show_hits(self.hits)
        ol.highlighted = min(self.hits.index(h), ol.option_count - 1)

    def action_done(self) -> None:
        self.dismiss((list(self.ids), dict(self.names)))

    def go_back(self) -> bool:
        # Escape keeps the list as edited (adding/removing is not destructive and is visible).
        self.action_done()
        return True
