"""First use: commands that write start a missing SQLite file; read-only commands create nothing."""

from __future__ import annotations

import os
import sqlite3

import pytest
from bin_console.data import schema
from bin_console.data.engine import Database
from bin_console.data.schema import current_revision, head_revision, upgrade
from cli_subprocess import run_bin
from test_schema import GOOD, TEST_REV, _migrations_with

from bin_console.cli import dispatch as cli

READ_ONLY = [
    ["networks", "search", "kerk"],
    ["alerts", "list"],
    ["alerts", "show", "1"],
    ["export", "members", "--network", "BIN Kerkwijk"],
    ["audit", "verify"],
    ["db", "current"],
    ["import", "networks", "nets.csv", "--dry-run"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=[" ".join(c[:2]) for c in READ_ONLY])
def test_a_read_only_command_on_a_missing_file_says_so_and_creates_nothing(tmp_path, command):
    (tmp_path / "nets.csv").write_text("name;zone\n", encoding="utf-8")
    folder = tmp_path / "not" / "there"
    proc = run_bin(tmp_path, "--db", f"sqlite:///{folder / 'bin.db'}", *command)
    assert proc.returncode == 78, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert f"database file {folder / 'bin.db'} does not exist".encode() in proc.stderr
    assert not (tmp_path / "not").exists()


def _revision(path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()


def test_send_on_a_missing_file_creates_it_at_the_current_schema(tmp_path):
    db_file = tmp_path / "new" / "bin.db"
    proc = run_bin(tmp_path, "--db", f"sqlite:///{db_file}", "send", "--network", "BIN X", "--text", "hi")
    assert proc.returncode == 2  # no such network yet: refused, but the database is there for the directory work
    assert b"no network named 'BIN X'" in proc.stderr
    assert f"new database {db_file} created with the current schema".encode() in proc.stderr
    db = Database.from_url(f"sqlite:///{db_file}")
    try:
        assert _revision(db_file) == head_revision(db)
    finally:
        db.dispose()


def test_import_on_a_missing_file_creates_it(tmp_path):
    db_file = tmp_path / "bin.db"
    nets = tmp_path / "nets.csv"
    nets.write_text("name;zone\n", encoding="utf-8")
    proc = run_bin(tmp_path, "--db", f"sqlite:///{db_file}", "import", "networks", str(nets))
    assert b"Traceback" not in proc.stderr
    assert f"new database {db_file} created".encode() in proc.stderr
    assert db_file.exists()


def test_an_existing_database_behind_the_code_still_needs_db_upgrade(tmp_path, monkeypatch, capsys):
    """Creating applies only to a file that does not exist: a behind schema is never upgraded silently."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("BIN_CONSOLE_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 'bin.db'}"
    db = Database.from_url(url)
    upgrade(db, backup=False)
    real_head = current_revision(db)
    db.dispose()
    monkeypatch.setattr(schema, "MIGRATIONS_DIR", _migrations_with(tmp_path, GOOD))
    monkeypatch.setattr(schema, "HEAD_REVISION", TEST_REV)  # the code that brings a migration names it
    old_umask = os.umask(0o077)
    try:
        with pytest.raises(SystemExit) as exc:
            cli.main(["--db", url, "send", "--network", "BIN X", "--text", "hi"])
    finally:
        os.umask(old_umask)  # cli.main sets 077 for the process
    assert exc.value.code == 78
    assert "run `bin-console db upgrade`" in capsys.readouterr().err
    assert _revision(tmp_path / "bin.db") == real_head


def test_the_console_on_a_missing_file_creates_it_and_opens(tmp_path, monkeypatch):
    """First start on a fresh machine: the default database does not exist yet; the console makes it."""
    from bin_console import app_main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("BIN_CONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("BIN_CONSOLE_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    opened = []
    monkeypatch.setattr(app_main, "run_console", lambda settings, db, **kw: opened.append(db.url) or 0)
    old_umask = os.umask(0o077)
    try:
        assert cli.main([]) == 0
    finally:
        os.umask(old_umask)
    db_file = tmp_path / "data" / "bin-console" / "bin-console.db"
    assert opened == [f"sqlite:///{db_file}"]
    db = Database.from_url(f"sqlite:///{db_file}")
    try:
        assert _revision(db_file) == head_revision(db)
    finally:
        db.dispose()
