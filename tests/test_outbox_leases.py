"""Leases and owners in the outbox port (real SQLite and PostgreSQL): who may touch which row."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from bin_console.data.models import Delivery, utcnow
from sender_helpers import alert, make_network, states, tx
from sqlalchemy import select, update

from bin_console.alerts import outbox


def _expire_leases(db, *ids: int) -> None:
    with db.write() as s:
        q = update(Delivery).values(lease_until=utcnow() - timedelta(seconds=5))
        s.execute(q.where(Delivery.id.in_(ids)) if ids else q)


def test_owner_ids_are_unique_per_start_even_with_the_same_host_and_pid():
    # two senders in different PID namespaces (containers) share host name and pid
    ids = {outbox.new_owner_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(i.startswith(f"{socket.gethostname()[:30]}:{os.getpid()}:") and len(i) <= 64 for i in ids)
    assert len(outbox.new_owner_id("a-long-account-label")) <= 64


def test_a_live_owner_whose_pid_was_reused_keeps_its_rows_until_the_lease_expires(db):
    """PID reuse after a kill -9: the row's owner id names a PID that exists (ours). Nothing is
    decided from it: the row is taken over only once its lease ran out unrenewed."""
    net = make_network(db, 2)
    alert(db, net, "PID reuse")
    ghost = f"{socket.gethostname()}:{os.getpid()}:deadbeef0000"  # a PID that exists right now
    a, b = (r.delivery_id for r in tx(db, outbox.claim, ghost, 10, 30))
    me = outbox.new_owner_id()
    assert tx(db, outbox.recover, me) == 0
    assert tx(db, outbox.claim, me, 10, 30) == []
    _expire_leases(db, a)
    assert tx(db, outbox.recover, me) == 1
    assert [r.delivery_id for r in tx(db, outbox.claim, me, 10, 30)] == [a]
    with db.read() as s:
        assert s.get(Delivery, b).claimed_by == ghost


def test_a_dead_owner_on_this_host_is_not_guessed_from_its_pid(db):
    """The old rule requeued rows whose local PID did not exist; a container's PID says nothing."""
    net = make_network(db, 1)
    alert(db, net, "Dead PID")
    tx(db, outbox.claim, f"{socket.gethostname()}:999999999:0123456789ab", 10, 30)
    assert tx(db, outbox.recover, outbox.new_owner_id()) == 0
    assert states(db) == {"submitting": 1}


def test_claim_takes_over_rows_whose_lease_expired_unrenewed(db):
    net = make_network(db, 3)
    alert(db, net, "Takeover")
    dead = outbox.new_owner_id()
    rows = tx(db, outbox.claim, dead, 10, 30)
    with db.write() as s:
        outbox.mark_on_wire(s, dead, [rows[0].delivery_id])
    _expire_leases(db)
    again = tx(db, outbox.claim, outbox.new_owner_id(), 10, 30)
    assert [r.delivery_id for r in again] == [r.delivery_id for r in rows]
    assert [r.possible_duplicate for r in again] == [True, False, False]  # only the marked one


def test_renew_leases_only_extends_the_rows_still_held(db):
    net = make_network(db, 3)
    alert(db, net, "Lease test")
    ids = [i.delivery_id for i in tx(db, outbox.claim, "h:1", 10, 30)]
    _expire_leases(db)
    assert tx(db, outbox.renew_leases, "h:1", ids[:1], 60) == ids[:1]
    assert tx(db, outbox.renew_leases, "h:2", ids, 60) == []  # not theirs
    with db.read() as s:
        leases = dict(s.execute(select(Delivery.id, Delivery.lease_until)).all())
    assert leases[ids[0]] > utcnow()
    assert all(leases[i] < utcnow() for i in ids[1:])


def test_periodic_reaper_never_requeues_its_own_rows(db):
    net = make_network(db, 2)
    alert(db, net, "Reaper test")
    mine = tx(db, outbox.claim, "h:me", 1, 30)[0].delivery_id
    theirs = tx(db, outbox.claim, "h:other", 1, 30)[0].delivery_id
    _expire_leases(db)
    assert tx(db, outbox.reap_expired_leases, exclude="h:me") == 1
    with db.read() as s:
        st = dict(s.execute(select(Delivery.id, Delivery.state)).all())
    assert st == {mine: "submitting", theirs: "queued"}


