"""Review findings on the sender: results of ended sessions, leases, error attempts (real DB)."""

from __future__ import annotations

from datetime import timedelta

from bin_console.data.models import Delivery, utcnow
from sender_helpers import alert, make_network, runner, states
from sqlalchemy import select, update

from bin_console import outbox
from bin_console.outbox_writer import DbWriter, Job


class _DeadLink:
    """Stands in for a link whose socket write fails (a real one cannot be made to fail on demand)."""

    def respond(self, *args):  # noqa: ANN002, ANN202
        raise OSError("broken pipe")


def _claim_job(r, limit=5):  # noqa: ANN001, ANN202
    return Job("claim", lambda s: outbox._claim(s, r.owner, limit, 60, utcnow(), training=True), droppable=True)


def _idle_runner(db, smsc_factory):  # noqa: ANN001, ANN202
    r = runner(db, smsc_factory())
    r._writer = DbWriter(db, lambda: None)
    return r


def test_claim_result_of_an_ended_session_is_released(sqlite_db, smsc_factory):
    net = make_network(sqlite_db, 5)
    alert(sqlite_db, net, "Sessie test")
    r = _idle_runner(sqlite_db, smsc_factory)
    try:
        r._submit(_claim_job(r))
        assert r._writer.wait_idle(10)
        r._reset_session()  # the session ended before its claim came back
        r._take_results(None)
        assert r._writer.wait_idle(10)
        assert not r._items
        assert states(sqlite_db) == {"queued": 5}
    finally:
        r._writer.stop()


def test_failing_deliver_sm_resp_does_not_skip_a_claim_result(sqlite_db, smsc_factory):
    net = make_network(sqlite_db, 3)
    alert(sqlite_db, net, "Sessie test")
    r = _idle_runner(sqlite_db, smsc_factory)
    try:
        r._submit(Job("dsm", lambda s: set(), payload=([7, 8], {}), isolated=True, droppable=True))
        r._submit(_claim_job(r))
        assert r._writer.wait_idle(10)
        try:
            r._take_results(_DeadLink())
        except Exception:  # noqa: BLE001 - LinkLost expected
            pass
        assert sorted(r._items) and len(r._items) == 3  # the claim was applied despite the failure
    finally:
        r._writer.stop()


def test_renew_leases_only_extends_the_rows_still_held(db):
    net = make_network(db, 3)
    alert(db, net, "Lease test")
    items = outbox.claim(db, "h:1", 10, 30)
    ids = [i.delivery_id for i in items]
    past = utcnow() - timedelta(seconds=5)
    with db.write() as s:
        s.execute(update(Delivery).values(lease_until=past))
        assert outbox.renew_leases(s, "h:1", 60, ids=ids[:1]) == 1
    with db.read() as s:
        leases = dict(s.execute(select(Delivery.id, Delivery.lease_until)).all())
    assert leases[ids[0]] > utcnow()
    assert all(leases[i] < utcnow() for i in ids[1:])


def test_periodic_reaper_never_requeues_its_own_rows(db):
    net = make_network(db, 2)
    alert(db, net, "Reaper test")
    mine = outbox.claim(db, "h:me", 1, 30)[0].delivery_id
    theirs = outbox.claim(db, "h:other", 1, 30)[0].delivery_id
    with db.write() as s:
        s.execute(update(Delivery).values(lease_until=utcnow() - timedelta(seconds=5)))
        assert outbox._recover(s, "", utcnow(), own=False, exclude="h:me") == 1
    with db.read() as s:
        st = dict(s.execute(select(Delivery.id, Delivery.state)).all())
    assert st == {mine: "submitting", theirs: "queued"}


