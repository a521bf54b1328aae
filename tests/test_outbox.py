"""Outbox claims and state changes on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from bin_console.data.models import Alert, Delivery, utcnow
from sender_helpers import ACTOR, alert, make_network, states, tx
from sqlalchemy import select, update

from bin_console.alerts import outbox
from bin_console.alerts.service import cancel_alert


def test_two_claimers_never_get_the_same_row(db):
    net = make_network(db, 600)
    alert(db, net, "Inbraak gemeld")
    got: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            while True:
                items = tx(db, outbox.claim, f"host:{name}", 7, 60)
                if not items:
                    return
                got[name].extend(i.delivery_id for i in items)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    a, b = set(got["a"]), set(got["b"])
    assert not (a & b)
    assert len(a | b) == 600 == len(got["a"]) + len(got["b"])
    assert states(db) == {"submitting": 600}


def test_claim_sets_lease_and_attempts_and_builds_parts(db):
    net = make_network(db, 2)
    alert(db, net, "x" * 200, sender="ZONE5415")  # 2 GSM-7 parts
    items = tx(db, outbox.claim, "h:1", 10, 30)
    assert [(i.channel, i.parts_total, i.text, i.language) for i in items] == [("sms", 2, "x" * 200, "nl")] * 2
    it = items[0]
    assert it.address == "+32470000000" and it.concat_ref is not None
    assert it.sender == "ZONE5415" and it.urgent and it.expires_at is not None
    with db.read() as s:
        d = s.get(Delivery, it.delivery_id)
    # attempts counts SMSC error answers only; the item carries "this one" on top
    assert (d.state, d.claimed_by, d.attempts, d.concat_ref) == ("submitting", "h:1", 0, it.concat_ref)
    assert it.attempts == 1
    assert d.lease_until > utcnow()


def test_concat_ref_unique_per_destination_in_flight_and_kept_on_resend(db):
    net = make_network(db, 1)
    alert(db, net, "a" * 200)
    alert(db, net, "b" * 200)
    first, second = tx(db, outbox.claim, "h:1", 10, 30)
    assert first.address == second.address and first.concat_ref != second.concat_ref
    tx(db, outbox.release, "h:1", [first.delivery_id], possible_duplicate=True)
    again = tx(db, outbox.claim, "h:2", 10, 30)
    assert [(i.delivery_id, i.concat_ref, i.possible_duplicate) for i in again] == [
        (first.delivery_id, first.concat_ref, True)
    ]


def test_expired_rows_are_never_claimed(db):
    net = make_network(db, 5)
    a = alert(db, net, "Te laat")
    with db.write() as s:
        s.execute(update(Alert).where(Alert.id == a).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert tx(db, outbox.claim, "h:1", 10, 30) == []
    with db.read() as s:
        rows = s.execute(select(Delivery.state, Delivery.error).where(Delivery.alert_id == a)).all()
    assert rows == [("expired", outbox.EXPIRED_REASON)] * 5


def test_acked_parts_are_never_resent(db):
    net = make_network(db, 1)
    alert(db, net, "z" * 400)  # 3 parts
    (it,) = tx(db, outbox.claim, "h:1", 10, 30)
    with db.write() as s:
        outbox.mark_on_wire(s, "h:1", [it.delivery_id])
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(it.delivery_id, 1, "A1"), outbox.Ack(it.delivery_id, 3, "A3")])
    assert tx(db, outbox.recover, "h:1") == 1
    (again,) = tx(db, outbox.claim, "h:1", 10, 30)
    assert again.acked_parts == {1, 3} and again.parts_to_send() == [2] and again.possible_duplicate
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(it.delivery_id, 2, "A2")])
    with db.read() as s:
        d = s.get(Delivery, it.delivery_id)
    assert (d.state, d.parts_acked, d.claimed_by) == ("submitted", 3, None)


def test_recover_flags_only_rows_that_may_have_gone_out(db):
    net = make_network(db, 4)
    alert(db, net, "Herstel")
    items = tx(db, outbox.claim, "h:1", 10, 30)
    with db.write() as s:
        outbox.mark_on_wire(s, "h:1", [items[0].delivery_id, items[1].delivery_id])
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(items[1].delivery_id, 1, "M1")])  # accepted: not ambiguous
    assert tx(db, outbox.recover, "h:1") == 3
    with db.read() as s:
        rows = dict(s.execute(select(Delivery.id, Delivery.possible_duplicate)).all())
        st = dict(s.execute(select(Delivery.id, Delivery.state)).all())
    assert rows[items[0].delivery_id] is True
    assert not rows[items[2].delivery_id] and not rows[items[3].delivery_id]
    assert st[items[1].delivery_id] == "submitted"


def test_claim_marks_only_the_first_parts_and_a_crash_flags_only_those(db):
    """claim(mark_parts=N): the marker of the first rows (parts to send adding up to N) is in the
    claim's commit; a crash right after flags those rows and no other."""
    net = make_network(db, 6)
    alert(db, net, "z" * 200)  # 2 parts each
    items = tx(db, outbox.claim, "h:1", 10, 30, mark_parts=5)
    assert [i.on_wire for i in items] == [True, True, False, False, False, False]
    assert tx(db, outbox.recover, "h:1") == 6
    with db.read() as s:
        flags = dict(s.execute(select(Delivery.id, Delivery.possible_duplicate)).all())
    assert [flags[i.delivery_id] for i in items] == [True, True, False, False, False, False]
    # one row larger than the bound still goes (alone), or nothing could ever be sent
    items = tx(db, outbox.claim, "h:2", 10, 30, mark_parts=1)
    assert [i.on_wire for i in items] == [True, False, False, False, False, False]
    # without mark_parts nothing is marked (the sender marks them later, a window ahead)
    assert tx(db, outbox.recover, "h:2") == 6
    assert not any(i.on_wire for i in tx(db, outbox.claim, "h:3", 10, 30))


