"""One message that cannot be built or sent is that delivery's Failure; a failing session restarts.

Real aiosmtpd and SQLite; the unexpected exceptions (there is no real part that raises them) are
injected with monkeypatch into the one function named.
"""

from __future__ import annotations

import smtplib
import threading
import time

from bin_console.data.models import Delivery, Member, SenderStatus
from bin_console.widgets.status_line import _channel
from mail_fixtures import email_of, make_email_network, smtp_settings, wait_until
from rich.text import Text
from sqlalchemy import select, update
from test_email_send import _send

from bin_console.alerts.service import alert_progress
from bin_console.app import _channel_state
from bin_console.channels.email import driver as email_driver
from bin_console.channels.email.driver import EmailSender
from bin_console.channels.email.message import MessageTemplate

IDN = "lid0@café.be"  # as an older import stored an internationalised domain


def _deliveries(db, alert_id):
    with db.read() as s:
        return {d.address: d for d in s.scalars(select(Delivery).where(Delivery.alert_id == alert_id))}


def test_a_non_ascii_address_fails_alone_and_the_others_go(sqlite_db, smtp_sim):
    """smtplib raises UnicodeEncodeError (neither SMTPException nor OSError) for it: before, the
    session thread died and no e-mail went out any more while the status said all was well."""
    db = sqlite_db
    net = make_email_network(db, 4)
    with db.write() as s:
        s.execute(update(Member).where(Member.email == email_of(0)).values(email=IDN))
    alert_id = _send(db, net)
    sender = EmailSender(db, smtp_settings(smtp_sim), password=None, poll_s=0.1)
    sender.start()
    try:
        p = wait_until(lambda: (p := alert_progress(db, alert_id)).done and p, 15, "the alert to finish")
        assert sender.running
    finally:
        sender.stop()
    assert p.counts == {"submitted": 3, "failed": 1}
    assert sorted(m.rcpt_tos[0] for m in smtp_sim.received) == [email_of(i) for i in (1, 2, 3)]
    bad = _deliveries(db, alert_id)[IDN]
    assert bad.state == "failed" and "non-ASCII" in (bad.error or "")


def test_an_unexpected_error_building_one_message_fails_that_delivery_only(sqlite_db, smtp_sim, monkeypatch):
    db = sqlite_db
    net = make_email_network(db, 4)
    alert_id = _send(db, net)
    render = MessageTemplate.render

    def broken(self, *, to_addr, **kw):
        if to_addr == email_of(2):
            raise KeyError("boom")
        return render(self, to_addr=to_addr, **kw)

    monkeypatch.setattr(MessageTemplate, "render", broken)
    sender = EmailSender(db, smtp_settings(smtp_sim), password=None, poll_s=0.1)
    sender.start()
    try:
        p = wait_until(lambda: (p := alert_progress(db, alert_id)).done and p, 15, "the alert to finish")
    finally:
        sender.stop()
    assert p.counts == {"submitted": 3, "failed": 1}
    bad = _deliveries(db, alert_id)[email_of(2)]
    assert bad.state == "failed" and "KeyError" in (bad.error or "")


def test_an_unexpected_error_in_the_session_loop_says_error_and_restarts(sqlite_db, smtp_sim, monkeypatch):
    """Before, the session thread ended silently (the heartbeat kept the status fresh)."""
    db = sqlite_db
    net = make_email_network(db, 5)
    alert_id = _send(db, net)
    real = EmailSender._next_chunk
    calls = {"n": 0}

    def once_broken(self, held):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected")
        return real(self, held)

    monkeypatch.setattr(EmailSender, "_next_chunk", once_broken)
    monkeypatch.setattr(email_driver.EmailSender, "_backoff", lambda self, failures: 1.0)
    seen: list[str] = []
    read = threading.Event()  # the test has read the status row
    sender = EmailSender(db, smtp_settings(smtp_sim), password=None, poll_s=0.1)
    set_state = sender._set_state

    def spy(state, detail):  # every state the sender writes to its status row
        set_state(state, detail)
        seen.append(f"{state} {detail}")
        if state == "error":  # the restart (1 s later) says "idle": held until the test has read the row
            read.wait(30)

    monkeypatch.setattr(sender, "_set_state", spy)
    sender.start()
    try:
        wait_until(lambda: any(x.startswith("error ") for x in seen), 10, "the error status")
        with db.read() as s:
            row = s.get(SenderStatus, "email")
            assert row is not None and row.state == "error" and "RuntimeError: injected" in row.detail
        read.set()
        p = wait_until(lambda: (p := alert_progress(db, alert_id)).done and p, 15, "the restarted session to send")
        assert sender.running
    finally:
        read.set()
        sender.stop()
    assert p.counts == {"submitted": 5}
    assert sorted(m.rcpt_tos[0] for m in smtp_sim.received) == sorted(email_of(i) for i in range(5))


