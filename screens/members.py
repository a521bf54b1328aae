"""Members of one network (its target, given by whoever opened the screen and named in its title):
one page (<= 100 rows) at a time, filtered as you type.

The filter field keeps focus and drives the table (Up/Down move, PgDn/PgUp fetch the next/previous
page by keyset). Every page is read in a thread worker; the table never holds more than one page.
Phones are masked; Ctrl+R reveals them for this screen and writes an audit event first.
Keys are Ctrl+/F-keys, never single letters: the filter field is focused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bin_console.widgets.member_table import MemberTable
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Input, Static

from bin_console.i18n import N_, _, number
from bin_console.trust.textsafe import clean, safe_text

from .base import BaseScreen
from .target import NetworkRef, target_text

PAGE_SIZE = 50


@dataclass(frozen=True)
class PageRequest:
    text: str
    after: tuple[str, int] | None = None
    before: tuple[str, int] | None = None


@dataclass(frozen=True)
class PageResult:
    request: PageRequest
    page: Any  # data.members.MemberPage
    network_name: str


def fetch_page(db: Any, network_id: int, req: PageRequest) -> PageResult:
    from bin_console.data.members import page_members
    from bin_console.data.networks import get_network

    with db.read() as session:
        page = page_members(
            session, network_id, text=req.text.strip(), after=req.after, before=req.before, limit=PAGE_SIZE
        )
        net = get_network(session, network_id)
        name = net.name if net is not None else f"#{network_id}"
    return PageResult(req, page, name)


def mask(number: str | None) -> str:
    from bin_console.alerts.service import mask_phone

    return mask_phone(number)


def member_cells(row: Any, *, reveal: bool) -> list[Text]:
    phone = row.mobile or row.landline
    shown = (phone or "") if reveal else mask(phone)
    address = " ".join(p for p in (row.street, row.house_number) if p)
    opted_out = ",".join(ch for ch, out in (("SMS", row.sms_opt_out), ("e-mail", row.email_opt_out)) if out)
    status = Text(row.status, style="bold" if row.status != "active" else "")
    return [safe_text(row.name), safe_text(shown), safe_text(address), status, Text(opted_out)]


def audit_reveal(db: Any, actor: Any, network_id: int, rows: int) -> None:
    from bin_console.trust import audit

    with db.write() as session:
        audit.append(session, actor, "member.phones_revealed", f"network:{network_id}", {"rows": rows})


def load_member(db: Any, member_id: int) -> dict[str, Any] | None:
    from bin_console.data.members import get_member

    with db.read() as session:
        m = get_member(session, member_id)
        if m is None:
            return None
        return {
            "id": m.id,
            "name": m.name,
            "mobile": m.mobile or "",
            "landline": m.landline or "",
            "email": m.email or "",
            "street": m.street,
            "house_number": m.house_number,
            "postcode": m.postcode,
            "municipality": m.municipality,
            "language": m.language,
            "role": m.role,
        }


def deactivate(db: Any, member_id: int, actor: Any) -> int:
    from bin_console.directory.service import deactivate_member

    deactivate_member(db, member_id, actor)
    return member_id


class MembersScreen(BaseScreen):
    TITLE_TEXT = N_("Members")
    INITIAL_FOCUS = "#member-filter"
    KEY_NOTES = [(N_("type"), N_("filter: start of a name word, start of a street, or digits of a phone number"))]
    BINDINGS = [
        Binding("up", "move(-1)", N_("Up"), show=False, system=True, id="members-up", tooltip=N_("previous member")),
        Binding("down", "move(1)", N_("Down"), show=False, system=True, id="members-down", tooltip=N_("next member")),
        Binding(
            "pagedown",
            "page(1)",
            N_("Next page"),
            show=False,
            system=True,
            id="members-next-page",
            tooltip=N_("next page"),
        ),
        Binding(
            "pageup",
            "page(-1)",
            N_("Previous page"),
            show=False,
            system=True,
            id="members-previous-page",
            tooltip=N_("previous page"),
        ),
        Binding("ctrl+n", "new", N_("New"), priority=True, id="members-new", tooltip=N_("new member (form)")),
        Binding(
            "ctrl+e", "edit", N_("Edit"), priority=True, id="members-edit", tooltip=N_("edit the highlighted member")
        ),
        Binding(
            "ctrl+d",
            "deactivate",
            N_("Deactivate"),
            show=False,
            priority=True,
            id="members-deactivate",
            tooltip=N_("deactivate the highlighted member (asks first; status becomes 'left')"),
        ),
        Binding(
            "ctrl+o",
            "import",
            N_("Import"),
            show=False,
            priority=True,
            id="members-import",
            tooltip=N_("import members from a CSV/XLSX file (report per row)"),
        ),
        Binding(
            "ctrl+r",
            "reveal",
            N_("Reveal"),
            show=False,
            priority=True,
            id="members-reveal",
            tooltip=N_("reveal / mask phone numbers (revealing is audited)"),
        ),
    ]
    DEFAULT_CSS = """
    MembersScreen #member-title { height: 1; padding: 0 1; background: $boost; }
    MembersScreen #member-info { height: 1; padding: 0 1; }
    """

    # Phones shown in full (after the audit event is written); the watcher re-renders the page.
    reveal: reactive[bool] = reactive(False, init=False)

    def __init__(self, network: NetworkRef) -> None:
        super().__init__()
        self.network = network
        self._result: PageResult | None = None
        self._wanted = PageRequest("")

    @property
    def network_id(self) -> int:
        return self.network.id

    def target(self) -> tuple[NetworkRef, ...]:
        return (self.network,)

    def _title(self) -> Text:
        return Text.assemble((_("Members of") + " ", "bold"), target_text(self.target()))

    def compose_body(self) -> ComposeResult:
        yield Static(self._title(), id="member-title")
        yield Input(placeholder=_("filter: name, street or phone digits"), id="member-filter")
        yield Static("", id="member-info")
        yield MemberTable(id="member-table")

    def on_mount(self) -> None:
        self._load(PageRequest(""))

    # ---------------------------------------------------------------- loading
    def _load(self, req: PageRequest, keep_row: int | None = None) -> None:
        self._wanted = req
        self.run_db(
            fetch_page,
            self.app.db,
            self.network_id,
            req,
            group="member-page",
            on_done=lambda result: self._show(result, keep_row),
        )

    def reload(self) -> None:
        """Same page again (after an edit); the first page if the current one is now empty."""
        table = self.query_one(MemberTable)
        self._load(self._wanted, keep_row=table.cursor_row)

    def _show(self, result: PageResult, keep_row: int | None = None) -> None:
        if result.request != self._wanted:
            return
        page = result.page
        if not page.rows and (result.request.after or result.request.before):
            self._load(PageRequest(result.request.text))
            return
        self._result = result
        self.network = NetworkRef(self.network.id, result.network_name)
        self.query_one("#member-title", Static).update(self._title())
        rows = [(r.id, member_cells(r, reveal=self.reveal)) for r in page.rows]
        self.query_one(MemberTable).show_rows(rows, cursor_row=keep_row or 0)
        self._update_info()

    def _update_info(self, message: str | None = None) -> None:
        info = Text(no_wrap=True, end="")
        res = self._result
        if message:
            info.append(message)
        elif res is None:
            info.append(_("Loading..."))
        elif not res.page.rows:
            if res.request.text.strip():
                message = _("No member matches {text}").format(text=clean(res.request.text.strip()))
                info.append_text(safe_text(message))
            else:
                info.append(_("No members yet: Ctrl+N adds one, Ctrl+O imports a file."))
        else:
            first = res.page.offset + 1
            last = res.page.offset + len(res.page.rows)
            info.append(
                _("rows {first}-{last} of {total}").format(
                    first=number(first), last=number(last), total=number(res.page.total)
                )
            )
            if last < res.page.total:
                info.append("  " + _("PgDn next page"))
        info.append("   " + (_("phones shown") if self.reveal else _("phones masked (Ctrl+R)")))
        self.query_one("#member-info", Static).update(info)

    # ---------------------------------------------------------------- keys
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "member-filter":
            self._load(PageRequest(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter in the filter does nothing more than the typing already did

    def action_move(self, delta: int) -> None:
        self.query_one(MemberTable).move_selection(delta)

    def action_page(self, direction: int) -> None:
        res = self._result
        if res is None or not res.page.rows:
            return
        text = self.query_one("#member-filter", Input).value
        page = res.page
        if direction > 0:
            if page.offset + len(page.rows) >= page.total:
                self.query_one(MemberTable).move_selection(PAGE_SIZE)
                return
            self._load(PageRequest(text, after=page.last_key))
        else:
            if page.offset <= 0:
                self.query_one(MemberTable).move_selection(-PAGE_SIZE)
                return
            self._load(PageRequest(text, before=page.first_key))

    def _selected(self) -> int | None:
        return self.query_one(MemberTable).selected_id

    def action_new(self) -> None:
        from .member_form import MemberFormModal

        self.app.push_buffered(MemberFormModal(self.network_id, None), self._form_done)

    def action_edit(self) -> None:
        member_id = self._selected()
        if member_id is None:
            self.app.notify(_("No member highlighted."), severity="warning")
            return
        self.app.hold_keys()  # keys typed now belong to the form that is about to open
        self.run_db(
            load_member,
            self.app.db,
            member_id,
            group="member-load",
            on_done=self._open_edit,
            on_error=self._load_failed,
        )

    def _load_failed(self, exc: BaseException) -> None:
        self.app.release_keys()
        self.app.notify(
            _("Cannot open the member: {error}").format(error=type(exc).__name__), severity="error", markup=False
        )

    def _open_edit(self, data: dict[str, Any] | None) -> None:
        from .member_form import MemberFormModal

        if data is None:
            self.app.release_keys()
            self.app.notify(_("That member no longer exists."), severity="warning")
            self.reload()
            return
        self.app.push_buffered(MemberFormModal(self.network_id, data), self._form_done)

    def _form_done(self, member_id: int | None) -> None:
        if member_id is not None:
            self.reload()

    def action_deactivate(self) -> None:
        from .member_form import DeactivateConfirmModal

        member_id = self._selected()
        res = self._result
        if member_id is None or res is None:
            self.app.notify(_("No member highlighted."), severity="warning")
            return
        row = next((r for r in res.page.rows if r.id == member_id), None)
        if row is None:
            return
        if row.status == "left":
            self.app.notify(_("{name} is already inactive.").format(name=clean(row.name)), markup=False)
            return

        app = self.app

        def confirmed(yes: bool | None) -> None:
            if yes:
                # App-owned and not exclusive: a second deactivation, or leaving this screen, must
                # never cancel the first.
                app.run_write(
                    deactivate,
                    app.db,
                    member_id,
                    app.actor,
                    on_done=lambda _id: self._deactivated(row.name),
                    what=_("Deactivate"),
                )

        self.app.push_buffered(DeactivateConfirmModal(row.name), confirmed)

    def _deactivated(self, name: str) -> None:
        self.app.notify(_("{name} deactivated (status: left).").format(name=clean(name)), markup=False)
        if self.is_attached:
            self.reload()

    def action_import(self) -> None:
        from .import_report import ImportPathModal

        self.app.push_buffered(ImportPathModal(self.network_id), self._imported)

    def _imported(self, outcome: tuple[str, Any] | None) -> None:
        from .import_report import ImportReportScreen

        if outcome is None:
            return
        self.reload()
        path, report = outcome
        self.app.push_buffered(ImportReportScreen(path, report))

    def action_reveal(self) -> None:
        res = self._result
        if self.reveal:
            self.reveal = False
            return
        rows = len(res.page.rows) if res else 0
        # Audit first: the numbers are shown only once the event is written.
        self.run_db(
            audit_reveal,
            self.app.db,
            self.app.actor,
            self.network_id,
            rows,
            group="member-audit",
            on_done=lambda _none: self._revealed(),
        )

    def _revealed(self) -> None:
        self.reveal = True

    def watch_reveal(self) -> None:
        res = self._result
        if res is None:
            self._update_info()
            return
        table = self.query_one(MemberTable)
        row = table.cursor_row
        table.show_rows([(r.id, member_cells(r, reveal=self.reveal)) for r in res.page.rows], cursor_row=row)
        self._update_info()
