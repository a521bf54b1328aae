"""`db upgrade`'s safety copy holds every committed row, also those still only in the WAL."""

from __future__ import annotations

import sqlite3

from bin_console.data import schema
from bin_console.data.engine import Database
from bin_console.data.schema import upgrade
from test_schema import GOOD, TEST_REV, _migrations_with


def _zone_codes(path: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT code FROM police_zone ORDER BY code")]
    finally:
        conn.close()


def test_backup_holds_rows_committed_by_another_connection_still_in_the_wal(tmp_path, monkeypatch):
    path = tmp_path / "bin.db"
    db = Database.from_url(f"sqlite:///{path}")
    upgrade(db, backup=False)
    db.dispose()
    # A reader whose snapshot predates the writes keeps the checkpoint from moving them into the file.
    reader = sqlite3.connect(path, isolation_level=None)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM police_zone").fetchone()
        writer.execute("INSERT INTO police_zone (code, name) VALUES ('5999', 'PZ Demerdal')")
        writer.execute("INSERT INTO police_zone (code, name) VALUES ('5998', 'PZ Andere')")
        monkeypatch.setattr(schema, "MIGRATIONS_DIR", _migrations_with(tmp_path, GOOD))
        monkeypatch.setattr(schema, "HEAD_REVISION", TEST_REV)  # the code that brings a migration names it
        db = Database.from_url(f"sqlite:///{path}")
        try:
            backup = upgrade(db)
        finally:
            db.dispose()
        reader.execute("COMMIT")
    finally:
        reader.close()
        writer.close()
    assert backup == f"{path}.pre-upgrade"
    assert _zone_codes(backup) == ["5998", "5999"]
