"""Members screen: filter, keyset paging, add with field errors, edit, deactivate, audited reveal, import."""

from __future__ import annotations

import pytest
from bin_console.data.models import AuditEntry, Member
from bin_console.screens.import_report import ImportReportScreen
from bin_console.screens.member_form import DeactivateConfirmModal, MemberFormModal
from bin_console.screens.members import MembersScreen
from sqlalchemy import func, select
from ui_helpers import make_app, screen_text, settle, wait_until
from ui_seed import seed


async def open_members(app, pilot):
    await settle(app, pilot)
    await pilot.press(*"kerkwijk", "enter")
    await settle(app, pilot)
    await pilot.press("f3")
    await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="members screen")
    await settle(app, pilot)
    return app.screen


def member_by_name(db, name):
    with db.read() as s:
        return s.scalars(select(Member).where(Member.name == name)).one_or_none()


@pytest.fixture
def seeded(sqlite_db):
    return sqlite_db, seed(sqlite_db, big=250)


async def test_filter_and_keyset_paging(seeded):
    db, _ = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_members(app, pilot)
        table = screen.query_one("#member-table")
        assert table.row_count == 50  # one page: about three screens at 80x24, cheap to repaint
        assert "rows 1-50 of 259" in screen_text(app)
        await pilot.press("pagedown")
        await settle(app, pilot)
        assert "rows 51-100 of 259" in screen_text(app)
        for _ in range(4):
            await pilot.press("pagedown")
            await settle(app, pilot)
        assert "rows 251-259 of 259" in screen_text(app)
        assert table.row_count == 9
        await pilot.press("pageup")
        await settle(app, pilot)
        assert "rows 201-250 of 259" in screen_text(app)
        await pilot.press(*"anna")
        await settle(app, pilot)
        assert table.row_count == 1
        assert "Anna Claes" in screen_text(app)
        assert app.focused.id == "member-filter"


async def test_phones_masked_until_reveal_which_is_audited(seeded):
    db, _ = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_members(app, pilot)
        assert "+32470000000" not in screen_text(app)
        with db.read() as s:
            before = s.scalar(select(func.count()).select_from(AuditEntry))
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert "+32470000000" in screen_text(app)
        with db.read() as s:
            actions = list(s.scalars(select(AuditEntry.action)))
        assert len(actions) == before + 1 and actions[-1] == "member.phones_revealed"
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert "+32470000000" not in screen_text(app)


async def test_add_bad_number_then_good_then_edit_then_deactivate(sqlite_db):
    db = sqlite_db
    seed(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_members(app, pilot)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, MemberFormModal), what="form")
        form = app.screen
        await settle(app, pilot)
        assert app.focused.id == "f-name"
        await pilot.press(*"Greta Vos", "tab", *"12345", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MemberFormModal)
        error = form.query_one("#e-mobile")
        assert error.has_class("-shown") and str(error.render()).strip()
        assert app.focused.id == "f-mobile"
        assert member_by_name(db, "Greta Vos") is None
        for _ in range(5):
            await pilot.press("backspace")
        await pilot.press(*"0470 12 34 56", "enter")
        await settle(app, pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="form closed")
        member = member_by_name(db, "Greta Vos")
        assert member is not None and member.mobile == "+32470123456"
        await settle(app, pilot)
        # edit: filter to her, Ctrl+E, change the name
        await pilot.press(*"greta")
        await settle(app, pilot)
        assert app.screen.query_one("#member-table").row_count == 1
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(app.screen, MemberFormModal), what="edit form")
        await settle(app, pilot)
        assert app.screen.query_one("#f-name").value == "Greta Vos"
        await pilot.press("end", *"-Smet", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="edit saved")
        assert member_by_name(db, "Greta Vos-Smet") is not None
        await settle(app, pilot)
        # deactivate: asks first, Cancel focused; Escape cancels; y confirms
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, DeactivateConfirmModal), what="confirm")
        await settle(app, pilot)
        assert app.focused.id == "no"  # Cancel
        await pilot.press("escape")
        await settle(app, pilot)
        assert member_by_name(db, "Greta Vos-Smet").status == "active"
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, DeactivateConfirmModal), what="confirm")
        await wait_until(pilot, lambda: app.screen.armed, what="armed")
        await pilot.press("y")
        await settle(app, pilot)
        await wait_until(pilot, lambda: member_by_name(db, "Greta Vos-Smet").status == "left", what="left")


async def test_hostile_names_literal_in_table_and_notification(sqlite_db):
    db = sqlite_db
    seed(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_members(app, pilot)
        text = screen_text(app)
        assert "[bold red]Jan[/]" in text
        assert "Peeters [/]" in text
        assert "Jan\ufffd]0;PWNED\ufffd" in text
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg
        await pilot.press(*"jan")
        await settle(app, pilot)
        table = app.screen.query_one("#member-table")
        target = member_by_name(db, "[bold red]Jan[/]").id
        while table.selected_id != target:
            await pilot.press("down")
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, DeactivateConfirmModal), what="confirm")
        await wait_until(pilot, lambda: app.screen.armed, what="armed")
        assert "[bold red]Jan[/]" in screen_text(app)
        await pilot.press("y")
        await settle(app, pilot)
        await wait_until(pilot, lambda: member_by_name(db, "[bold red]Jan[/]").status == "left", what="left")
        await settle(app, pilot)
        notes = [str(n.message) for n in app._notifications]
        assert any("[bold red]Jan[/] deactivated" in n for n in notes)
        await wait_until(pilot, lambda: app.screen.query("Toast"), what="toast shown")
        toasts = " ".join(str(t.render()) for t in app.screen.query("Toast"))
        assert "[bold red]Jan[/] deactivated" in toasts
        assert "\x1b" not in app.export_screenshot()


async def test_import_shows_per_row_report(sqlite_db, tmp_path):
    db = sqlite_db
    seed(db, members=2)
    csv = tmp_path / "leden.csv"
    csv.write_text(
        "naam;gsm;straat;nummer;postcode\n"
        "Hilde Goossens;0470 99 88 77;Kerkstraat;12;9000\n"
        "Bad Number;12345;Kerkstraat;13;9000\n",
        encoding="utf-8",
    )
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_members(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        await pilot.press(*str(csv), "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ImportReportScreen), what="report")
        await settle(app, pilot)
        text = screen_text(app)
        assert "Imported 1" in text and "rejected 1" in text
        assert "line 3, column" in text
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, MembersScreen)
        assert "Hilde Goossens" in screen_text(app)
