"""The sender's PostgreSQL connections killed mid-alert (pg_terminate_backend): it resumes, loses
nothing, and logs one clear line per reconnect instead of a traceback per job."""

from __future__ import annotations

import logging
import uuid

import pytest
from bin_console.data.engine import Database
from sender_helpers import alert, make_network, mobile, open_count, runner, states, wait_until
from sqlalchemy import text


@pytest.fixture
def pg_sender_db(pg_url):
    """The test's database, opened a second time under an application_name of its own, so only
    the sender's connections are terminated (other tests share this PostgreSQL server)."""
    name = f"bin-sender-{uuid.uuid4().hex[:8]}"
    from bin_console.data.schema import upgrade

    main = Database.from_url(pg_url)
    upgrade(main, backup=False)
    sender_db = Database.from_url(f"{pg_url}&application_name={name}")
    yield main, sender_db, name
    sender_db.dispose()
    main.dispose()


def _terminate(db: Database, application_name: str) -> int:
    with db.write() as s:
        return len(
            s.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": application_name},
            ).all()
        )


def test_terminated_database_connections_resume_with_one_line_each(pg_sender_db, smsc_factory, caplog):
    main, sender_db, name = pg_sender_db
    sim = smsc_factory(latency_ms=5.0)
    net = make_network(main, 400)
    r = runner(sender_db, sim, max_tps=200.0)
    r.start()
    caplog.set_level(logging.INFO, logger="bin_console")
    try:
        alert(main, net, "Verbinding kwijt")
        r.wake()
        assert sim.wait_for(lambda: len(sim.received) >= 100, 20)
        caplog.clear()
        killed = 0
        for _ in range(3):  # three times, while receipts and acks keep coming
            killed += _terminate(main, name)
            n = len(sim.received)
            assert sim.wait_for(lambda n=n: len(sim.received) >= n + 30, 20)
        assert killed >= 3
        assert wait_until(lambda: open_count(main) == 0, 60), states(main)
    finally:
        r.stop()
    got = {mobile(i): sim.messages_for(mobile(i)) for i in range(400)}
    assert all(v == ["Verbinding kwijt"] or (v and set(v) == {"Verbinding kwijt"}) for v in got.values())
    records = [rec for rec in caplog.records if rec.name.startswith("bin_console")]
    tracebacks = [rec for rec in records if rec.exc_info]
    assert tracebacks == [], [rec.getMessage() for rec in tracebacks][:5]
    lost = [rec for rec in records if rec.levelno >= logging.WARNING]
    assert 1 <= len(lost) <= 3 * 3, [rec.getMessage() for rec in lost]  # a line or so per reconnect
