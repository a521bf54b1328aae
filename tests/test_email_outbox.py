"""outbox.record_single_part_acks (the e-mail sender's acks, in a fixed number of statements):
the same outcome as record_acks, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bin_console.data.models import Delivery, DeliveryPart, utcnow
from mail_fixtures import make_email_network
from sender_helpers import alert, make_network, tx
from sqlalchemy import select, update

from bin_console.alerts import outbox


def _rows(db, ids):
    with db.read() as s:
        return {d.id: d for d in s.scalars(select(Delivery).where(Delivery.id.in_(ids)))}


def _parts(db, ids):
    with db.read() as s:
        return sorted(
            (p.delivery_id, p.part_no, p.message_id_raw)
            for p in s.scalars(select(DeliveryPart).where(DeliveryPart.delivery_id.in_(ids)))
        )


def test_acks_settle_their_rows_store_one_part_each_and_spare_a_row_taken_over(db):
    net = make_email_network(db, 4)
    alert(db, net, "Per mail", urgency="normal")
    claimed = tx(db, outbox.claim, "mail:me", 10, 30, channel="email", mark=True)
    a, b, c, d = (r.delivery_id for r in claimed)
    # d's lease ran out and another sender took it: its part is stored, its state stays the other's
    with db.write() as s:
        s.execute(update(Delivery).where(Delivery.id == d).values(lease_until=utcnow() - timedelta(seconds=1)))
    tx(db, outbox.claim, "mail:other", 10, 30, channel="email", mark=True)
    acks = [outbox.Ack(i, 1, f"<bin.1.{i}@pz-test.be>") for i in (a, b, d)]
    tx(db, outbox.record_single_part_acks, "mail:me", acks)
    tx(db, outbox.record_single_part_acks, "mail:me", acks)  # again (a retried commit): changes nothing
    rows = _rows(db, [a, b, c, d])
    assert [rows[i].state for i in (a, b, c, d)] == ["submitted", "submitted", "submitting", "submitting"]
    assert [rows[i].parts_acked for i in (a, b, c, d)] == [1, 1, 0, 1]
    assert rows[a].claimed_by is None and rows[a].lease_until is None and rows[a].submitted_at is not None
    assert rows[c].claimed_by == "mail:me" and rows[d].claimed_by == "mail:other"
    assert _parts(db, [a, b, c, d]) == sorted((i, 1, f"<bin.1.{i}@pz-test.be>") for i in (a, b, d))
    # once its lease runs out, the next sender finds d already accepted: nothing of it to send again
    with db.write() as s:
        s.execute(update(Delivery).where(Delivery.id == d).values(lease_until=utcnow() - timedelta(seconds=1)))
    (again,) = [r for r in tx(db, outbox.claim, "mail:third", 10, 30, channel="email") if r.delivery_id == d]
    assert again.parts_to_send() == []


def test_a_delivery_of_several_parts_is_counted_as_record_acks_counts_it(db):
    net = make_network(db, 1)
    alert(db, net, "Lang bericht " * 30)  # an SMS of several parts
    (row,) = tx(db, outbox.claim, "sms:me", 10, 30)
    assert row.parts_total > 1
    tx(db, outbox.record_single_part_acks, "sms:me", [outbox.Ack(row.delivery_id, 1, "AB01")])
    got = _rows(db, [row.delivery_id])[row.delivery_id]
    assert (got.state, got.parts_acked) == ("submitting", 1)  # one part of several: not yet submitted
    rest = [outbox.Ack(row.delivery_id, n, f"AB0{n}") for n in range(2, row.parts_total + 1)]
    tx(db, outbox.record_single_part_acks, "sms:me", rest)
    got = _rows(db, [row.delivery_id])[row.delivery_id]
    assert (got.state, got.parts_acked) == ("submitted", row.parts_total)
