"""The member form and deactivation: Escape asks before discarding, a typed-ahead `y` never deactivates,
and a deactivation outlives the screen that asked for it."""

from __future__ import annotations

import threading

from alert_ui_helpers import (
    make_app,
    notes,
    open_members,
    seed,
    settle,
    status_of,
    wait_for,
)
from bin_console.screens.confirm import ConfirmActionModal
from bin_console.screens.member_form import DeactivateConfirmModal, MemberFormModal
from textual.widgets import Input
from ui_helpers import burst


async def test_member_form_escape_asks_before_throwing_typed_fields_away(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        members = await open_members(pilot, info["network_id"])
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, MemberFormModal), what="form")
        await pilot.press("escape")  # nothing typed: closes at once
        await wait_for(pilot, lambda: app.screen is members, what="form closed")
        await pilot.press("ctrl+n")
        form = await wait_for(pilot, lambda: isinstance(app.screen, MemberFormModal) and app.screen)
        await pilot.press(*"Greta Vos", "escape")
        ask = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmActionModal) and app.screen)
        assert app.focused.id == "no"  # keep editing
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is form, what="back in the form")
        assert form.query_one("#f-name", Input).value == "Greta Vos"
        await pilot.press("escape")
        ask = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmActionModal) and app.screen)
        await wait_for(pilot, lambda: ask.armed, what="armed")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.screen is members, what="discarded")


async def test_a_typed_ahead_y_never_deactivates(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        members = await open_members(pilot, info["network_id"])
        name = members._result.page.rows[0].name
        burst(app, ["ctrl+d", "y"])
        modal = await wait_for(pilot, lambda: isinstance(app.screen, DeactivateConfirmModal) and app.screen)
        await wait_for(pilot, lambda: modal.armed, what="armed")
        await settle(pilot)
        assert app.screen is modal and status_of(sqlite_db, name) == "active"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is members, what="cancelled")
        assert status_of(sqlite_db, name) == "active"


async def test_a_deactivation_is_not_dropped_when_the_screen_is_left(sqlite_db, settings, monkeypatch):
    from bin_console.directory import service as directory

    info = seed(sqlite_db)
    gate, entered = threading.Event(), threading.Event()
    real = directory.deactivate_member

    def slow(*args, **kwargs):
        entered.set()
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(directory, "deactivate_member", slow)
    app = make_app(settings, sqlite_db)
    try:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            members = await open_members(pilot, info["network_id"])
            name = members._result.page.rows[0].name
            await pilot.press("ctrl+d")
            modal = await wait_for(pilot, lambda: isinstance(app.screen, DeactivateConfirmModal) and app.screen)
            await wait_for(pilot, lambda: modal.armed, what="armed")
            await pilot.press("y")
            await wait_for(pilot, entered.is_set, what="deactivation running")
            await pilot.press("escape")  # leave the members screen while the write runs
            await wait_for(pilot, lambda: not members.is_attached, what="members screen gone")
            gate.set()
            await wait_for(pilot, lambda: "deactivated" in notes(app), what="notified from the app")
            assert status_of(sqlite_db, name) == "left"
    finally:
        gate.set()
