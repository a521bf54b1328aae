"""A sender session against the training SMSC on a real database: what it writes, and from which thread."""

from __future__ import annotations

from sender_helpers import alert, make_network, runner, states, tx
from sqlalchemy import select, update

from bin_console.alerts import outbox
from bin_console.alerts.outbox_jobs import Claim
from bin_console.alerts.outbox_writer import DbWriter
from bin_console.channels.smpp.deliver_sm import StoreDeliverSm


class _DeadLink:
    """Stands in for a link whose socket write fails (a real one cannot be made to fail on demand)."""

    def respond(self, *args):
        raise OSError("broken pipe")


def _claim_job(r, limit=5) -> Claim:
    return Claim(owner=r.owner, limit=limit, lease_s=60, channel="sms", training=True, asked_at=0.0)


def _idle_runner(db, smsc_factory):
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
        r._submit(StoreDeliverSm(fingerprints={7: b"a", 8: b"b"}))
        r._submit(_claim_job(r))
        assert r._writer.wait_idle(10)
        try:
            r._take_results(_DeadLink())
        except Exception:  # LinkLost expected
            pass
        assert len(r._items) == 3  # the claim was applied despite the failure
    finally:
        r._writer.stop()


def test_a_row_is_never_held_twice_and_a_late_lease_stops_sending(sqlite_db, smsc_factory):
    net = make_network(sqlite_db, 1)
    alert(sqlite_db, net, "Twice")
    it = tx(sqlite_db, outbox.claim, "h:me", 1, 30)[0]
    r = runner(sqlite_db, smsc_factory(), lease_s=60)
    r._add_item(it, leased_at=100.0)
    r._add_item(it, leased_at=100.0)
    assert len(r._pending) == 1  # the second copy was ignored
    st = r._items[it.delivery_id]
    assert r._lease_ok(st, 100.0 + 35)
    assert not r._lease_ok(st, 100.0 + 45)  # 60 s lease, 20 s margin: paused after 40 s


def test_no_database_call_on_the_smpp_thread_while_sending(sqlite_db, smsc_factory):
    import threading

    from sender_helpers import open_count, wait_until

    sim = smsc_factory()
    net = make_network(sqlite_db, 50)
    seen: set[str] = set()
    real_write, real_read = sqlite_db.write, sqlite_db.read

    def spy(real):  # records which thread opens a transaction
        def wrapped(*a, **kw):
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
        assert wait_until(lambda: r.stats["parts_acked"] >= 50)
        # and the status heartbeat (housekeeping, every second) was written meanwhile
        t0 = _status_at(sqlite_db, real_read)
        assert wait_until(lambda: _status_at(sqlite_db, real_read) > t0)
        sqlite_db.write, sqlite_db.read = real_write, real_read
    finally:
        sqlite_db.write, sqlite_db.read = real_write, real_read
        r.stop()
    assert not any(n.startswith("sms-sender-") and n != "sms-sender-db" for n in seen), seen


def _status_at(db, read):
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
