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
        r._submit(Job("dsm", lambda s: None, payload=[7, 8], isolated=True, droppable=True))
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
