"""The unsent alert text survives leaving the compose screen, until the alert is created."""

from __future__ import annotations

from alert_ui_helpers import (
    make_app,
    open_compose,
    seed,
    wait_for,
)
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmSendModal
from bin_console.screens.monitor import MonitorScreen

from bin_console.alerts import service as alerts


async def test_escape_keeps_the_alert_text_until_the_alert_is_created(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        compose = await open_compose(pilot, info["network_id"])
        await pilot.press("ctrl+u", *"Brand Kerkstraat")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposeScreen), what="left compose")
        compose = await open_compose(pilot, info["network_id"])
        assert compose.text == "Brand Kerkstraat" and compose.urgency == "normal"
        await pilot.press(*" nu", "f5")  # typing goes on at the end of the kept text
        modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
        await wait_for(pilot, lambda: modal.armed, what="armed")
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        assert alerts.list_alerts(sqlite_db, limit=1)[0].text == "Brand Kerkstraat nu"
        compose = await open_compose(pilot, info["network_id"])
        assert compose.text == ""  # sent: the next alert starts empty