def test_guarded_updates_touch_only_rows_still_leased_to_the_sender(db):
    net = make_network(db, 3)
    alert(db, net, "Guard test")
    a, b, c = (i.delivery_id for i in outbox.claim(db, "h:me", 3, 30))
    with db.write() as s:  # b was reaped and re-claimed by another sender meanwhile
        s.execute(update(Delivery).where(Delivery.id == b).values(claimed_by="h:other"))
        assert sorted(outbox.mark_on_wire(s, [a, b], utcnow(), owner="h:me")) == [a]
        now = utcnow()
        fails = [outbox.Failure(b, 8, "x", True), outbox.Failure(c, 8, "x", True)]
        outbox._record_failures(s, fails, now, owner="h:me")
        outbox._release(s, [a, b], False, now, owner="h:me")
    with db.read() as s:
        rows = {d.id: d for d in s.execute(select(Delivery)).scalars()}
    assert (rows[a].state, rows[b].state, rows[c].state) == ("queued", "submitting", "failed")
    assert rows[b].claimed_by == "h:other" and rows[b].submitted_at is None


def test_a_row_is_never_held_twice_and_a_late_lease_stops_sending(sqlite_db, smsc_factory):
    net = make_network(sqlite_db, 1)
    alert(sqlite_db, net, "Twice")
    it = outbox.claim(sqlite_db, "h:me", 1, 30)[0]
    r = runner(sqlite_db, smsc_factory(), lease_s=60)
    r._add_item(it, leased_at=100.0)
    r._add_item(it, leased_at=100.0)
    assert len(r._pending) == 1  # the second copy was ignored
    st = r._items[it.delivery_id]
    assert r._lease_ok(st, 100.0 + 40)
    assert not r._lease_ok(st, 100.0 + 50)  # 60 s lease, 15 s margin: paused after 45 s


def test_only_smsc_errors_count_as_attempts(db):
    net = make_network(db, 1)
    alert(db, net, "Flaps")
    for _ in range(8):  # link flaps / shutdowns: claimed and released, never answered
        it = outbox.claim(db, "h:me", 1, 30)[0]
        outbox.release(db, [it.delivery_id], possible_duplicate=False)
    it = outbox.claim(db, "h:me", 1, 30)[0]
    assert it.attempts == 1
    outbox.record_failures(db, [outbox.Failure(it.delivery_id, 8, "RSYSERR", False, utcnow())])
    assert outbox.claim(db, "h:me", 1, 30)[0].attempts == 2


def test_several_bad_receipts_in_one_batch_are_stored(db):
    from bin_console.channels.receipts import Receipt

    net = make_network(db, 2)
    alert(db, net, "Receipts")
    items = outbox.claim(db, "h:me", 2, 30)
    outbox.record_acks(db, [outbox.Ack(it.delivery_id, 1, f"M{it.delivery_id}") for it in items])
    outbox.apply_receipts(db, [Receipt(f"M{it.delivery_id}", (), "UNDELIV", "001", "") for it in items])
    assert states(db) == {"undeliverable": 2}


def test_rbindfail_is_temporary_not_a_config_error():
    from bin_console.channels.smpp_client import BIND_CONFIG, BIND_TRANSIENT

    assert 0x0D not in BIND_CONFIG and 0x0D in BIND_TRANSIENT  # ESME_RBINDFAIL
    assert {0x0E, 0x0F} <= BIND_CONFIG  # wrong password / unknown system_id: the operator must act


def test_validity_is_absolute_utc_and_never_after_the_expiry():
    from datetime import UTC, datetime, timezone

    from bin_console.channels.smpp_client import validity_for

    now = datetime(2026, 3, 5, 14, 7, 9, 900000, tzinfo=UTC)
    # 30 s left: the old relative form said "1 minute" (live 30 s after expiry)
    assert validity_for(60, now + timedelta(seconds=30.9), now) == "260305140740000+"  # 14:07:40.8 cut to :40
    assert validity_for(2, None, now) == "260305140909000+"
    brussels = timezone(timedelta(hours=1))
    assert validity_for(60, datetime(2026, 3, 5, 15, 30, tzinfo=brussels), now) == "260305143000000+"


def _acked_part(db, message_id: str, n: int = 1) -> list[int]:
    net = make_network(db, n, name=f"Net {message_id}")
    alert(db, net, "Receipt")
    items = outbox.claim(db, "h:me", n, 30)
    return [it.delivery_id for it in items]


