"""A pace slot further away than the lease never lets a row go out twice (review finding #16).

The pace is 20/min (a slot every 3 s) and the lease 1.2 s: a session waiting for its slot must
keep renewing its lease meanwhile, and must not send a row its renewal did not return.
Real aiosmtpd, real SQLite.
"""

from __future__ import annotations

from collections import Counter

from bin_console.data.models import Delivery
from mail_fixtures import email_of, make_email_network, smtp_settings, wait_until
from sqlalchemy import select, update
from test_email_send import _send

from bin_console.alerts.service import alert_progress
from bin_console.channels.email.driver import EmailSender

LEASE_S = 1.2
SLOW = {"max_per_minute": 20}  # a slot every 3 s: more than two leases


def test_two_senders_and_a_pace_slot_longer_than_the_lease_send_each_mail_once(sqlite_db, smtp_sim):
    """Before, a session slept in Pacer.wait holding a row whose lease ran out meanwhile: the
    other sender's claim took it back and both sent it."""
    db = sqlite_db
    net = make_email_network(db, 3)  # one each, then the third waits 3 s while the other sender polls
    alert_id = _send(db, net)
    cfg = smtp_settings(smtp_sim, **SLOW)
    senders = [EmailSender(db, cfg, password=None, poll_s=0.1, lease_s=LEASE_S) for _ in range(2)]
    for sender in senders:
        sender.start()
    try:
        p = wait_until(lambda: (p := alert_progress(db, alert_id)).done and p, 30, "the alert to finish")
    finally:
        for sender in senders:
            sender.stop()
    assert p.counts == {"submitted": 3}
    copies = Counter(m.rcpt_tos[0] for m in smtp_sim.received)
    assert copies == Counter({email_of(i): 1 for i in range(3)})


def test_a_row_the_lease_renewal_does_not_return_is_never_sent(sqlite_db, smtp_sim):
    """While the session waits for the slot of its second row, that row is taken by another
    sender (as the reaper and a claim elsewhere would): the renewal does not return it, so it
    is dropped, and the session's next message is the third member's."""
    db = sqlite_db
    net = make_email_network(db, 3)
    alert_id = _send(db, net)
    sender = EmailSender(db, smtp_settings(smtp_sim, **SLOW), password=None, poll_s=0.1, lease_s=LEASE_S)
    sender.start()
    try:
        wait_until(lambda: smtp_sim.count >= 1, 10, "the first e-mail")

        def held_second():
            with db.read() as s:
                return s.scalar(
                    select(Delivery.id).where(
                        Delivery.alert_id == alert_id,
                        Delivery.address == email_of(1),
                        Delivery.claimed_by == sender.owner,
                    )
                )

        second = wait_until(held_second, 5, "the second row claimed while its slot is 3 s away")
        with db.write() as s:  # now another sender's
            s.execute(update(Delivery).where(Delivery.id == second).values(claimed_by="other-sender"))
        wait_until(lambda: smtp_sim.count >= 2, 10, "the next e-mail")
        assert [m.rcpt_tos[0] for m in smtp_sim.received] == [email_of(0), email_of(2)]
        with db.write() as s:  # the other sender gives it back: then it goes, once
            s.execute(
                update(Delivery)
                .where(Delivery.id == second)
                .values(claimed_by=None, state="queued", lease_until=None, submitted_at=None)
            )
        sender.wake()
        p = wait_until(lambda: (p := alert_progress(db, alert_id)).done and p, 15, "the alert to finish")
    finally:
        sender.stop()
    assert p.counts == {"submitted": 3}
    assert sorted(m.rcpt_tos[0] for m in smtp_sim.received) == [email_of(i) for i in range(3)]
