"""SVG snapshots of every screen and modal at 80x24, in textual-dark and in the Linux VT look
(TERM=linux: ansi-dark theme and the App's -vt class), so no screen can silently break on the
terminal the README names.

Deterministic: a small seeded SQLite DB built per test, clock frozen, cursor blink off, workers
awaited before the shot. Update after an intended change with
`pytest tests/test_ui_snapshots.py --snapshot-update`, then look at the SVGs (snapshot_report.html).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alert_ui_helpers import fix_alert_times, freeze_clock, wait_for
from bin_console.data.engine import Database
from bin_console.data.models import Reply
from bin_console.data.schema import upgrade
from bin_console.data.templates import seed_templates
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmActionModal, ConfirmSendModal
from bin_console.screens.help import HelpScreen
from bin_console.screens.history import HistoryScreen
from bin_console.screens.import_report import ImportPathModal, ImportReportScreen
from bin_console.screens.inbox import InboxScreen
from bin_console.screens.member_form import MemberFormModal
from bin_console.screens.members import MembersScreen
from bin_console.screens.monitor import MonitorScreen
from bin_console.screens.network import NetworkLanguageModal, NetworkScreen
from bin_console.screens.networks import NetworksScreen
from bin_console.screens.quit_confirm import QuitConfirmModal
from bin_console.screens.target_picker import TargetPickerModal
from bin_console.screens.template_picker import TemplatePickerModal
from sqlalchemy import update
from textual.widgets import Input, TextArea
from ui_helpers import make_app, screen_text, settle
from ui_seed import seed

from bin_console.alerts import outbox
from bin_console.alerts import service as alerts
from bin_console.directory.importer import ImportReport, RowError
from bin_console.trust.actor import Actor

# (theme, TERM): the VT case runs as on a Linux console, where the App adds its -vt class.
LOOKS = [
    pytest.param(("textual-dark", "xterm-256color"), id="textual-dark"),
    pytest.param(("ansi-dark", "linux"), id="vt"),
]
SIZE = (80, 24)
ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101", login_uid=1001)


@pytest.fixture
def seeded_db(tmp_path, monkeypatch):
    freeze_clock(monkeypatch)
    db = Database.from_url(f"sqlite:///{tmp_path / 'snap.db'}")
    upgrade(db, backup=False)
    ids = seed(db)
    with db.write() as s:
        seed_templates(s)
    db.ids = ids
    yield db
    db.dispose()


@pytest.fixture(params=LOOKS)
def app(request, seeded_db, monkeypatch):
    theme, term = request.param
    monkeypatch.setenv("TERM", term)
    app = make_app(seeded_db, ui_theme=theme)
    assert app.has_class("-vt") == (term == "linux")
    return app


def kerkwijk(db) -> int:
    return db.ids["Kerkwijk"]


def with_alert(db) -> int:
    aid = alerts.create_alert(
        db, network_ids=[kerkwijk(db)], text="POLITIE BIN Kerkwijk: inbraak Kerkstraat, blijf binnen", actor=ACTOR
    )
    fix_alert_times(db)
    return aid


async def on_screen(pilot, cls):
    app = pilot.app
    screen = await wait_for(pilot, lambda: isinstance(app.screen, cls) and app.screen, what=cls.__name__)
    await settle(app, pilot)
    return screen


async def open_network(pilot):
    await on_screen(pilot, NetworksScreen)
    await pilot.press(*"kerkwijk", "enter")
    return await on_screen(pilot, NetworkScreen)


async def open_members(pilot):
    await open_network(pilot)
    await pilot.press("f3")
    return await on_screen(pilot, MembersScreen)


async def open_compose(pilot, text="Inbraak Kerkstraat 12 om {time}: blijf binnen, bel 101 bij verdachte personen."):
    await open_network(pilot)
    await pilot.press("f4")
    screen = await on_screen(pilot, ComposeScreen)
    await wait_for(pilot, lambda: screen.plan is not None, what="recipient plan")
    screen.query_one("#body", TextArea).load_text(text)
    await settle(pilot.app, pilot)
    return screen


def shot(snap_compare, app, run_before) -> bool:
    return snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_networks_screen(snap_compare, app):
    async def run_before(pilot):
        await on_screen(pilot, NetworksScreen)
        await pilot.press(*"kerk")
        await settle(pilot.app, pilot)

    assert shot(snap_compare, app, run_before)


def test_network_screen(snap_compare, app):
    assert shot(snap_compare, app, open_network)


def test_members_screen(snap_compare, app):
    assert shot(snap_compare, app, open_members)


def test_member_form_new(snap_compare, app):
    async def run_before(pilot):
        await open_members(pilot)
        await pilot.press("ctrl+n")
        await on_screen(pilot, MemberFormModal)
        await pilot.press(*"Jan Peeters")

    assert shot(snap_compare, app, run_before)


def test_member_form_edit_shows_values(snap_compare, app):
    async def run_before(pilot):
        await open_members(pilot)
        await pilot.press("ctrl+e")
        await on_screen(pilot, MemberFormModal)

    assert shot(snap_compare, app, run_before)


def test_deactivate_confirm(snap_compare, app):
    async def run_before(pilot):
        await open_members(pilot)
        await pilot.press("ctrl+d")
        modal = await on_screen(pilot, ConfirmActionModal)
        await wait_for(pilot, lambda: modal.armed, what="armed")

    assert shot(snap_compare, app, run_before)


def test_import_path_modal(snap_compare, app):
    async def run_before(pilot):
        await open_members(pilot)
        await pilot.press("ctrl+o")
        await on_screen(pilot, ImportPathModal)
        await pilot.press(*"~/leden.csv")

    assert shot(snap_compare, app, run_before)


def test_import_report(snap_compare, app):
    report = ImportReport(
        imported=38,
        updated=2,
        rows=43,
        rejected=[
            RowError(7, "gsm", "not a mobile number: 09 123 45 67 is a landline"),
            RowError(12, "email", "not an e-mail address: jan.peeters@"),
            RowError(31, "naam", "name is required"),
        ],
    )

    async def run_before(pilot):
        await open_members(pilot)
        pilot.app.push_screen(ImportReportScreen("/home/disp1/leden-kerkwijk.csv", report))
        await on_screen(pilot, ImportReportScreen)

    assert shot(snap_compare, app, run_before)


def test_compose_screen(snap_compare, app):
    assert shot(snap_compare, app, open_compose)


def test_confirm_send(snap_compare, app):
    async def run_before(pilot):
        await open_compose(pilot)
        await pilot.press("f5")
        modal = await on_screen(pilot, ConfirmSendModal)
        await wait_for(pilot, lambda: modal.armed, what="armed")

    assert shot(snap_compare, app, run_before)


def test_template_picker(snap_compare, app):
    async def run_before(pilot):
        await open_compose(pilot, text="")
        await pilot.press("ctrl+l")
        modal = await on_screen(pilot, TemplatePickerModal)
        await wait_for(pilot, lambda: modal.templates, what="templates")

    assert shot(snap_compare, app, run_before)


class FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):  # datetime.now's own signature
        return datetime(2026, 3, 2, 8, 0, tzinfo=tz)


def test_template_picker_form(snap_compare, app, monkeypatch):
    import bin_console.screens.template_picker as picker

    monkeypatch.setattr(picker, "datetime", FixedClock)  # {time} is pre-filled with the time now

    async def run_before(pilot):
        await open_compose(pilot, text="")
        await pilot.press("ctrl+l")
        modal = await on_screen(pilot, TemplatePickerModal)
        await wait_for(pilot, lambda: modal.templates, what="templates")
        await pilot.press("enter")
        await settle(pilot.app, pilot)

    assert shot(snap_compare, app, run_before)


def test_target_picker(snap_compare, app):
    async def run_before(pilot):
        await open_compose(pilot)
        await pilot.press("ctrl+t")
        modal = await on_screen(pilot, TargetPickerModal)
        await pilot.press(*"kerk")
        await wait_for(pilot, lambda: modal.hits, what="hits")

    assert shot(snap_compare, app, run_before)


def test_monitor(snap_compare, app, seeded_db):
    aid = with_alert(seeded_db)

    async def run_before(pilot):
        await on_screen(pilot, NetworksScreen)
        pilot.app.open_monitor(aid)
        monitor = await on_screen(pilot, MonitorScreen)
        await wait_for(pilot, lambda: monitor.progress is not None, what="progress")

    assert shot(snap_compare, app, run_before)


def test_inbox(snap_compare, app, seeded_db):
    with_alert(seeded_db)
    outbox.store_reply(seeded_db, "+32470000001", "Gezien! [bold]man[/] liep naar \x1b[2Jstation")
    outbox.store_reply(seeded_db, "+32470000002", "STOP")
    with seeded_db.write() as s:
        s.execute(update(Reply).values(received_at=datetime(2026, 3, 2, 8, 5, tzinfo=UTC)))

    async def run_before(pilot):
        await on_screen(pilot, NetworksScreen)
        await pilot.press("f7")
        inbox = await on_screen(pilot, InboxScreen)
        await wait_for(pilot, lambda: inbox.rows, what="replies")

    assert shot(snap_compare, app, run_before)


def test_history(snap_compare, app, seeded_db):
    """A cancelled alert, one followed up (its follow-up under it) and one whose closing message is
    due (the alerts are dated 2026-03-02 08:00, long past the 45 minutes)."""
    net = [kerkwijk(seeded_db)]
    cancelled = alerts.create_alert(seeded_db, network_ids=net, text="POLITIE BIN Kerkwijk: vergissing", actor=ACTOR)
    alerts.cancel_alert(seeded_db, cancelled, ACTOR)
    first = with_alert(seeded_db)
    alerts.create_alert(
        seeded_db, network_ids=net, text="POLITIE BIN Kerkwijk: alles veilig", actor=ACTOR, follow_up_of=first
    )
    alerts.create_alert(seeded_db, network_ids=net, text="POLITIE BIN Kerkwijk: verdachte wagen", actor=ACTOR)
    fix_alert_times(seeded_db)

    async def run_before(pilot):
        await on_screen(pilot, NetworksScreen)
        await pilot.press("f8")
        hist = await on_screen(pilot, HistoryScreen)
        await wait_for(pilot, lambda: hist.rows, what="alerts")

    assert shot(snap_compare, app, run_before)


def test_network_language_modal(snap_compare, app):
    async def run_before(pilot):
        await open_network(pilot)
        await pilot.press("ctrl+l")
        await on_screen(pilot, NetworkLanguageModal)

    assert shot(snap_compare, app, run_before)


def test_help(snap_compare, app):
    async def run_before(pilot):
        await open_members(pilot)
        await pilot.press("f1")
        await on_screen(pilot, HelpScreen)

    assert shot(snap_compare, app, run_before)


def test_quit_confirm(snap_compare, app):
    async def run_before(pilot):
        await on_screen(pilot, NetworksScreen)
        pilot.app.push_screen(QuitConfirmModal())
        modal = await on_screen(pilot, QuitConfirmModal)
        await wait_for(pilot, lambda: modal.armed, what="armed")

    assert shot(snap_compare, app, run_before)


async def test_member_form_shows_its_values_on_the_vt(seeded_db, monkeypatch):
    """The VT border rule once overrode the form's one-row inputs: each field was a border line."""
    monkeypatch.setenv("TERM", "linux")
    app = make_app(seeded_db, ui_theme="auto")
    async with app.run_test(size=SIZE) as pilot:
        await open_members(pilot)
        await pilot.press("ctrl+e")
        form = await on_screen(pilot, MemberFormModal)
        shown = screen_text(app)
        for field in ("#f-name", "#f-mobile", "#f-street"):
            box = form.query_one(field, Input)
            assert box.styles.border_top[0] in ("", "none")
            assert box.value and box.value in shown


