"""Networks: the start screen. The search field keeps focus; ranked matches update as you type.

Up/Down/PgUp/PgDn move the selection without leaving the field; Enter opens the selection. When the
dispatcher types a name and Enter faster than the search answers, Enter waits for the matches of
exactly the typed text (the App holds the keys typed after it) and opens the top match, so
`kerkwijk` Enter F4 `text` lands in the compose screen of BIN Kerkwijk.

Its target (what F3/F4 act on) is the highlighted result, and only while the results shown are the
ones for the text in the field: a search that matches nothing, one still running or one not started
yet selects nothing (F3/F4 then say "Nothing selected").

The search runs once typing pauses (``SEARCH_DEBOUNCE_S`` after the last key), not on every key:
while keys arrive faster than that only the field is repainted, and the result list once, for the
text typed. Over a 64 kbit/s SSH link a result list repaint costs 2-4 KB (0.3-0.5 s), so one per key
left the screen seconds behind a dispatcher typing at 7 keys/s (issue 7). It applies on every
terminal, not only over SSH: the results lag a pause of 0.2 s behind the typing, which a fast
terminal hides as well as a slow one, the national directory is searched once instead of once per
key, and one behaviour is what the tests and the e2e runs check. Enter does not wait for the pause:
it starts the search for the text typed at once and opens its top match when the answer lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bin_console.widgets.result_list import ResultList
from bin_console.widgets.search_field import SearchField
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Input, Static

from bin_console.i18n import N_, _, ngettext, number
from bin_console.labels import kind_label
from bin_console.trust.textsafe import clean, safe_text

from .base import BaseScreen
from .target import NetworkRef

SEARCH_LIMIT = 50
# Typing pauses this long before the search runs: above the ~143 ms between keys at 7 keys/s (the
# pace issue 7 measures), well under what reads as the list lagging behind.
SEARCH_DEBOUNCE_S = 0.2


@dataclass(frozen=True)
class SearchResult:
    query: str
    zone_id: int | None
    hits: list[Any]


def run_search(db: Any, query: str, zone_id: int | None) -> SearchResult:
    """Blocking: runs in a thread worker."""
    from bin_console.data.networks import search_networks

    text = query.strip()
    if not text:
        return SearchResult(query, zone_id, [])
    with db.read() as session:
        hits = search_networks(session, text, zone_id=zone_id, limit=SEARCH_LIMIT)
    return SearchResult(query, zone_id, list(hits))


def load_zones(db: Any) -> list[tuple[int, str, str]]:
    from bin_console.data.networks import list_zones

    zones: list[tuple[int, str, str]] = []
    with db.read() as session:
        for z in list_zones(session):
            assert z.id is not None  # a stored row
            zones.append((z.id, z.code, z.name))
    return zones


def hit_cells(hit: Any) -> list[Text]:
    # A street's label carries its postcode and town ("Kerkstraat, 9000 Gent"): the table keeps the
    # postcode when it cuts. A name match repeats the Network column, so it just says so.
    matched = _("(name)") if hit.field == "name" else hit.matched
    members = Text(number(hit.member_count), justify="right")
    return [safe_text(hit.name), Text(kind_label(hit.kind)), safe_text(hit.municipality), members, safe_text(matched)]


class NetworksScreen(BaseScreen):
    TITLE_TEXT = N_("Networks")
    INITIAL_FOCUS = "#search"
    HOLD_AFTER = frozenset({"enter"})
    KEY_NOTES = [
        # Translators: in the key column of F1, for "what you type" (not a key name)
        (N_("type"), N_("search by network name, street, postcode or municipality")),
        ("Enter", N_("open the selected network (the top match if you typed and pressed Enter at once)")),
    ]
    BINDINGS = [
        Binding(
            "up", "move(-1)", N_("Up"), show=False, system=True, id="networks-up", tooltip=N_("move the selection up")
        ),
        Binding(
            "down",
            "move(1)",
            N_("Down"),
            show=False,
            system=True,
            id="networks-down",
            tooltip=N_("move the selection down"),
        ),
        Binding(
            "pageup",
            "move(-10)",
            N_("Page up"),
            show=False,
            system=True,
            id="networks-page-up",
            tooltip=N_("a page up"),
        ),
        Binding(
            "pagedown",
            "move(10)",
            N_("Page down"),
            show=False,
            system=True,
            id="networks-page-down",
            tooltip=N_("a page down"),
        ),
        Binding(
            "f9",
            "cycle_zone",
            N_("Zone"),
            priority=True,
            id="networks-zone",
            tooltip=N_("zone filter: cycle through the police zones"),
        ),
    ]
    DEFAULT_CSS = """
    NetworksScreen #search-row { height: 3; }
    NetworksScreen #search { width: 1fr; }
    NetworksScreen #search-info { height: 1; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: SearchResult | None = None
        self._pending_enter = False
        self._search_timer: Timer | None = None  # set while typed text waits for its search
        self._zones: list[tuple[int, str, str]] | None = None
        self._zone_index = -1  # -1: all zones

    def compose_body(self) -> ComposeResult:
        # select_on_focus off: after Escape back, type-ahead must append, not replace the whole search.
        yield SearchField(
            placeholder=_("network, street, postcode or municipality"), id="search", select_on_focus=False
        )
        yield Static(self._info_text(), id="search-info")
        yield ResultList(id="results")

    def on_mount(self) -> None:
        self.run_db(load_zones, self.app.db, group="zones", on_done=self._zones_loaded, on_error=lambda exc: None)

    # ---------------------------------------------------------------- state
    @property
    def zone_id(self) -> int | None:
        if self._zones and 0 <= self._zone_index < len(self._zones):
            return self._zones[self._zone_index][0]
        return None

    def _zone_label(self) -> str:
        if self._zones and 0 <= self._zone_index < len(self._zones):
            _id, code, name = self._zones[self._zone_index]
            return _("zone {code} {name}").format(code=clean(code), name=clean(name))
        return _("all zones")

    def _info_text(self, message: str | None = None) -> Text:
        out = Text(no_wrap=True, end="")
        out.append(f"[{self._zone_label()}]", style="bold")
        out.append("  ")
        if message is not None:
            out.append(message)
        elif self._shown is None or not self._shown.query.strip():
            out.append(_("Type a network name, street, postcode or municipality."))
        elif not self._shown.hits:
            message = _("No match for {text} - check the spelling or try a street or postcode.")
            out.append_text(safe_text(message.format(text=clean(self._shown.query.strip()))))
        elif self._shown.hits[0].fuzzy:  # nothing starts with what was typed: say what it is close to
            message = _('No exact match; did you mean "{suggestion}"?')
            out.append_text(safe_text(message.format(suggestion=clean(self._shown.hits[0].suggestion))))
        else:
            n = len(self._shown.hits)
            if n >= SEARCH_LIMIT:
                message = _("{n}+ matches; Enter opens the highlighted one.").format(n=number(n))
            else:
                message = ngettext(
                    "{n} match; Enter opens the highlighted one.", "{n} matches; Enter opens the highlighted one.", n
                ).format(n=number(n))
            out.append(message)
        return out

    def _zones_loaded(self, zones: list[tuple[int, str, str]]) -> None:
        self._zones = zones
        default = self.app.settings.zone
        if default:
            for i, (_id, code, _name) in enumerate(zones):
                if code == default:
                    self._zone_index = i
        self._refresh_info()
        if self._zone_index >= 0:
            self.search_now()

    def _refresh_info(self, message: str | None = None) -> None:
        # Every search answer lands here; an unchanged line is not re-sent to the terminal, and its
        # fixed one-row height needs no layout pass (issue 7: slow SSH links).
        text = self._info_text(message)
        info = self.query_one("#search-info", Static)
        if text != info.content:
            info.update(text, layout=False)

    # ---------------------------------------------------------------- searching
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            self._pending_enter = False  # the text an Enter was for is gone: it opens nothing later
            # Only the field repaints per key; the search (and the result list) once typing pauses.
            if self._search_timer is not None:
                self._search_timer.stop()
            self._search_timer = self.set_timer(SEARCH_DEBOUNCE_S, self.search_now, name="network-search-debounce")

    @property
    def search_pending(self) -> bool:
        """Typed text waits for typing to pause before its search starts."""
        return self._search_timer is not None

    def search_now(self) -> None:
        """Search for the text in the field at once (typing paused, Enter, another zone)."""
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        self._search(self.query_one("#search", Input).value)

    def _search(self, value: str) -> None:
        self.run_db(
            run_search,
            self.app.db,
            value,
            self.zone_id,
            group="network-search",
            on_done=self._show_result,
            on_error=self._search_failed,
        )

    def _current_key(self) -> tuple[str, int | None]:
        return self.query_one("#search", Input).value, self.zone_id

    def _shown_is_current(self) -> bool:
        return self._shown is not None and (self._shown.query, self._shown.zone_id) == self._current_key()

    def target(self) -> tuple[NetworkRef, ...]:
        """The highlighted result, if the results on screen are those of the text in the field."""
        if not self._shown_is_current():
            return ()
        network_id = self.query_one(ResultList).selected_key
        hit = next((h for h in self._shown.hits if h.network_id == network_id), None) if self._shown else None
        return (NetworkRef(hit.network_id, hit.name),) if hit is not None else ()

    def _show_result(self, result: SearchResult) -> None:
        if (result.query, result.zone_id) != self._current_key():
            return  # an older answer; the one for the current text is on its way
        self._shown = result
        self.query_one(ResultList).show_rows([(h.network_id, hit_cells(h)) for h in result.hits])
        self._refresh_info()
        if self._pending_enter:
            self._pending_enter = False
            self._open_selected()

    def _search_failed(self, exc: BaseException) -> None:
        self._refresh_info(_("Search failed: {error}. Try again.").format(error=type(exc).__name__))
        if self._pending_enter:
            self._pending_enter = False
            self.app.release_keys()

    # ---------------------------------------------------------------- keys
    def action_move(self, delta: int) -> None:
        self.query_one(ResultList).move_selection(delta)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.app.release_keys()
            return
        if self._shown_is_current():
            self._open_selected()
        else:
            # Results for the text typed so far are not in yet: the App keeps holding the keys
            # typed after Enter; _show_result opens the top match when the answer lands.
            self._pending_enter = True
            # at once, whether typing had not paused yet or an earlier search failed: an Enter
            # must never wait for (and then open) the answer to text typed after it
            self.search_now()

    def _open_selected(self) -> None:
        target = self.target()
        if not target:
            query = self._shown.query.strip() if self._shown else ""
            if query:
                self.app.notify(
                    _("No network matches {text}").format(text=clean(query)), severity="warning", markup=False
                )
            self.app.release_keys()
            return
        self.app.open_network(target[0])

    def action_cycle_zone(self) -> None:
        if not self._zones:
            self.app.notify(_("No police zones in the database."), severity="warning")
            return
        self._zone_index += 1
        if self._zone_index >= len(self._zones):
            self._zone_index = -1
        self._refresh_info()
        self.search_now()

    def go_back(self) -> bool:
        return False  # the start screen: Escape does nothing here
