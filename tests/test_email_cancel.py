"""Cancelling an e-mail alert stops the mails a session has already claimed (real aiosmtpd, real SQLite)."""

from __future__ import annotations

from collections import Counter

from bin_console.data.models import Delivery
from mail_fixtures import make_email_network, smtp_settings, wait_until
from sqlalchemy import select
from test_email_send import _send

from bin_console.alerts.service import alert_progress, cancel_alert
from bin_console.channels.email.driver import MARK_CHUNK, EmailSender
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester", host="test")
N = 120


def test_cancel_drops_the_rows_a_session_holds(sqlite_db, smtp_sim_factory):
    """One session claims the whole alert (120 < one batch of 128) and stalls on the second message; the
    cancel lands during the stall. cancel_alert closes only 'queued' rows: the held ones must be
    dropped by the sender itself. At most what was already marked on the wire (a chunk and a half)
    may still go; before, all 120 went."""
    db = sqlite_db
    sim = smtp_sim_factory(stall_at=2, stall_s=1.5)
    net = make_email_network(db, N)
    alert_id = _send(db, net, text="Fout bericht")
    sender = EmailSender(db, smtp_settings(sim), password=None, poll_s=0.1)
    sender.start()
    try:
        wait_until(lambda: sim.count >= 2, 20, "the stalled second e-mail")
        at_cancel = sim.count
        cancel_alert(db, alert_id, ACTOR)
        p = wait_until(lambda: (p := alert_progress(db, alert_id)).done and p, 30, "the alert to settle")
    finally:
        sender.stop()
    after = sim.count - at_cancel
    assert after <= MARK_CHUNK + MARK_CHUNK // 2, f"{after} e-mails sent after the cancel"
    with db.read() as s:
        states = Counter(s.scalars(select(Delivery.state).where(Delivery.alert_id == alert_id)))
    assert states["submitted"] == sim.count  # what went is recorded as sent, nothing twice
    assert states["cancelled"] == N - sim.count > 0  # the rest closed as cancelled, not left held
    assert p.counts == dict(states)