def test_recover_takes_expired_leases_of_other_owners_only(db):
    net = make_network(db, 2)
    alert(db, net, "Lease")
    a, b = tx(db, outbox.claim, "other:1", 10, 30)
    with db.write() as s:
        s.execute(update(Delivery).where(Delivery.id == a.delivery_id).values(lease_until=utcnow() - timedelta(1)))
    assert tx(db, outbox.recover, "me:2") == 1
    assert states(db) == {"queued": 1, "submitting": 1}


def test_failures_permanent_and_transient(db):
    net = make_network(db, 2)
    alert(db, net, "Fouten")
    a, b = tx(db, outbox.claim, "h:1", 10, 30)
    later = utcnow() + timedelta(minutes=5)
    tx(
        db,
        outbox.record_failures,
        "h:1",
        [
            outbox.Failure(a.delivery_id, 0x0B, "ESME_RINVDSTADR (0x0B): invalid destination number", True),
            outbox.Failure(b.delivery_id, 0x08, "ESME_RSYSERR (0x08): SMSC system error", False, later),
        ],
    )
    with db.read() as s:
        da, db_ = s.get(Delivery, a.delivery_id), s.get(Delivery, b.delivery_id)
    assert (da.state, da.error_code) == ("failed", 0x0B) and "invalid destination" in da.error
    assert (db_.state, db_.error_code) == ("queued", 0x08)
    assert tx(db, outbox.claim, "h:1", 10, 30) == []  # not before next_attempt_at


def test_cancelled_alert_rows_are_not_sent_even_if_claim_raced(db):
    net = make_network(db, 3)
    a = alert(db, net, "Annuleren")
    assert cancel_alert(db, a, ACTOR) == 3
    assert tx(db, outbox.claim, "h:1", 10, 30) == []
    a2 = alert(db, net, "Tweede")
    with db.write() as s:  # cancelled while the rows were queued but after cancel_alert's update
        s.execute(update(Alert).where(Alert.id == a2).values(cancelled_at=utcnow()))
    assert tx(db, outbox.claim, "h:1", 10, 30) == []
    assert states(db, a2) == {"cancelled": 3}


def test_training_and_real_alerts_never_cross(db):
    """A sender on the training SMSC never takes a real alert (it would be lost in the simulator),
    and a real sender never sends a training alert to members' phones, on one shared database."""
    net = make_network(db, 3)
    real = alert(db, net, "Echte melding", training=False)
    drill = alert(db, net, "Oefening", training=True)
    got_training = tx(db, outbox.claim, "sim:1", 100, 60, training=True)
    assert {w.alert_id for w in got_training} == {drill} and len(got_training) == 3
    got_real = tx(db, outbox.claim, "prod:1", 100, 60, training=False)
    assert {w.alert_id for w in got_real} == {real} and len(got_real) == 3
    assert tx(db, outbox.claim, "any:1", 100, 60) == []  # nothing left for anyone
