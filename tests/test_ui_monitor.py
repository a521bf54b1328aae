"""Delivery monitor: counts per state, failures shown literally, cancel only after a confirm."""

from __future__ import annotations

from alert_ui_helpers import fix_alert_times, freeze_clock, make_app, seed, settle, wait_for
from bin_console.data.models import Delivery, Member
from bin_console.screens.confirm import ConfirmActionModal
from bin_console.screens.monitor import MonitorScreen, RateMeter
from bin_console.widgets.fit_table import FitTable
from bin_console.widgets.rate_sparkline import spark
from sqlalchemy import select, update

from bin_console import alerts
from bin_console.actor import Actor

ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101")


def make_alert(db, nid: int) -> int:
    aid = alerts.create_alert(db, network_ids=[nid], text="Inbraak Kerkstraat", actor=ACTOR, training=True)
    with db.write() as s:
        jan = s.scalar(select(Member.id).where(Member.name == "[bold red]Jan[/]"))
        s.execute(
            update(Delivery)
            .where(Delivery.alert_id == aid, Delivery.member_id == jan)
            .values(state="rejected", error="[link=http://x]invalid[/link] destination", error_code=0x0B)
        )
    return aid


async def test_f6_shows_latest_alert_with_literal_failures_and_cancel_confirmed(sqlite_db, settings):
    info = seed(sqlite_db)
    aid = make_alert(sqlite_db, info["network_id"])
    # The App's status poller (not the monitor) clears app.sending once nothing is queued.
    app = make_app(settings, sqlite_db, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        app.mark_sending()
        await pilot.press("f6")
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.progress is not None, what="progress")
        assert monitor.alert_id == aid
        assert monitor.progress.counts == {"queued": 11, "rejected": 1}
        table = monitor.query_one("#failures", FitTable)
        row = [c.plain for c in table.row_cells(0)]  # whole values; a cut one ends in "…"
        assert row[0] == "[bold red]Jan[/]"  # literal, never markup
        assert row[1].startswith("+32") and "0000000" not in row[1]  # masked
        assert row[3] == "[link=http://x]invalid[/link] destination"
        assert "sending 1/12" in str(monitor.query_one("#rate").render())
        assert app.sending is True  # 11 still queued

        await pilot.press("escape")  # Escape never cancels anything
        await settle(pilot)
        assert alerts.alert_progress(sqlite_db, aid).counts["queued"] == 11

        await pilot.press("f6", "ctrl+x")
        modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmActionModal) and app.screen)
        assert app.focused.id == "no"
        await wait_for(pilot, lambda: modal.armed_at is not None)
        await pilot.press("f5")
        monitor = app.screen
        await wait_for(pilot, lambda: monitor.progress and monitor.progress.counts.get("cancelled") == 11)
        assert monitor.progress.done
        await wait_for(pilot, lambda: app.sending is False, what="sending cleared")
        assert "complete" in str(monitor.query_one("#rate").render())


async def test_cancel_modal_enter_keeps_sending(sqlite_db, settings):
    info = seed(sqlite_db)
    aid = make_alert(sqlite_db, info["network_id"])
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_monitor(aid)
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.progress is not None)
        await pilot.press("ctrl+x")
        modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmActionModal) and app.screen)
        await wait_for(pilot, lambda: modal.armed_at is not None)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is monitor
        assert alerts.alert_progress(sqlite_db, aid).counts["queued"] == 11


def test_rate_meter_and_ascii_sparkline():
    m = RateMeter(window=5.0)
    assert m.add(0.0, 0) == 0.0
    assert m.add(1.0, 10) == 10.0
    assert m.add(2.0, 30) == 15.0
    line = spark([0, 5, 10], 3, ascii=True)
    assert line == " =█"
    assert all(ch in " .:-=+*#█" for ch in spark([1, 2, 3, 4, 5, 6, 7, 8, 9], 9, ascii=True))
    assert spark([0, 1], 2)[1] == "█"
    assert spark([3.0], 4, ascii=True) == "   █"  # padded: newest value at the right edge


def test_snapshot_monitor(snap_compare, sqlite_db, settings, monkeypatch):
    freeze_clock(monkeypatch)
    info = seed(sqlite_db)
    aid = make_alert(sqlite_db, info["network_id"])
    fix_alert_times(sqlite_db)
    app = make_app(settings, sqlite_db)

    async def run_before(pilot):
        app.open_monitor(aid)
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.progress is not None)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))
