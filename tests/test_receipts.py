"""Receipt parsing, id normalisation and matching (real SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from bin_console.data.models import Delivery, DeliveryPart, ReceiptOrphan
from sender_helpers import alert, make_network, tx
from sqlalchemy import select

from bin_console.alerts import outbox
from bin_console.channels.smpp.receipts import id_variants, is_receipt, normalise_id, parse_receipt


def test_normalise_strips_nul_space_case_and_leading_zeros():
    assert normalise_id(b"  00ab12\x00") == "AB12"
    assert normalise_id("000") == "0"
    assert normalise_id("") == ""


def test_variants_cover_other_base():
    assert id_variants("255") == ["255", "FF", "597"]
    assert "255" in id_variants("ff")
    assert id_variants("0xyz") == ["XYZ"]  # not hex, not decimal: only itself


def test_esm_class_receipt_bit():
    assert is_receipt(0x04)
    assert not is_receipt(0x00)
    assert not is_receipt(0x08)  # SME delivery ack, not an SMSC receipt
    assert not is_receipt(0x40)


def test_parse_text_and_tlv_fallbacks():
    body = b"id:0001A2B3 sub:001 dlvrd:001 submit date:2611281700 done date:2611281701 stat:DELIVRD err:000 text:x"
    r = parse_receipt(body)
    assert (r.message_id, r.stat, r.err, r.state) == ("1A2B3", "DELIVRD", "000", "delivered")
    # no sub/dlvrd, lower case stat
    r = parse_receipt(b"id:42 stat:undeliv err:001")
    assert r.state == "undeliverable"
    # only TLVs (no text id): receipted_message_id + message_state
    r = parse_receipt(b"", receipted_message_id=b"ABC12\x00", message_state=5)
    assert (r.message_id, r.stat) == ("ABC12", "UNDELIV")
    assert parse_receipt(b"garbage") is None
    # intermediate states are not final
    assert parse_receipt(b"id:1 stat:ENROUTE").state is None


def _acked(db, n_parts_text: str, ids: list[str]) -> int:
    net = make_network(db, 1, name=f"R {len(ids)} {ids[0]}")
    a = alert(db, net, n_parts_text)
    items = tx(db, outbox.claim, "t:1", 10, 60)
    assert len(items) == 1 and items[0].parts_total == len(ids)
    tx(db, outbox.record_acks, "t:1", [outbox.Ack(items[0].delivery_id, i + 1, mid) for i, mid in enumerate(ids)])
    assert a
    return items[0].delivery_id


def _delivery(db, did: int) -> Delivery:
    with db.read() as s:
        return s.get(Delivery, did)


@pytest.mark.parametrize(
    ("stored", "in_receipt"),
    [("1A2B3C", "1A2B3C"), ("1A2B3C", str(0x1A2B3C)), ("1715004", "1A2B3C"), ("00001A2B3C", "1a2b3c"), ("42", "0042")],
)
def test_receipt_matches_hex_decimal_and_zero_padded_ids(db, stored, in_receipt):
    did = _acked(db, "Kort bericht", [stored])
    tx(db, outbox.apply_receipts, [parse_receipt(f"id:{in_receipt} stat:DELIVRD err:000".encode())])
    d = _delivery(db, did)
    assert (d.state, d.parts_delivered) == ("delivered", 1)


def test_delivery_delivered_only_when_all_parts_are(db):
    did = _acked(db, "Lang bericht " * 30, ["A1", "A2", "A3"])
    tx(db, outbox.apply_receipts, [parse_receipt(b"id:A1 stat:DELIVRD"), parse_receipt(b"id:A2 stat:DELIVRD")])
    assert _delivery(db, did).state == "submitted"
    tx(db, outbox.apply_receipts, [parse_receipt(b"id:A3 stat:DELIVRD")])
    d = _delivery(db, did)
    assert (d.state, d.parts_delivered) == ("delivered", 3)


def test_one_undeliverable_part_makes_the_delivery_undeliverable(db):
    did = _acked(db, "Lang bericht " * 30, ["B1", "B2", "B3"])
    tx(db, outbox.apply_receipts, [parse_receipt(b"id:B2 stat:UNDELIV err:034")])
    d = _delivery(db, did)
    assert d.state == "undeliverable" and "034" in d.error


def test_redelivered_receipt_is_idempotent(db):
    did = _acked(db, "Kort", ["C1"])
    tx(db, outbox.apply_receipts, [parse_receipt(b"id:C1 stat:DELIVRD")])
    tx(db, outbox.apply_receipts, [parse_receipt(b"id:C1 stat:DELIVRD"), parse_receipt(b"id:C1 stat:UNDELIV")])
    d = _delivery(db, did)
    assert (d.state, d.parts_delivered) == ("delivered", 1)
    with db.read() as s:
        assert s.execute(select(DeliveryPart.state)).scalars().all() == ["delivered"]
        assert s.execute(select(ReceiptOrphan)).all() == []


def test_receipt_before_submit_resp_is_kept_and_matched_later(db):
    net = make_network(db, 1, name="Orphan")
    alert(db, net, "Kort")
    tx(db, outbox.apply_receipts, [parse_receipt(b"id:00FF10 stat:DELIVRD")])  # beats the resp
    tx(db, outbox.apply_receipts, [parse_receipt(b"id:00FF10 stat:DELIVRD")])  # redelivered: kept once
    with db.read() as s:
        orphans = s.execute(select(ReceiptOrphan)).scalars().all()
    assert [(o.message_id, o.resolved) for o in orphans] == [("FF10", False)]
    items = tx(db, outbox.claim, "t:1", 10, 60)
    tx(db, outbox.record_acks, "t:1", [outbox.Ack(items[0].delivery_id, 1, str(0xFF10))])  # resp in decimal
    assert _delivery(db, items[0].delivery_id).state == "delivered"
    with db.read() as s:
        assert s.execute(select(ReceiptOrphan.resolved)).scalars().all() == [True]


def _claimed(db, n: int, name: str) -> list[int]:
    net = make_network(db, n, name=name)
    alert(db, net, "Receipt")
    return [it.delivery_id for it in tx(db, outbox.claim, "h:me", n, 30)]


def _open_orphans(db) -> int:
    from sqlalchemy import func

    with db.read() as s:
        return s.execute(
            select(func.count()).select_from(ReceiptOrphan).where(ReceiptOrphan.resolved.is_(False))
        ).scalar()


def test_several_bad_receipts_in_one_batch_are_stored(db):
    from bin_console.channels.smpp.receipts import Receipt

    ids = _claimed(db, 2, "Bad receipts")
    tx(db, outbox.record_acks, "h:me", [outbox.Ack(d, 1, f"M{d}") for d in ids])
    tx(db, outbox.apply_receipts, [Receipt(f"M{d}", (), "UNDELIV", "001", "") for d in ids])
    with db.read() as s:
        assert set(s.execute(select(Delivery.state)).scalars()) == {"undeliverable"}


def test_tlv_only_receipt_matches_an_id_one_character_longer_when_unique(db):
    a, b, c = _claimed(db, 3, "TLV")
    acks = [outbox.Ack(a, 1, "ABC123"), outbox.Ack(b, 1, "XYZ781"), outbox.Ack(c, 1, "XYZ782")]
    tx(db, outbox.record_acks, "h:me", acks)
    # smpplib cut the last character of a TLV sent without its NUL
    cut = [parse_receipt(b"", receipted_message_id=m, message_state=2) for m in (b"ABC12", b"XYZ78")]
    tx(db, outbox.apply_receipts, cut)
    with db.read() as s:
        st = dict(s.execute(select(Delivery.id, Delivery.state)).all())
    assert st[a] == "delivered"
    assert st[b] == st[c] == "submitted"  # two candidates: no guess, kept as an orphan
    assert _open_orphans(db) == 1


def test_receipt_orphan_is_rematched_by_housekeeping(db):
    (a,) = _claimed(db, 1, "Orphan")
    tx(db, outbox.apply_receipts, [parse_receipt(b"id:77F sub:001 dlvrd:001 stat:DELIVRD err:000")])
    assert _open_orphans(db) == 1
    with db.write() as s:  # another sender's ack, committed after its own re-match ran
        s.add(DeliveryPart(delivery_id=a, part_no=1, message_id="77F", message_id_raw="77F", state="submitted"))
    assert tx(db, outbox.rematch_orphans) == 1
    assert _open_orphans(db) == 0
    with db.read() as s:
        assert s.get(Delivery, a).parts_delivered == 1
