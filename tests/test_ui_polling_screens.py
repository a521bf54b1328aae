"""Monitor and inbox: one of each, brought back to the top, polling only while on top."""

from __future__ import annotations

from alert_ui_helpers import (
    ACTOR,
    make_app,
    seed,
    settle,
    wait_for,
)
from bin_console.screens.inbox import InboxScreen
from bin_console.screens.monitor import MonitorScreen

from bin_console.alerts import service as alerts


async def test_polling_screens_are_reused_and_pause_while_covered(sqlite_db, settings):
    info = seed(sqlite_db)
    first = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Een", actor=ACTOR, training=True)
    second = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Twee", actor=ACTOR, training=True)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.alert_id == second, what="latest alert")
        await pilot.press("f7")
        inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen) and app.screen)
        assert inbox.polling and not monitor.polling
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.screen is monitor, what="the same monitor on top")
        assert monitor.polling and not inbox.polling
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.screen is inbox, what="the same inbox on top")
        app.open_monitor(first)
        await wait_for(pilot, lambda: app.screen is monitor, what="monitor again")
        await wait_for(pilot, lambda: monitor.progress and monitor.progress.alert.id == first, what="alert switched")
        kinds = [type(s) for s in app.screen_stack]
        assert kinds.count(MonitorScreen) == 1 and kinds.count(InboxScreen) == 1
