"""The status line tells the whole truth (issue 8): the SMSC link and its learnt rate, the e-mail
sender, the IMAP reply reader and the queue over both channels, read from sender_status and the
outbox by the App's poll on a real database; and Ctrl+Q counts queued e-mail when this console sends it."""

from __future__ import annotations

from datetime import timedelta

from alert_ui_helpers import ACTOR, make_app, seed, settle, wait_for
from bin_console.data.models import SenderStatus, utcnow
from bin_console.screens.quit_confirm import QuitConfirmModal
from ui_helpers import screen_text

from bin_console.alerts import service as alerts


def status_rows(db, *rows: SenderStatus) -> None:
    with db.write() as s:
        for row in rows:
            s.merge(row)


def status_line(app) -> str:
    return screen_text(app).splitlines()[-2]


def queue_email(db, nid: int) -> int:
    """A non-urgent alert: one e-mail queued (the seed's one member with an address)."""
    return alerts.create_alert(db, network_ids=[nid], text="Vergadering", urgency="normal", actor=ACTOR, training=True)


async def test_status_line_shows_smsc_rate_mail_replies_and_both_queues_in_80_columns(sqlite_db, settings):
    info = seed(sqlite_db)
    alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Brand", actor=ACTOR, training=True)
    queue_email(sqlite_db, info["network_id"])
    status_rows(
        sqlite_db,
        SenderStatus(account="default", state="bound", detail="", rate_tps=98.4, updated_at=utcnow()),
        SenderStatus(account="email", state="reconnecting", detail="421 4.7.0 try later", updated_at=utcnow()),
        SenderStatus(account="imap", state="config_error", detail="[b]login failed[/b]", updated_at=utcnow()),
    )
    app = make_app(settings, sqlite_db, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.status.mail == "reconnecting", what="status polled")
        await settle(pilot)
        line = status_line(app)
        assert "SMSC bound 98/s" in line
        assert "queue 13 (mail 1)" in line  # 12 SMS + 1 e-mail, the e-mail part named
        assert "mail retrying" in line
        assert "IMAP OFF: [b" in line  # the reader's text literally, not markup; cut with … to fit
        assert len(line.rstrip()) <= 80
        assert app.status.link == "bound"  # the SMS link is not taken from the mail rows


async def test_a_dead_mail_sender_or_none_at_all_is_mail_off(sqlite_db, settings):
    info = seed(sqlite_db)
    queue_email(sqlite_db, info["network_id"])
    app = make_app(settings, sqlite_db, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.status.email_queue == 1, what="status polled")
        await settle(pilot)
        assert "MAIL OFF: no e-mail sender" in status_line(app)  # e-mail queued, nothing to send it
        old = utcnow() - timedelta(minutes=5)
        status_rows(sqlite_db, SenderStatus(account="email", state="bound", detail="", updated_at=old))
        await wait_for(pilot, lambda: app.status.mail_detail.startswith("no heartbeat"), what="stale row read")
        await settle(pilot)
        assert "MAIL OFF: no heartbeat" in status_line(app)
        # the words name the last heartbeat, not an age that changes (and repaints) every poll
        assert app.status.mail_detail == f"no heartbeat since {old.astimezone():%H:%M:%S}"
        status_rows(sqlite_db, SenderStatus(account="email", state="idle", detail="", updated_at=utcnow()))
        await wait_for(pilot, lambda: app.status.mail == "idle", what="fresh row read")
        await settle(pilot)
        assert "mail ok" in status_line(app)


async def test_ctrl_q_asks_while_email_is_queued_and_this_console_sends_it(sqlite_db, settings):
    info = seed(sqlite_db)
    queue_email(sqlite_db, info["network_id"])
    app = make_app(settings, sqlite_db, poll_status=True, email_sending=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.status.email_queue == 1, what="status polled")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="asks: e-mail queued")
        assert app.is_running


async def test_ctrl_q_quits_when_the_queued_email_is_another_process_s(sqlite_db, settings):
    info = seed(sqlite_db)
    queue_email(sqlite_db, info["network_id"])
    app = make_app(settings, sqlite_db, poll_status=True)  # no sender of either channel in this process
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.status.email_queue == 1, what="status polled")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="quit")