# Glyphs Textual draws by default that no Debian console font has (shared notes/textual.md §2.5).
NOT_IN_CONSOLE_FONTS = set("▔▁▊▎▏▂▃▅▆▇⭘⏎🔎")


async def test_no_screen_draws_a_glyph_the_linux_console_lacks(seeded_db, monkeypatch):
    monkeypatch.setenv("TERM", "linux")
    app = make_app(seeded_db, ui_theme="auto")
    seen: dict[str, set[str]] = {}

    def look(name: str) -> None:
        seen[name] = set(screen_text(app)) & NOT_IN_CONSOLE_FONTS

    async with app.run_test(size=SIZE) as pilot:
        await open_members(pilot)
        look("members")
        await pilot.press("ctrl+n")
        await on_screen(pilot, MemberFormModal)
        look("member form")
        await pilot.press("escape")
        await on_screen(pilot, MembersScreen)
        await pilot.press("f4")
        compose = await on_screen(pilot, ComposeScreen)
        await wait_for(pilot, lambda: compose.plan is not None, what="plan")
        look("compose")
        compose.query_one("#body", TextArea).load_text("Inbraak Kerkstraat")
        await pilot.press("f5")
        await on_screen(pilot, ConfirmSendModal)
        look("confirm (not armed yet: Send disabled)")
        await pilot.press("escape")
        await on_screen(pilot, ComposeScreen)
        await pilot.press("ctrl+l")
        picker = await on_screen(pilot, TemplatePickerModal)
        await wait_for(pilot, lambda: picker.templates, what="templates")
        look("template picker")
        await pilot.press("escape")
        await on_screen(pilot, ComposeScreen)
        await pilot.press("ctrl+t")
        await on_screen(pilot, TargetPickerModal)
        await pilot.press(*"kerk")
        await settle(app, pilot)
        look("target picker")
        app.push_screen(ImportReportScreen("leden.csv", ImportReport(imported=1)))
        await on_screen(pilot, ImportReportScreen)
        look("import report")
        await pilot.press("f1")
        await on_screen(pilot, HelpScreen)
        look("help")
    assert seen == {name: set() for name in seen}
