"""The sending loop's driver SQL (alerts/outbox_hot.py) stores what the Core statements would, on
real SQLite and PostgreSQL: the same datetime text, the owner guard, the part rows, the orphans."""

from __future__ import annotations

from datetime import timedelta

from bin_console.data.models import Delivery, DeliveryPart, ReceiptOrphan, utcnow
from sender_helpers import alert, make_network, tx
from sqlalchemy import select, text, update

from bin_console.alerts import outbox
from bin_console.alerts.outbox import DT
from bin_console.channels.smpp.receipts import Receipt


def _raw(db, column: str, delivery_id: int):
    """The column as stored (text on SQLite), not as SQLAlchemy reads it back."""
    with db.read() as s:
        return s.execute(text(f"SELECT {column} FROM delivery WHERE id = :i"), {"i": delivery_id}).scalar_one()


def test_marker_and_ack_times_are_stored_as_sqlalchemy_stores_them(db):
    net = make_network(db, 3)
    alert(db, net, "Tijden")
    a, b, c = tx(db, outbox.claim, "h:1", 10, 30)
    now = utcnow().replace(microsecond=0)  # no microseconds: the case a hand-made format gets wrong
    with db.write() as s:
        assert outbox.mark_on_wire(s, "h:1", [a.delivery_id, b.delivery_id], now=now) == [a.delivery_id, b.delivery_id]
        s.execute(update(DT).where(DT.c.id == c.delivery_id).values(updated_at=now, submitted_at=now))  # Core
    assert _raw(db, "submitted_at", a.delivery_id) == _raw(db, "submitted_at", c.delivery_id)
    assert _raw(db, "updated_at", a.delivery_id) == _raw(db, "updated_at", c.delivery_id)
    later = now + timedelta(seconds=1, microseconds=250)
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(a.delivery_id, 1, "00ab")], now=later)
    with db.write() as s:
        s.execute(update(DT).where(DT.c.id == c.delivery_id).values(submitted_at=later))
    assert _raw(db, "submitted_at", a.delivery_id) == _raw(db, "submitted_at", c.delivery_id)
    with db.read() as s:
        d = s.get(Delivery, a.delivery_id)
        part = s.execute(select(DeliveryPart).where(DeliveryPart.delivery_id == a.delivery_id)).scalar_one()
    assert (d.state, d.parts_acked, d.claimed_by, d.lease_until, d.submitted_at) == ("submitted", 1, None, None, later)
    assert (part.part_no, part.message_id, part.message_id_raw, part.state, part.submitted_at) == (
        1,
        "AB",  # normalised: upper case, no leading zeros
        "00ab",
        "submitted",
        later,
    )


def test_a_row_that_is_no_longer_ours_is_neither_marked_nor_settled(db):
    net = make_network(db, 2)
    alert(db, net, "Van wie")
    mine, taken = tx(db, outbox.claim, "h:1", 10, 30)
    with db.write() as s:  # its lease ran out and another sender has it now
        s.execute(update(DT).where(DT.c.id == taken.delivery_id).values(claimed_by="h:2"))
    with db.write() as s:
        assert outbox.mark_on_wire(s, "h:1", [mine.delivery_id, taken.delivery_id]) == [mine.delivery_id]
    assert _raw(db, "submitted_at", taken.delivery_id) is None
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(d.delivery_id, 1, f"M{d.delivery_id}") for d in (mine, taken)])
    with db.read() as s:
        rows = {d.id: d for d in s.execute(select(Delivery)).scalars()}
        parts = set(s.execute(select(DeliveryPart.delivery_id)).scalars())
    assert (rows[mine.delivery_id].state, rows[mine.delivery_id].claimed_by) == ("submitted", None)
    # the message did go out: its part row is kept, but the state stays the other sender's
    assert (rows[taken.delivery_id].state, rows[taken.delivery_id].claimed_by) == ("submitting", "h:2")
    assert rows[taken.delivery_id].parts_acked == 1
    assert parts == {mine.delivery_id, taken.delivery_id}


def test_an_ack_stored_twice_keeps_one_part_row_and_a_longer_delivery_is_counted(db):
    net = make_network(db, 2)
    alert(db, net, "z" * 200)  # 2 parts each
    one, two = tx(db, outbox.claim, "h:1", 10, 30)
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(one.delivery_id, 1, "P1")])
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(one.delivery_id, 1, "P1")])  # a redelivered answer
    with db.read() as s:
        d = s.get(Delivery, one.delivery_id)
        n = s.execute(select(DeliveryPart.id).where(DeliveryPart.delivery_id == one.delivery_id)).all()
    assert (d.parts_acked, d.state, len(n)) == (1, "submitting", 1)  # one of two parts: not settled
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(one.delivery_id, 2, "P2")])
    with db.read() as s:
        assert s.get(Delivery, one.delivery_id).state == "submitted"
        assert s.get(Delivery, two.delivery_id).state == "submitting"


def test_a_receipt_that_came_before_its_ack_is_matched_by_the_ack(db):
    net = make_network(db, 1)
    alert(db, net, "Wees")
    (it,) = tx(db, outbox.claim, "h:1", 10, 30)
    receipt = Receipt("1F", (), "DELIVRD", "000", "id:1F stat:DELIVRD err:000")
    assert len(tx(db, outbox.apply_receipts, [receipt])) == 1  # no part yet: kept as an orphan
    tx(db, outbox.record_acks, "h:1", [outbox.Ack(it.delivery_id, 1, "1f")])
    with db.read() as s:
        part = s.execute(select(DeliveryPart)).scalar_one()
        orphan = s.execute(select(ReceiptOrphan)).scalar_one()
    assert (part.state, orphan.resolved) == ("delivered", True)
