"""History and inbox with e-mail (issue 8), keys only, on a real database: history counts each
alert per channel within 80 columns; an e-mail reply lands in the same inbox as SMS replies, marked
by its channel, its unknown sender's address masked."""

from __future__ import annotations

from alert_ui_helpers import ACTOR, make_app, screen_text, seed, wait_for
from bin_console.data.models import Reply
from bin_console.screens.history import HistoryScreen
from bin_console.screens.inbox import InboxScreen
from bin_console.widgets.fit_table import FitTable
from ui_helpers import screen_text as painted

from bin_console.alerts import outbox
from bin_console.alerts import service as alerts


def rows(table: FitTable) -> list[list[str]]:
    """Whole cell values (a cell cut to the column's width ends in "…")."""
    return [[c.plain for c in table.row_cells(i)] for i in range(table.row_count)]


async def test_history_counts_recipients_per_channel(sqlite_db, settings):
    info = seed(sqlite_db)
    nid = info["network_id"]
    alerts.create_alert(sqlite_db, network_ids=[nid], text="Brand", actor=ACTOR, email_copy=True)
    alerts.create_alert(sqlite_db, network_ids=[nid], text="Vergadering", urgency="normal", actor=ACTOR)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f8")
        hist = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen)
        table = hist.query_one("#alerts", FitTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="two alerts")
        assert [r[4] for r in rows(table)] == ["-/1", "12/1"]  # SMS/mail: newest first
        await pilot.press("down")
        await wait_for(pilot, lambda: "SMS: queued 12 · e-mail: queued 1" in screen_text(app), what="detail")
        header = next(line for line in painted(app).splitlines() if "SMS/mail" in line)
        assert "Delivered" in header and "Ended" in header  # every column visible at 80 columns


async def test_an_email_reply_lands_in_the_same_inbox_marked_by_channel(sqlite_db, settings):
    info = seed(sqlite_db)
    aid = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Brand", actor=ACTOR)
    outbox.store_reply(sqlite_db, "+32470000000", "Gezien per sms")
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7")
        inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen) and app.screen)
        table = inbox.query_one("#replies", FitTable)
        await wait_for(pilot, lambda: table.row_count == 1, what="the SMS reply")
        with sqlite_db.write() as s:  # as the IMAP reader stores one: From address, linked to its alert
            s.add(
                Reply(source="onbekend.adres@example.be", alert_id=aid, text="[u]Gezien[/u] per mail", channel="email")
            )
        await wait_for(pilot, lambda: table.row_count == 2, what="the e-mail reply")
        mail, sms = rows(table)
        assert mail[1] == "o•••@example.be"  # unknown sender: masked address
        assert mail[3] == f"#{aid}" and mail[4] == "mail" and mail[6] == "[u]Gezien[/u] per mail"
        assert sms[1] == "[bold red]Jan[/]" and sms[4] == "SMS"
        await wait_for(pilot, lambda: "by SMS from +32 470 •• •• 00" in screen_text(app), what="SMS reply panel")
        await pilot.press("up")  # the cursor stayed on the reply it was on; up is the e-mail one
        await wait_for(pilot, lambda: "by mail from o•••@example.be" in screen_text(app), what="e-mail reply panel")