def test_tlv_only_receipt_matches_an_id_one_character_longer_when_unique(db):
    from bin_console.channels.receipts import parse_receipt

    a, b, c = _acked_part(db, "x", 3)
    outbox.record_acks(db, [outbox.Ack(a, 1, "ABC123"), outbox.Ack(b, 1, "XYZ781"), outbox.Ack(c, 1, "XYZ782")])
    # smpplib cut the last character of a TLV sent without its NUL
    cut = [parse_receipt(b"", receipted_message_id=m, message_state=2) for m in (b"ABC12", b"XYZ78")]
    outbox.apply_receipts(db, cut)
    with db.read() as s:
        st = dict(s.execute(select(Delivery.id, Delivery.state)).all())
    assert st[a] == "delivered"
    assert st[b] == st[c] == "submitted"  # two candidates: no guess, kept as an orphan
    assert scalar_orphans(db) == 1


def test_receipt_orphan_is_rematched_by_housekeeping(db):
    from bin_console.data.models import DeliveryPart

    from bin_console.channels.receipts import parse_receipt

    (a,) = _acked_part(db, "y")
    outbox.apply_receipts(db, [parse_receipt(b"id:77F sub:001 dlvrd:001 stat:DELIVRD err:000")])
    assert scalar_orphans(db) == 1
    with db.write() as s:  # another sender's ack, committed after its own re-match ran
        s.add(DeliveryPart(delivery_id=a, part_no=1, message_id="77F", message_id_raw="77F", state="submitted"))
    with db.write() as s:
        assert outbox.rematch_orphans(s, utcnow()) == 1
    assert scalar_orphans(db) == 0
    with db.read() as s:
        assert s.get(Delivery, a).parts_delivered == 1


def scalar_orphans(db) -> int:
    from bin_console.data.models import ReceiptOrphan
    from sqlalchemy import func

    with db.read() as s:
        return s.execute(
            select(func.count()).select_from(ReceiptOrphan).where(ReceiptOrphan.resolved.is_(False))
        ).scalar()


def test_redelivered_reply_is_stored_once(db):
    from bin_console.data.models import Reply

    first = outbox.store_reply(db, "32470000001", "Ik heb iets gezien")
    assert outbox.store_reply(db, "+32470000001", "Ik heb iets gezien") == first  # the SMSC's copy
    outbox.store_reply(db, "32470000001", "Nog iets")
    with db.read() as s:
        assert len(s.execute(select(Reply)).scalars().all()) == 2


def test_stale_reply_fragments_expire(db):
    from bin_console.data.models import MoFragment

    with db.write() as s:
        old = utcnow() - timedelta(hours=2)
        s.add(MoFragment(source="+32470000001", ref=7, total=2, part_no=2, payload=b"x", received_at=old))
        s.add(MoFragment(source="+32470000001", ref=8, total=2, part_no=1, payload=b"y"))
    with db.write() as s:
        assert outbox.expire_fragments(s, utcnow()) == 1
    with db.read() as s:
        assert [f.ref for f in s.execute(select(MoFragment)).scalars()] == [8]


