"""Inbox (replies as they arrive, opt-outs marked, mark handled) and History (past alerts)."""

from __future__ import annotations

from alert_ui_helpers import fix_alert_times, freeze_clock, make_app, screen_text, seed, settle, wait_for
from bin_console.data.models import Reply
from bin_console.screens.history import HistoryScreen
from bin_console.screens.inbox import InboxScreen
from bin_console.screens.monitor import MonitorScreen
from bin_console.widgets.fit_table import FitTable
from sqlalchemy import select

from bin_console.alerts import outbox
from bin_console.alerts import service as alerts
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101")


def rows(table: FitTable) -> list[list[str]]:
    """Whole cell values (a cell cut to its column ends in "…": tests/test_ui_tables.py)."""
    return [[c.plain for c in table.row_cells(i)] for i in range(table.row_count)]


async def test_reply_arrives_is_literal_and_marked_handled(sqlite_db, settings):
    info = seed(sqlite_db)
    aid = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Inbraak", actor=ACTOR)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7")
        inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen) and app.screen)
        table = inbox.query_one("#replies", FitTable)
        await settle(pilot)
        assert table.row_count == 0
        # replies arrive while the inbox is open (the sender stores them; the screen re-reads)
        outbox.store_reply(sqlite_db, "+32470000000", "Gezien! [bold]man[/] liep naar \x1b[2Jstation")
        outbox.store_reply(sqlite_db, "+32490111222", "wie is dit?")
        await wait_for(pilot, lambda: table.row_count == 2, what="replies shown")
        newest, first = rows(table)
        assert newest[1] != "+32490111222" and newest[1].endswith("22")  # unknown sender: masked number
        assert first[1] == "[bold red]Jan[/]"  # member name literal
        assert first[3] == f"#{aid}"
        assert "[bold]man[/]" in first[6] and "\x1b" not in first[6]
        outbox.store_reply(sqlite_db, "+32470000001", "STOP")
        await wait_for(pilot, lambda: table.row_count == 3)
        assert rows(table)[0][5] == "opted out" and rows(table)[0][6] == "STOP"  # opt-out marked
        assert rows(table)[0][1] == "Peeters [/]"

        # the cursor stays on the reply it was on while new ones arrive above it
        assert table.cursor_row == 1  # still on "wie is dit?"
        # the panel under the table shows the highlighted reply itself first, whole
        await pilot.press("down")
        await wait_for(pilot, lambda: "Jan[/]: Gezien! [bold]man[/] liep naar" in screen_text(app), what="reply panel")
        await pilot.press("up")
        await pilot.press("up", "enter")  # mark the newest handled
        await wait_for(pilot, lambda: rows(table)[0][5] == "handled", what="handled mark")
        with sqlite_db.read() as s:
            handled = s.scalars(select(Reply).where(Reply.handled)).all()
        assert [r.text for r in handled] == ["STOP"] and handled[0].handled_by

        await pilot.press("ctrl+u")  # unhandled only
        await wait_for(pilot, lambda: table.row_count == 2)
        assert all(r[5] != "handled" for r in rows(table))


async def test_history_lists_alerts_and_enter_opens_monitor(sqlite_db, settings):
    info = seed(sqlite_db)
    a1 = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Eerste [b]alarm[/b]", actor=ACTOR)
    a2 = alerts.create_alert(
        sqlite_db, network_ids=[info["network_id"]], text="Tweede alarm", urgency="normal", actor=ACTOR
    )
    alerts.cancel_alert(sqlite_db, a1, ACTOR)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f8")
        hist = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen)
        table = hist.query_one("#alerts", FitTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        r = rows(table)
        assert r[0][0] == str(a2) and r[1][0] == str(a1)
        assert r[1][3] == "Eerste [b]alarm[/b]" and r[1][4] == "12/-" and r[0][4] == "-/1" and r[1][5] == "0/12"
        assert "cancel" in r[1][7].lower()
        assert "BIN Kerkwijk" in r[1][2]
        detail = str(hist.query_one("#alert-detail").render())
        assert "disp1@10.1.2.3" in detail and "non-urgent e-mail" in detail  # newest highlighted
        await pilot.press("down", "enter")
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.progress is not None)
        assert monitor.alert_id == a1


def test_snapshot_inbox_and_history(snap_compare, sqlite_db, settings, monkeypatch):
    freeze_clock(monkeypatch)
    info = seed(sqlite_db)
    alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Eerste [b]alarm[/b]", actor=ACTOR)
    fix_alert_times(sqlite_db)
    outbox.store_reply(sqlite_db, "+32470000000", "Gezien! [bold]man[/] liep naar \x1b[2Jstation")
    with sqlite_db.write() as s:
        from datetime import UTC, datetime

        from sqlalchemy import update

        s.execute(update(Reply).values(received_at=datetime(2026, 3, 2, 8, 5, tzinfo=UTC)))
    app = make_app(settings, sqlite_db)

    async def run_before(pilot):
        await pilot.press("f7")
        inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen) and app.screen)
        await wait_for(pilot, lambda: inbox.rows)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))


def test_snapshot_history(snap_compare, sqlite_db, settings, monkeypatch):
    freeze_clock(monkeypatch)
    info = seed(sqlite_db)
    a1 = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Eerste [b]alarm[/b]", actor=ACTOR)
    alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Tweede", urgency="normal", actor=ACTOR)
    alerts.cancel_alert(sqlite_db, a1, ACTOR)
    fix_alert_times(sqlite_db)
    app = make_app(settings, sqlite_db)

    async def run_before(pilot):
        await pilot.press("f8")
        hist = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen)
        await wait_for(pilot, lambda: hist.rows)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))
