"""The monitor with e-mail (issue 8): counts per channel, an e-mail 5xx shown with the server's code
and text and the masked address, the e-mail time to finish and the sender's state while e-mail is
queued. Real database; the App's status poll reads the e-mail sender's sender_status row."""

from __future__ import annotations

import dataclasses

from alert_ui_helpers import ACTOR, make_app, seed, wait_for
from bin_console.data.models import Delivery, SenderStatus, utcnow
from bin_console.screens.monitor import MonitorScreen
from bin_console.widgets.fit_table import FitTable
from sqlalchemy import update

from bin_console.alerts import service as alerts


def urgent_with_copy(db, nid: int) -> int:
    return alerts.create_alert(db, network_ids=[nid], text="Brand", actor=ACTOR, training=True, email_copy=True)


async def open_monitor(pilot, aid: int) -> MonitorScreen:
    app = pilot.app
    app.open_monitor(aid)
    monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
    await wait_for(pilot, lambda: monitor.progress is not None, what="progress")
    return monitor


async def test_monitor_counts_per_channel_and_shows_the_smtp_code_and_masked_address(sqlite_db, settings):
    info = seed(sqlite_db)
    aid = urgent_with_copy(sqlite_db, info["network_id"])
    with sqlite_db.write() as s:  # as the e-mail sender records a 5xx answer: code and server's text
        s.execute(
            update(Delivery)
            .where(Delivery.alert_id == aid, Delivery.channel == "email")
            .values(state="failed", error_code=550, error="5.1.1 <nm@example.be>: [b]no such user[/b]")
        )
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        monitor = await open_monitor(pilot, aid)
        assert "URGENT SMS + e-mail ·" in str(monitor.query_one("#title").render())
        channels = str(monitor.query_one("#channels").render())
        assert channels == "SMS 0/12 out, 0 failed · e-mail 1/1 out, 1 failed"
        row = [c.plain for c in monitor.query_one("#failures", FitTable).row_cells(0)]  # whole, uncut cells
        assert row[0] == "No Mobile"
        assert row[1] == "n•••@example.be"  # masked, never the whole address
        assert row[3] == "550 5.1.1 <nm@example.be>: [b]no such user[/b]"  # code + text, literally


async def test_monitor_shows_the_email_time_to_finish_and_the_sender_state_while_queued(sqlite_db, settings):
    info = seed(sqlite_db)
    aid = urgent_with_copy(sqlite_db, info["network_id"])
    with sqlite_db.write() as s:
        s.add(SenderStatus(account="email", state="reconnecting", detail="421 4.7.0 [i]later[/i]", updated_at=utcnow()))
    settings.smtp = dataclasses.replace(settings.smtp, max_per_minute=30)
    app = make_app(settings, sqlite_db, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.status.mail == "reconnecting", what="status polled")
        monitor = await open_monitor(pilot, aid)
        await wait_for(pilot, lambda: "reconnecting" in str(monitor.query_one("#channels").render()))
        lines = str(monitor.query_one("#channels").render()).splitlines()
        assert lines[0] == "SMS 0/12 out, 0 failed · e-mail 0/1 out, 0 failed"
        assert lines[1] == "e-mail to go: 1 e-mail at 30/min: under a minute"
        assert lines[2] == "e-mail sender: reconnecting - 421 4.7.0 [i]later[/i]"
