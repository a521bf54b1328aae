"""Audit log: the chain verifies, and editing or deleting an entry is detected (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from bin_console.data.models import AuditEntry
from sqlalchemy import delete, update

from bin_console.cli.dispatch import main
from bin_console.trust import audit
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="disp1", ssh_client="10.0.0.5", host="console-1", login_uid=1001)


def _append_n(db, n, action="member.update"):
    for i in range(n):
        with db.write() as s:
            audit.append(s, ACTOR, action, f"member:{i}", {"fields": ["mobile"], "n": i})


def test_chain_verifies_and_links(db):
    _append_n(db, 5)
    assert audit.verify(db) == []
    with db.read() as s:
        rows = s.query(AuditEntry).order_by(AuditEntry.id).all()
    assert [r.id for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == ""
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, 5))
    assert rows[2].detail == '{"fields":["mobile"],"n":2}'
    assert rows[0].os_user == "disp1" and rows[0].ssh_client == "10.0.0.5" and rows[0].login_uid == 1001


def test_altered_row_detected(db):
    _append_n(db, 4)
    with db.write() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 2).values(detail='{"n":99}'))
    problems = audit.verify(db)
    assert any("seq 2" in p and "altered" in p for p in problems)


def test_deleted_row_detected_as_gap(db):
    _append_n(db, 4)
    with db.write() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == 3))
    problems = audit.verify(db)
    assert any("gap" in p and "expected seq 3" in p for p in problems)
    assert any("seq 4" in p and "prev_hash" in p for p in problems)


def test_rolled_back_append_leaves_no_trace(db):
    _append_n(db, 1)
    try:
        with db.write() as s:
            audit.append(s, ACTOR, "alert.send", "alert:1", {})
            raise RuntimeError("deed failed")
    except RuntimeError:
        pass
    _append_n(db, 1)
    assert audit.verify(db) == []
    assert audit.count(db) == 2


def test_concurrent_appends_form_one_chain(db):
    errors: list[BaseException] = []

    def worker():
        try:
            _append_n(db, 15)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert audit.count(db) == 45
    assert audit.verify(db) == []


def test_cli_verify_exit_codes(sqlite_db, capsys):
    url = str(sqlite_db.engine.url)
    _append_n(sqlite_db, 3)
    assert main(["--db", url, "audit", "verify"]) == 0
    assert "intact: 3 entries" in capsys.readouterr().out
    with sqlite_db.write() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 1).values(action="member.erase"))
    assert main(["--db", url, "audit", "verify"]) == 1
    assert "altered" in capsys.readouterr().out
