"""Closing-message reminders: due after the configured time for urgent SMS alerts, gone once a
follow-up exists or a dispatcher dismisses it (audited), kept in the database (a restart, another
console see the same), counted on the status line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bin_console.data.engine import Database
from bin_console.data.models import Alert, AuditEntry, utcnow
from bin_console.data.schema import upgrade
from bin_console.widgets.status_line import render_status
from sqlalchemy import select, text, update
from test_alerts import ACTOR, add_members, make_network

from bin_console import alerts
from bin_console.app import BinConsoleApp, LinkStatus
from bin_console.cli import main
from bin_console.config import Settings
from bin_console.reminders import dismiss_reminder, due_reminders


def network(db):
    nid = make_network(db, "Kerkstraat")
    add_members(db, nid, [{"name": "An", "mobile": "+32470000001", "email": "an@example.be"}])
    return nid


def aged(db, alert_id, minutes):
    with db.write() as s:
        s.execute(update(Alert).where(Alert.id == alert_id).values(created_at=utcnow() - timedelta(minutes=minutes)))


def test_urgent_alert_is_due_after_the_configured_time_until_dismissed(db):
    nid = network(db)
    urgent = alerts.create_alert(db, network_ids=[nid], text="Inbraak", actor=ACTOR)
    alerts.create_alert(db, network_ids=[nid], text="Preventie", urgency="normal", actor=ACTOR)  # e-mail: none
    aged(db, urgent, 30)
    assert due_reminders(db, after_minutes=45) == []
    assert [r.alert_id for r in due_reminders(db, after_minutes=20)] == [urgent]
    aged(db, urgent, 50)
    (reminder,) = due_reminders(db, after_minutes=45)
    assert reminder.alert_id == urgent and reminder.text == "Inbraak"

    other_console = Database.from_url(db.url)  # another console (or a restart) on the same database
    try:
        assert [r.alert_id for r in due_reminders(other_console, after_minutes=45)] == [urgent]
        dismiss_reminder(other_console, urgent, ACTOR)
        dismiss_reminder(other_console, urgent, ACTOR)  # twice: one audit entry
    finally:
        other_console.dispose()
    assert due_reminders(db, after_minutes=45) == []
    with db.read() as s:
        entries = s.scalars(select(AuditEntry.object_ref).where(AuditEntry.action == "alert.reminder_dismissed")).all()
    assert entries == [f"alert:{urgent}"]


def test_cancelled_alerts_and_follow_ups_need_no_reminder(db):
    nid = network(db)
    cancelled = alerts.create_alert(db, network_ids=[nid], text="Vergissing", actor=ACTOR)
    alerts.cancel_alert(db, cancelled, ACTOR)
    original = alerts.create_alert(db, network_ids=[nid], text="Inbraak", actor=ACTOR)
    closing = alerts.create_alert(db, network_ids=[nid], text="Einde", actor=ACTOR, follow_up_of=original)
    for a in (cancelled, original, closing):
        aged(db, a, 60)
    assert due_reminders(db, after_minutes=45) == []


def test_status_line_counts_due_reminders(sqlite_db):
    nid = network(sqlite_db)
    aged(sqlite_db, alerts.create_alert(sqlite_db, network_ids=[nid], text="Inbraak", actor=ACTOR), 50)
    app = BinConsoleApp(Settings(db_url=str(sqlite_db.url), followup_reminder_minutes=45), sqlite_db, poll_status=False)
    status = app._read_status()
    assert status.reminders == 1
    assert "FOLLOW-UP DUE 1" in render_status(status).plain
    assert "FOLLOW-UP" not in render_status(LinkStatus(link="bound")).plain


def test_alerts_reminders_command_lists_and_dismisses(sqlite_db, tmp_path, capsys):
    nid = network(sqlite_db)
    aid = alerts.create_alert(sqlite_db, network_ids=[nid], text="Inbraak", actor=ACTOR)
    aged(sqlite_db, aid, 20)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[console]\nfollowup_reminder_minutes = 15\n")
    url = str(sqlite_db.engine.url)
    assert main(["--config", str(cfg), "--db", url, "alerts", "reminders"]) == 0
    assert f"{aid:>6}  sent" in capsys.readouterr().out
    assert main(["--db", url, "alerts", "reminders"]) == 0  # default 45 minutes: not yet
    assert "No follow-up due." in capsys.readouterr().out
    assert main(["--config", str(cfg), "--db", url, "alerts", "reminders", "--dismiss", str(aid)]) == 0
    assert main(["--config", str(cfg), "--db", url, "alerts", "reminders"]) == 0
    assert "No follow-up due." in capsys.readouterr().out


def test_upgrade_counts_alerts_sent_before_it_as_dismissed(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(db, "0007", backup=False)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO alert (created_at, created_by, host, text, urgency, encoding, parts_per_sms,"
                    " recipients, skipped_opt_out, skipped_no_address, skipped_left, skipped_duplicate, training)"
                    " VALUES ('2026-11-01 10:00:00.000000', 'old', '', 'Oud alarm', 'urgent', 'gsm7', 1,"
                    " 0, 0, 0, 0, 0, 0)"
                )
            )
        upgrade(db, backup=False)
        assert due_reminders(db, after_minutes=45) == []
    finally:
        db.dispose()


def test_the_reminder_time_must_be_positive(tmp_path):
    from bin_console.config import ConfigError, load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text("[console]\nfollowup_reminder_minutes = 0\n")
    with pytest.raises(ConfigError, match="followup_reminder_minutes"):
        load_settings(str(cfg), "sqlite:///x.db")
    assert Settings().followup_reminder_minutes == 45