def test_no_database_call_on_the_smpp_thread_while_sending(sqlite_db, smsc_factory):
    import threading

    from sender_helpers import open_count, wait_until

    sim = smsc_factory()
    net = make_network(sqlite_db, 50)
    seen: set[str] = set()
    real_write, real_read = sqlite_db.write, sqlite_db.read

    def spy(real):  # noqa: ANN001, ANN202 - records which thread opens a transaction
        def wrapped(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            seen.add(threading.current_thread().name)
            return real(*a, **kw)

        return wrapped

    r = runner(sqlite_db, sim, heartbeat_s=0.1)
    r.start()
    try:
        assert wait_until(lambda: r.state == "bound", 10)
        sqlite_db.write, sqlite_db.read = spy(real_write), spy(real_read)
        alert(sqlite_db, net, "Thread test")
        r.wake()
        assert wait_until(lambda: open_count(sqlite_db) == 0, 20)
        assert wait_until(lambda: r.stats["parts_acked"] >= 50, 5)
        # and the status heartbeat (housekeeping, every second) was written meanwhile
        t0 = _status_at(sqlite_db, real_read)
        assert wait_until(lambda: _status_at(sqlite_db, real_read) > t0, 5)
        sqlite_db.write, sqlite_db.read = real_write, real_read
    finally:
        sqlite_db.write, sqlite_db.read = real_write, real_read
        r.stop()
    assert not any(n.startswith("sms-sender-") and n != "sms-sender-db" for n in seen), seen


def _status_at(db, read):  # noqa: ANN001, ANN202
    from bin_console.data.models import SenderStatus

    with read() as s:
        return s.execute(select(SenderStatus.updated_at)).scalar()


def test_one_bad_reply_is_refused_alone_then_dead_lettered(sqlite_db, smsc_factory):
    from bin_console.data.models import Reply
    from sender_helpers import wait_until
    from sqlalchemy import text

    with sqlite_db.write() as s:  # a reply the database refuses (real failure, real SQLite)
        s.execute(
            text(
                "CREATE TRIGGER boom BEFORE INSERT ON reply WHEN NEW.text LIKE '%BOOM%' "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        )
    sim = smsc_factory()
    r = runner(sqlite_db, sim)
    r.start()
    try:
        assert wait_until(lambda: r.state == "bound", 10)
        sim.inject_mo("+32470000001", "BOOM")
        sim.inject_mo("+32470000002", "Goed")
        assert sim.wait_for(lambda: sim.mo_acked == 2, 20), sim.mo_acked
    finally:
        r.stop()
    with sqlite_db.read() as s:
        got = {x.source: x.text for x in s.execute(select(Reply)).scalars()}
    assert got["+32470000002"] == "Goed"  # stored once, not refused with its neighbour
    assert got["+32470000001"].startswith("[unreadable reply")  # kept raw, then acknowledged


def test_reply_with_nul_is_stored_without_it(db):
    from bin_console.data.models import Reply

    outbox.store_reply(db, "32470000003", "Ja\x00 gezien")  # PostgreSQL refuses NUL in text
    with db.read() as s:
        assert s.execute(select(Reply.text)).scalar() == "Ja gezien"


def test_a_delivery_that_cannot_be_encoded_fails_alone(sqlite_db, smsc_factory):
    from bin_console.data.models import Alert
    from sender_helpers import open_count, wait_until

    sim = smsc_factory()
    net = make_network(sqlite_db, 3)
    bad = alert(sqlite_db, net, "Kapot")
    good = alert(sqlite_db, net, "Heel")
    with sqlite_db.write() as s:  # a sender validation would refuse today (older row, config)
        s.execute(update(Alert).where(Alert.id == bad).values(sender="Zoné€"))
    r = runner(sqlite_db, sim)
    r.start()
    try:
        assert wait_until(lambda: open_count(sqlite_db) == 0, 20), states(sqlite_db)
    finally:
        r.stop()
    assert states(sqlite_db, bad) == {"failed": 3}
    assert states(sqlite_db, good).get("delivered", 0) + states(sqlite_db, good).get("submitted", 0) == 3
    assert r.stats["link_losses"] == 0  # the session went on


def test_writes_failing_for_long_show_in_sender_status(sqlite_db, smsc_factory):
    from bin_console.data.models import SenderStatus
    from sender_helpers import open_count, wait_until
    from sqlalchemy import text

    sim = smsc_factory()
    net = make_network(sqlite_db, 3)
    r = runner(sqlite_db, sim)
    r.start()

    def detail() -> str:
        with sqlite_db.read() as s:
            row = s.get(SenderStatus, "default")
            return row.detail if row is not None else ""

    try:
        assert wait_until(lambda: r.state == "bound", 10)
        with sqlite_db.write() as s:  # acks cannot be stored (real SQLite failure)
            s.execute(text("CREATE TRIGGER nope BEFORE INSERT ON delivery_part BEGIN SELECT RAISE(ABORT, 'x'); END"))
        alert(sqlite_db, net, "Vast")
        r.wake()
        assert wait_until(lambda: "database writes failing" in detail(), 20), detail()
        with sqlite_db.write() as s:
            s.execute(text("DROP TRIGGER nope"))
        assert wait_until(lambda: open_count(sqlite_db) == 0, 20), states(sqlite_db)
    finally:
        r.stop()
