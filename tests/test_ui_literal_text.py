"""Untrusted text in error messages and zone names is shown literally, never as markup or escapes."""

from __future__ import annotations

from alert_ui_helpers import (
    make_app,
    seed,
    settle,
    show_network,
    wait_for,
)
from bin_console.data.models import PoliceZone
from bin_console.screens.compose import ComposeScreen
from sqlalchemy import update
from textual.widgets import Static, TextArea

from bin_console.alerts import service as alerts


async def test_errors_and_zone_names_are_shown_literally(sqlite_db, settings, monkeypatch):
    info = seed(sqlite_db)
    with sqlite_db.write() as s:
        s.execute(update(PoliceZone).values(name="Gent\x1b[31mRED"))

    def broken(*args, **kwargs):
        raise RuntimeError("db says \x1b]0;PWNED\x07")

    monkeypatch.setattr(alerts, "plan_versions", broken)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        info_line = str(app.screen.query_one("#search-info", Static).render())
        assert "Gent\ufffd[31mRED" in info_line and "\x1b" not in info_line
        await show_network(pilot, info["network_id"])
        await pilot.press("f4")
        compose = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
        recipients = compose.query_one("#recipients", Static)
        await wait_for(pilot, lambda: "could not count" in str(recipients.render()), what="plan error")
        shown = str(recipients.render())
        assert "\x1b" not in shown and "\x07" not in shown and "\ufffd]0;PWNED\ufffd" in shown
        assert compose.query_one("#body", TextArea) is not None
