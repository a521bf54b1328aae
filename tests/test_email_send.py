"""The e-mail channel end to end: outbox -> EmailSender -> a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from collections import Counter

from bin_console.data.models import Delivery, SenderStatus
from mail_fixtures import email_of, make_email_network, smtp_settings, wait_until
from sqlalchemy import select

from bin_console.alerts.service import alert_progress, create_alert
from bin_console.channels.email.driver import EmailSender
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester", host="test")


def _send(db, net, text="Inbraak in de Kerkstraat, wees waakzaam", **kw):
    kw.setdefault("training", True)
    return create_alert(db, network_ids=[net], text=text, urgency="normal", actor=ACTOR, **kw)


def _run(db, settings, alert_id, timeout=30.0):
    sender = EmailSender(db, settings, password=None, poll_s=0.1)
    sender.start()
    try:
        return wait_until(
            lambda: (p := alert_progress(db, alert_id)).done and p, timeout, f"alert {alert_id} to finish"
        )
    finally:
        sender.stop()


def _deliveries(db, alert_id):
    with db.read() as s:
        return {d.address: d for d in s.scalars(select(Delivery).where(Delivery.alert_id == alert_id))}


def test_greylist_reject_and_drop_reach_everyone_once_and_the_reject_shows_the_reason(db, smtp_sim_factory):
    net = make_email_network(db, 12)
    sim = smtp_sim_factory(greylist=True, reject=(email_of(4),), drop_at=3)
    alert_id = _send(db, net)
    p = _run(db, smtp_settings(sim), alert_id)

    assert p.counts == {"submitted": 11, "failed": 1}
    assert p.failures == [("Lid 4", "l•••@example.be", "failed", p.failures[0][3])]
    assert p.failures[0][3].startswith("550 5.1.1") and "User unknown" in p.failures[0][3]
    rows = _deliveries(db, alert_id)
    assert rows[email_of(4)].error_code == 550
    copies = Counter(m["To"] for m in (r.message for r in sim.received))
    for i in range(12):
        if i != 4:
            assert copies[email_of(i)] >= 1, f"member {i} got nothing"
    # the message dropped after DATA (RFC 1047) went twice, with one Message-ID, and only it is flagged
    twice = [addr for addr, n in copies.items() if n > 1]
    assert len(twice) == 1
    assert [a for a, d in rows.items() if d.possible_duplicate] == twice
    ids = {m["Message-ID"] for m in sim.messages_for(twice[0])}
    assert len(ids) == 1 and ids.pop().startswith(f"<bin.{alert_id}.{rows[twice[0]].id}.")
    assert sim.messages_for(twice[0])[-1]["X-BIN-Resent"] == "possible duplicate"
    # greylisting answered 451 first: retried, counted as an attempt
    assert all(d.attempts >= 1 for a, d in rows.items() if a != email_of(4))


def test_each_message_has_one_recipient_and_the_headers_members_need(db, smtp_sim):
    net = make_email_network(db, 3, language="fr")
    alert_id = _send(db, net, text="Vol à la tire au marché\nSoyez vigilants.")
    _run(db, smtp_settings(smtp_sim, unsubscribe_url="https://bin.example/u/{token}"), alert_id)
    assert len(smtp_sim.received) == 3
    tokens = set()
    for mail in smtp_sim.received:
        m = mail.message
        assert len(mail.rcpt_tos) == 1 and m["To"] == mail.rcpt_tos[0]
        assert m["Cc"] is None and m["Bcc"] is None
        assert m["Subject"] == "Message RIL: Vol à la tire au marché"
        assert m["Content-Language"] == "fr" and m["Date"] and m["Reply-To"] == "antwoord@pz-test.be"
        assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url, mailto = (t.strip(" <>") for t in m["List-Unsubscribe"].split(","))
        token = url.rsplit("/", 1)[1]
        assert mailto == f"mailto:antwoord@pz-test.be?subject=unsubscribe%20{token}"
        assert len(token) >= 40
        tokens.add(token)
        assert "Soyez vigilants." in m.get_content()
    assert len(tokens) == 3  # one per member, never shared


def test_a_stall_after_data_is_flagged_and_sent_again(db, smtp_sim_factory):
    net = make_email_network(db, 3)
    sim = smtp_sim_factory(stall_at=1, stall_s=3.0)
    alert_id = _send(db, net)
    # the client's timeout is for every SMTP reply: 0.5 s could time out an unstalled one on a
    # loaded host (a second flagged duplicate); 1.5 s still ends the 3 s stall's wait
    p = _run(db, smtp_settings(sim, timeout=1.5), alert_id)
    assert p.counts == {"submitted": 3}
    assert p.possible_duplicates == 1
    assert sorted(Counter(m.rcpt_tos[0] for m in sim.received).values()) == [1, 1, 2]


def test_a_4xx_that_never_ends_fails_after_max_attempts_with_the_last_answer(db, smtp_sim_factory):
    net = make_email_network(db, 1)
    sim = smtp_sim_factory(greylist=True)  # a 451 to the first attempt; with max_attempts=1 it is the last
    alert_id = _send(db, net)
    p = _run(db, smtp_settings(sim, max_attempts=1), alert_id)
    assert p.counts == {"failed": 1}
    assert p.failures[0][3] == "gave up after 1 attempts: 451 4.7.1 Greylisted, please try again later"


def test_the_sender_writes_its_own_status_row(db, smtp_sim):
    sender = EmailSender(db, smtp_settings(smtp_sim), password=None, poll_s=0.1)
    sender.start()
    try:
        net = make_email_network(db, 1)
        _send(db, net)
        sender.wake()
        row = wait_until(lambda: _status(db, "bound"), 10, "status bound")
        assert row.training is True and "SMTP 127.0.0.1" in row.detail
    finally:
        sender.stop()
    assert _status(db, "stopped")


def _status(db, state):
    with db.read() as s:
        row = s.get(SenderStatus, "email")
        return row if row is not None and row.state == state else None


def test_a_training_sender_never_takes_a_real_alert(db, smtp_sim):
    net = make_email_network(db, 2)
    real = _send(db, net, training=False)
    training = _send(db, net, text="Oefenbericht", training=True)
    # the training alert is created after the real one: sent means the real one was passed over
    _run(db, smtp_settings(smtp_sim, training=True), training)
    assert smtp_sim.count == 2
    assert {m.message["Subject"] for m in smtp_sim.received} == {"BIN-bericht: Oefenbericht"}
    assert alert_progress(db, real).counts == {"queued": 2}
