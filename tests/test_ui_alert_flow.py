"""The whole alert flow against the real training SMSC: search -> network -> compose -> confirm ->
monitor shows every SMS delivered; a member's reply then arrives in the inbox. Keys only."""

from __future__ import annotations

import dataclasses

from alert_ui_helpers import make_app, seed, settle, target_ids, wait_for
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmSendModal
from bin_console.screens.inbox import InboxScreen
from bin_console.screens.monitor import MonitorScreen
from bin_console.widgets.fit_table import FitTable

from bin_console.sender import SenderRunner


async def test_search_compose_confirm_monitor_delivered_then_reply(sqlite_db, settings, smsc):
    info = seed(sqlite_db)
    settings.smpp = dataclasses.replace(
        settings.smpp, host="127.0.0.1", port=smsc.port, system_id="training", training=True, sender="POLITIE"
    )
    sender = SenderRunner(sqlite_db, settings.smpp, password=None, poll_interval=0.1)
    # The status poller runs: it is what clears app.sending once nothing is in flight.
    app = make_app(settings, sqlite_db, sender=sender, training=True, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"kerkstr")  # by street
        await settle(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: target_ids(app) == [info["network_id"]], what="network opened")
        await pilot.press("f4")
        compose = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
        await pilot.press(*"Inbraak bezig Kerkstraat. Blijf binnen, bel 101.")
        await wait_for(pilot, lambda: compose.plan is not None)
        await pilot.press("f5")
        modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
        assert str(modal.query_one("#headline").render()).startswith("SMS to 12 members of BIN Kerkwijk, 1 part")
        await wait_for(pilot, lambda: modal.armed)
        await pilot.press("f5")
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(
            pilot,
            lambda: monitor.progress and monitor.progress.counts.get("delivered") == 12,
            timeout=30,
            what="12 delivered",
        )
        assert "complete: 12/12" in str(monitor.query_one("#rate").render())
        await wait_for(pilot, lambda: app.sending is False, what="sending cleared")
        assert smsc.messages_for("+32470000000") == ["Inbraak bezig Kerkstraat. Blijf binnen, bel 101."]

        await pilot.press("f7")
        inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen) and app.screen)
        smsc.inject_mo("32470000000", "Gezien aan de kerk")
        table = inbox.query_one("#replies", FitTable)
        await wait_for(pilot, lambda: table.row_count == 1, timeout=20, what="reply in inbox")
        row = [c.plain for c in table.row_cells(0)]  # whole values; a cut one ends in "…"
        assert row[1] == "[bold red]Jan[/]" and row[5] == "Gezien aan de kerk"
        assert row[3] == f"#{monitor.alert_id}"
