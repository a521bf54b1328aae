"""History shows threads (a follow-up under its original), marks the alerts whose closing message is
due, dismisses a reminder with Ctrl+D (audited; the status line's count goes down) and composes a
follow-up with Ctrl+F. Pilot keys only, real SQLite."""

from __future__ import annotations

from datetime import timedelta

from alert_ui_helpers import make_app, seed, wait_for
from bin_console.data.models import Alert, AuditEntry, utcnow
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.history import HistoryScreen, threaded
from bin_console.widgets.fit_table import FitTable
from bin_console.widgets.status_line import StatusLine
from sqlalchemy import select, update
from ui_helpers import target_ids

from bin_console.alerts import service as alerts
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101")


def rows(table: FitTable) -> list[list[str]]:
    return [[c.plain for c in table.row_cells(i)] for i in range(table.row_count)]


def aged(db, alert_id: int, minutes: int) -> None:
    with db.write() as s:
        s.execute(update(Alert).where(Alert.id == alert_id).values(created_at=utcnow() - timedelta(minutes=minutes)))


def status_text(app) -> str:
    return app.screen.query_one(StatusLine)._shown.plain


async def open_history(pilot) -> HistoryScreen:
    app = pilot.app
    await pilot.press("f8")
    hist = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen, what="history")
    await wait_for(pilot, lambda: hist.rows, what="alerts")
    return hist


async def test_follow_up_is_listed_under_its_original(sqlite_db, settings):
    nid = seed(sqlite_db)["network_id"]
    first = alerts.create_alert(sqlite_db, network_ids=[nid], text="Inbraak Kerkstraat", actor=ACTOR)
    other = alerts.create_alert(sqlite_db, network_ids=[nid], text="Brand Molenstraat", actor=ACTOR)
    closing = alerts.create_alert(sqlite_db, network_ids=[nid], text="Alles veilig", actor=ACTOR, follow_up_of=first)
    aged(sqlite_db, first, 90)
    aged(sqlite_db, other, 60)
    aged(sqlite_db, closing, 30)  # the newest, yet shown under its (oldest) original
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        hist = await open_history(pilot)
        table = hist.query_one("#alerts", FitTable)
        shown = rows(table)
        assert [r[0] for r in shown] == [str(other), str(first), str(closing)]
        assert shown[2][3].startswith("└ ") and "Alles veilig" in shown[2][3]
        assert not shown[0][3].startswith("└") and not shown[1][3].startswith("└")
        await pilot.press("down", "down")
        detail = hist.query_one("#alert-detail").render().plain
        assert f"follow-up of #{first}" in detail
        await pilot.press("up")
        detail = hist.query_one("#alert-detail").render().plain
        assert f"followed up by #{closing}" in detail


def test_threaded_keeps_every_row_once():
    from datetime import UTC, datetime

    def row(i, of=None, minute=0):
        t = datetime(2026, 3, 2, 8, minute, tzinfo=UTC)
        return alerts.AlertRow(i, t, "u", None, "h", [], f"t{i}", "urgent", None, False, 1, follow_up_of=of)

    page = [row(5, of=1, minute=5), row(4, of=2, minute=4), row(3, minute=3), row(2, minute=2)]  # 1: older page
    order = [(r.id, depth) for r, depth in threaded(page)]
    assert order == [(5, 1), (3, 0), (2, 0), (4, 1)]


async def test_due_reminder_is_marked_and_ctrl_d_dismisses_it(sqlite_db, settings):
    nid = seed(sqlite_db)["network_id"]
    due = alerts.create_alert(sqlite_db, network_ids=[nid], text="Inbraak Kerkstraat", actor=ACTOR)
    recent = alerts.create_alert(sqlite_db, network_ids=[nid], text="Verdacht voertuig", actor=ACTOR)
    aged(sqlite_db, due, 50)  # past the 45 minutes
    aged(sqlite_db, recent, 10)
    app = make_app(settings, sqlite_db, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        hist = await open_history(pilot)
        table = hist.query_one("#alerts", FitTable)
        await wait_for(pilot, lambda: "FOLLOW-UP DUE 1" in status_text(app), what="status count 1")
        shown = rows(table)
        assert [r[0] for r in shown] == [str(recent), str(due)]
        assert shown[1][7] == "DUE" and shown[0][7] != "DUE"

        await pilot.press("ctrl+d")  # the newest is highlighted: no reminder is due for it
        await pilot.pause()
        with sqlite_db.read() as s:
            assert s.scalar(select(Alert.reminder_dismissed_at).where(Alert.id == recent)) is None
        assert "No closing message is due" in "\n".join(str(n.message) for n in app._notifications)

        await pilot.press("down")
        assert "Closing message due since" in hist.query_one("#alert-detail").render().plain
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: rows(table)[1][7] != "DUE", what="marker gone")
        await wait_for(pilot, lambda: "FOLLOW-UP" not in status_text(app), what="status count down")
        with sqlite_db.read() as s:
            dismissed = s.scalar(select(Alert.reminder_dismissed_by).where(Alert.id == due))
            audited = s.scalars(
                select(AuditEntry.object_ref).where(AuditEntry.action == "alert.reminder_dismissed")
            ).all()
        assert dismissed == app.actor.label()[:64]  # who dismissed it: the dispatcher at this console
        assert audited == [f"alert:{due}"]
        assert "Closing message due" not in hist.query_one("#alert-detail").render().plain


async def test_ctrl_f_composes_a_follow_up_to_the_original_networks(sqlite_db, settings):
    info = seed(sqlite_db, extra_network="BIN Molenwijk")
    kerk, molen = info["network_ids"]
    original = alerts.create_alert(sqlite_db, network_ids=[molen], text="Inbraak Molenstraat", actor=ACTOR)
    alerts.create_alert(sqlite_db, network_ids=[kerk], text="Brand Kerkstraat", actor=ACTOR)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        hist = await open_history(pilot)
        await pilot.press("down")  # the older alert, to Molenwijk
        assert hist.highlighted().id == original
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="compose")
        assert target_ids(app) == [molen]


async def test_the_highlight_stays_on_its_alert_when_a_new_one_arrives(sqlite_db, settings):
    """The poll kept the cursor by row number: an alert sent from another console shifted the rows
    and Ctrl+D / Ctrl+F then acted on a different alert than the one the dispatcher had chosen."""
    nid = seed(sqlite_db)["network_id"]
    older = alerts.create_alert(sqlite_db, network_ids=[nid], text="Inbraak Kerkstraat", actor=ACTOR)
    newer = alerts.create_alert(sqlite_db, network_ids=[nid], text="Brand Molenstraat", actor=ACTOR)
    aged(sqlite_db, older, 60)
    aged(sqlite_db, newer, 30)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        hist = await open_history(pilot)
        await pilot.press("down")
        assert hist.highlighted().id == older
        another = alerts.create_alert(sqlite_db, network_ids=[nid], text="Verdachte wagen", actor=ACTOR)
        hist.refresh_alerts()
        await wait_for(pilot, lambda: any(r.id == another for r in hist.rows), what="the new alert")
        assert hist.highlighted().id == older