def test_an_error_after_the_message_went_into_data_retries_it_flagged_never_fails_it(sqlite_db, smtp_sim, monkeypatch):
    """The relay has the whole message, then the client fails before reading its 250 with an
    error that is neither SMTPException nor OSError: the message may be in. Before, the delivery
    was failed at once (the member never got it as far as the console knew); now it is retried like
    a 4xx and flagged a possible duplicate, and its second copy says so (X-BIN-Resent)."""
    db = sqlite_db
    net = make_email_network(db, 4)
    alert_id = _send(db, net)
    real_data = smtplib.SMTP.data
    hit = {"n": 0}

    def data_then_fail(self, msg):
        answer = real_data(self, msg)  # the relay stored it and answered 250
        if email_of(2).encode() in msg and hit["n"] == 0:
            hit["n"] += 1
            raise RuntimeError("injected after the final dot")
        return answer

    monkeypatch.setattr(smtplib.SMTP, "data", data_then_fail)
    sender = EmailSender(db, smtp_settings(smtp_sim), password=None, poll_s=0.1)
    sender.start()
    try:
        p = wait_until(lambda: (p := alert_progress(db, alert_id)).done and p, 20, "the alert to finish")
    finally:
        sender.stop()
    assert hit["n"] == 1
    assert p.counts == {"submitted": 4}
    flagged = _deliveries(db, alert_id)[email_of(2)]
    assert flagged.possible_duplicate and flagged.attempts == 1  # the attempt without an answer
    copies = [m for m in smtp_sim.received if list(m.rcpt_tos) == [email_of(2)]]
    assert len(copies) == 2
    assert "X-BIN-Resent" not in copies[0].message and "X-BIN-Resent" in copies[1].message
    assert all(not d.possible_duplicate for a, d in _deliveries(db, alert_id).items() if a != email_of(2))


def test_writes_failing_for_long_show_in_the_e_mail_senders_status(sqlite_db, smtp_sim):
    """The e-mail writer retried a failing batch silently: every console's status line said
    "mail ok" while nothing could be stored (and so nothing more was sent). Real SQLite failure."""
    from sqlalchemy import text

    db = sqlite_db
    net = make_email_network(db, 3)
    sender = EmailSender(db, smtp_settings(smtp_sim), password=None, poll_s=0.1, heartbeat_s=0.5)
    sender.start()

    def detail() -> str:
        with db.read() as s:
            row = s.get(SenderStatus, "email")
            return row.detail if row is not None else ""

    try:
        wait_until(lambda: sender.state in ("idle", "bound"), 10, "the sender to be up")
        with db.write() as s:  # the answers cannot be stored
            s.execute(text("CREATE TRIGGER nope BEFORE INSERT ON delivery_part BEGIN SELECT RAISE(ABORT, 'x'); END"))
        alert_id = _send(db, net)
        sender.wake()
        wait_until(lambda: "database writes failing" in detail(), 20, "the status to say so")
        time.sleep(1.2)  # heartbeats go on meanwhile: they keep saying it
        assert "database writes failing" in detail()
        # and what every console's status line shows from that row: not "mail ok"
        with db.read() as s:
            shown = Text()
            _channel(shown, "mail ok", "mail retrying", "MAIL OFF", *_channel_state(s.get(SenderStatus, "email")))
        assert "MAIL OFF: database writes" in shown.plain, shown.plain
        with db.write() as s:
            s.execute(text("DROP TRIGGER nope"))
        p = wait_until(lambda: (p := alert_progress(db, alert_id)).done and p, 20, "the alert to finish")
        wait_until(lambda: "database writes failing" not in detail(), 10, "the status to clear")
    finally:
        sender.stop()
    assert p.counts == {"submitted": 3}
