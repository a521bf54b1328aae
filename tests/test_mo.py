"""Member replies: STOP words, reassembly of long replies, linking and opt-out (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from bin_console.data.models import AuditEntry, Delivery, Member, MoFragment, Reply
from sender_helpers import alert, make_network, mobile
from sqlalchemy import select

from bin_console.alerts import outbox
from bin_console.alerts.service import plan_alert
from bin_console.channels.smpp.encoding import add_udh, encode
from bin_console.channels.smpp.mo import Concat, accept_fragment, concat_from_pdu, is_stop


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        "  stopp please",
        "Arrêt",
        "ARRET!",
        "uitschrijven",
        "désinscription",
        "DESINSCRIRE",
        "Désinscrire, merci",
        "UNSUBSCRIBE",
        "abmelden bitte",
        "« STOP »",
    ],
)
def test_stop_words(text):
    assert is_stop(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Niet stoppen",
        "stopped",
        "Ik zag iets, STOP",
        "STOPPEN",
        "Arrêt de tram Louise: un homme suspect",  # ARRÊT is a stop word only as the whole message
        "arret du bus",
        "unsubscribed",
        "désinscrit",
    ],
)
def test_not_stop(text):
    assert not is_stop(text)


def _deliver_sm(**fields):  # a real smpplib DeliverSM, as read from the wire
    import smpplib.command

    return smpplib.command.DeliverSM("deliver_sm", sequence=1, **fields)


def test_concat_from_udh_and_sar():
    part = add_udh([b"ab", b"cd"], 7)[1]
    c, body = concat_from_pdu(_deliver_sm(short_message=part, esm_class=0x40, data_coding=0))
    assert (c, body) == (Concat(7, 2, 2), b"cd")
    pdu = _deliver_sm(short_message=b"xy", esm_class=0, sar_msg_ref_num=300, sar_total_segments=3, sar_segment_seqnum=1)
    assert concat_from_pdu(pdu) == (Concat(300, 3, 1), b"xy")


def test_long_ucs2_reply_reassembled_across_surrogates(db):
    text = "Merci 👮 pour l'alerte, j'ai vu la voiture près de l'église. " * 3
    enc = encode(text)
    assert enc.data_coding == 8 and len(enc.parts) > 1
    got = []
    with db.write() as s:
        for i in reversed(range(len(enc.parts))):  # out of order, and one redelivered
            got.append(accept_fragment(s, "+32470000001", Concat(9, len(enc.parts), i + 1), enc.parts[i], 8))
        assert s.execute(select(MoFragment)).all() == []
    assert got[:-1] == [None] * (len(enc.parts) - 1)
    assert got[-1] == text


def test_stop_reply_opts_out_every_row_and_next_alert_skips(db):
    n1 = make_network(db, 3, name="Net A")
    n2 = make_network(db, 2, name="Net B")  # the same +32470000000/1 in a second network
    alert(db, n1, "Eerste alarm")
    rid = outbox.store_reply(db, "32470000001", "Stop a.u.b.")
    with db.read() as s:
        reply = s.get(Reply, rid)
        rows = s.execute(select(Member.sms_opt_out, Member.opt_out_at).where(Member.mobile == mobile(1))).all()
        audits = s.execute(select(AuditEntry.action, AuditEntry.object_ref)).all()
    assert reply.is_opt_out and reply.source == mobile(1) and reply.alert_id is not None and reply.member_id
    assert len(rows) == 2 and all(o and at for o, at in rows)
    assert ("member.opt_out", f"reply:{rid}") in audits
    plan = plan_alert(db, [n1, n2])
    assert (plan.skipped_opt_out, plan.recipients) == (2, 2)  # 0 and 2; 0 again in B is a duplicate
    a2 = alert(db, n2, "Tweede alarm")
    with db.read() as s:
        addrs = set(s.execute(select(Delivery.address).where(Delivery.alert_id == a2)).scalars())
    assert mobile(1) not in addrs and mobile(0) in addrs


def test_reply_from_unknown_number_is_kept(db):
    rid = outbox.store_reply(db, "32499999999", "Wie is dit?")
    with db.read() as s:
        r = s.get(Reply, rid)
    assert (r.source, r.member_id, r.alert_id, r.text, r.is_opt_out) == (
        "+32499999999",
        None,
        None,
        "Wie is dit?",
        False,
    )


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("32475123456", "+32475123456"),
        ("+32475123456", "+32475123456"),
        ("0032475123456", "+32475123456"),
        ("0475123456", "+32475123456"),
        ("8850", "8850"),
    ],
)
def test_msisdn_normalisation(raw, e164):
    assert outbox.normalise_msisdn(raw) == e164


def test_redelivered_reply_is_stored_once(db):
    first = outbox.store_reply(db, "32470000001", "Ik heb iets gezien")
    assert outbox.store_reply(db, "+32470000001", "Ik heb iets gezien") == first  # the SMSC's copy
    outbox.store_reply(db, "32470000001", "Nog iets")
    with db.read() as s:
        assert len(s.execute(select(Reply)).scalars().all()) == 2


def test_stale_reply_fragments_expire(db):
    from datetime import timedelta

    from bin_console.data.models import utcnow

    with db.write() as s:
        old = utcnow() - timedelta(hours=2)
        s.add(MoFragment(source="+32470000001", ref=7, total=2, part_no=2, payload=b"x", received_at=old))
        s.add(MoFragment(source="+32470000001", ref=8, total=2, part_no=1, payload=b"y"))
    with db.write() as s:
        assert outbox.expire_fragments(s) == 1
    with db.read() as s:
        assert [f.ref for f in s.execute(select(MoFragment)).scalars()] == [8]


def test_reply_with_nul_is_stored_without_it(db):
    outbox.store_reply(db, "32470000003", "Ja\x00 gezien")  # PostgreSQL refuses NUL in text
    with db.read() as s:
        assert s.execute(select(Reply.text)).scalar() == "Ja gezien"


@pytest.mark.parametrize("bad_part", [0, 3])
def test_a_part_number_outside_1_to_total_is_its_own_text_and_the_real_parts_still_join(db, bad_part):
    """Counted in, "part 3 of 2" (or "part 0") completed the count with part 1 and joined the two
    into one garbled reply; the real part 2 then waited for ever."""
    with db.write() as s:
        first = accept_fragment(s, "+32470000001", Concat(5, 2, 1), b"Gezien aan de ", 0)
        odd = accept_fragment(s, "+32470000001", Concat(5, 2, bad_part), b"STRAY", 0)
        second = accept_fragment(s, "+32470000001", Concat(5, 2, 2), b"kerk", 0)
        assert s.execute(select(MoFragment)).all() == []
    assert (first, odd, second) == (None, "STRAY", "Gezien aan de kerk")