def test_guarded_updates_touch_only_rows_still_leased_to_the_sender(db):
    net = make_network(db, 3)
    alert(db, net, "Guard test")
    a, b, c = (i.delivery_id for i in tx(db, outbox.claim, "h:me", 3, 30))
    with db.write() as s:  # b was reaped and re-claimed by another sender meanwhile
        s.execute(update(Delivery).where(Delivery.id == b).values(claimed_by="h:other"))
        assert sorted(outbox.mark_on_wire(s, "h:me", [a, b])) == [a]
        fails = [outbox.Failure(b, 8, "x", True), outbox.Failure(c, 8, "x", True)]
        outbox.record_failures(s, "h:me", fails)
        outbox.release(s, "h:me", [a, b], possible_duplicate=False)
        outbox.close(s, "h:me", [b], "cancelled")
    with db.read() as s:
        rows = {d.id: d for d in s.execute(select(Delivery)).scalars()}
    assert (rows[a].state, rows[b].state, rows[c].state) == ("queued", "submitting", "failed")
    assert rows[b].claimed_by == "h:other" and rows[b].submitted_at is None


def test_only_smsc_errors_count_as_attempts(db):
    net = make_network(db, 1)
    alert(db, net, "Flaps")
    for _ in range(8):  # link flaps / shutdowns: claimed and released, never answered
        it = tx(db, outbox.claim, "h:me", 1, 30)[0]
        tx(db, outbox.release, "h:me", [it.delivery_id], possible_duplicate=False)
    it = tx(db, outbox.claim, "h:me", 1, 30)[0]
    assert it.attempts == 1
    tx(db, outbox.record_failures, "h:me", [outbox.Failure(it.delivery_id, 8, "RSYSERR", False, utcnow())])
    assert tx(db, outbox.claim, "h:me", 1, 30)[0].attempts == 2


def test_an_email_sender_claims_only_email_rows_with_the_same_functions(db):
    net = make_network(db, 2)
    alert(db, net, "Beide kanalen")
    with db.write() as s:  # an e-mail row of the same alert (create_alert makes them for e-mail members)
        d = s.execute(select(Delivery).limit(1)).scalar_one()
        s.add(Delivery(alert_id=d.alert_id, member_id=d.member_id, channel="email", address="lid@example.be"))
    (row,) = tx(db, outbox.claim, "mail:1", 10, 30, channel="email")
    assert (row.channel, row.address, row.parts_total, row.concat_ref) == ("email", "lid@example.be", 1, None)
    tx(db, outbox.record_acks, "mail:1", [outbox.Ack(row.delivery_id, 1, "<abc@bin>")])
    assert states(db) == {"queued": 2, "submitted": 1}


def test_a_failure_without_an_answer_keeps_the_marker_and_flags_the_row(db):
    """An error where the server's answer should have been (inside SMTP DATA): the message may be
    in. Retried or given up, the row says so; a 4xx (an answer) clears the marker as before."""
    net = make_network(db, 3)
    alert(db, net, "Geen antwoord")
    a, b, c = (i.delivery_id for i in tx(db, outbox.claim, "h:me", 3, 30))
    with db.write() as s:
        outbox.mark_on_wire(s, "h:me", [a, b, c])
        outbox.record_failures(
            s,
            "h:me",
            [
                outbox.Failure(a, -1, "no answer after DATA", False, utcnow(), True),
                outbox.Failure(b, -1, "gave up after 8 attempts: no answer", True, None, True),
                outbox.Failure(c, 451, "greylisted", False, utcnow()),
            ],
        )
    with db.read() as s:
        rows = {d.id: d for d in s.execute(select(Delivery)).scalars()}
    assert (rows[a].state, rows[a].possible_duplicate, rows[a].submitted_at is not None) == ("queued", True, True)
    assert (rows[b].state, rows[b].possible_duplicate) == ("failed", True)
    assert (rows[c].state, rows[c].possible_duplicate, rows[c].submitted_at) == ("queued", False, None)
