"""Schema versioning through Alembic: upgrade, inspect, refuse to run on a schema that is behind."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from .engine import Database, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest migration's revision. Every command checks the schema against it before it runs, and
# Alembic (with Mako and Pygments) costs ~0.1 s to import: that check reads alembic_version itself
# and imports Alembic only when the schema is not at this revision or a migration runs.
# tests/test_schema.py checks that this is Alembic's head.
HEAD_REVISION = "0009"


class SchemaError(RuntimeError):
    """The database schema does not match this program (behind, ahead, or not a bin-console DB).

    ``kind`` and ``params`` name the case, so the command line can say it in the operator's
    language (cli/runtime.py schema_message); the message itself is English, for logs."""

    def __init__(self, message: str, *, kind: str = "", **params: object) -> None:
        super().__init__(message)
        self.kind = kind
        self.params = params


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # The URL is only informational here; the live connection is passed through attributes.
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def head_revision(db: Database) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _stored_revisions(db: Database) -> set[str] | None:
    """What alembic_version holds, read without Alembic; None when there is no such table."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}


def is_current(db: Database) -> bool:
    return current_revision(db) == head_revision(db)


def upgrade(db: Database, revision: str = "head", *, backup: bool = True) -> str | None:
    """Upgrade in one transaction; on SQLite, keep a copy of the file first.

    Returns the backup path (SQLite file databases only), so the operator knows where it is.
    """
    backup_path = None
    path = sqlite_path(db.url)
    if backup and path and os.path.exists(path) and current_revision(db) not in (None, head_revision(db)):
        backup_path = f"{path}.pre-upgrade"
        copy_sqlite(path, backup_path)
    from alembic import command

    cfg = alembic_config(db)
    with migration_connection(db) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return backup_path


def downgrade(db: Database, revision: str) -> None:
    """Downgrade to `revision` in one transaction, foreign keys off on SQLite as for `upgrade`."""
    from alembic import command

    cfg = alembic_config(db)
    with migration_connection(db) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


@contextmanager
def migration_connection(db: Database) -> Iterator[Connection]:
    """A connection inside one transaction for Alembic; committed when the block ends without error.

    On SQLite, foreign keys are off while migrations run. A batch migration recreates a table
    (copy, DROP TABLE, rename), and with foreign keys on, that DROP TABLE of a parent table (alert,
    delivery, member, network) deletes or nulls every row referencing it: 0008 once deleted every
    delivery, part and alert_network row that way. SQLite ignores the pragma inside a transaction,
    so it is set on the raw connection before BEGIN, checked, and set back on before the connection
    returns to the pool. Before the commit, `PRAGMA foreign_key_check` must find no row: a migration
    that breaks a reference fails and rolls back instead of leaving the database inconsistent.
    """
    with db.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        _set_foreign_keys(conn, on=False)
        try:
            # BEGIN IMMEDIATE: the write lock up front (a deferred read-then-write gets SQLITE_BUSY at once)
            conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    rows = ", ".join(f"{t} rowid {r} -> {p}" for t, r, p, _fk in broken[:10])
                    raise SchemaError(f"the migration left {len(broken)} broken foreign key(s), rolled back: {rows}")
        finally:
            if conn.in_transaction():  # never: the block above commits or rolls back
                conn.rollback()
            _set_foreign_keys(conn, on=True)


def _set_foreign_keys(conn: Connection, *, on: bool) -> None:
    """PRAGMA foreign_keys on the DBAPI connection, outside any transaction (SQLite ignores it inside)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    (state,) = raw.execute("PRAGMA foreign_keys").fetchone()
    if bool(state) != on:
        raise SchemaError(f"SQLite did not turn foreign keys {'on' if on else 'off'} for the migration")


def copy_sqlite(path: str, target: str) -> None:
    """A consistent copy of a live SQLite database, WAL included, through SQLite's online backup API.

    A file copy after a checkpoint misses committed rows whenever the checkpoint cannot finish (a reader
    holds an old snapshot): they are still only in the -wal file. The backup API reads through SQLite,
    so the copy holds every committed row whatever the WAL state.
    """
    if os.path.exists(target):
        os.unlink(target)  # a copy from an earlier upgrade: replace it, never merge into it
    src = sqlite3.connect(path)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def require_current(db: Database) -> None:
    """Raise SchemaError with a clear instruction when the schema is not at head."""
    if _stored_revisions(db) == {HEAD_REVISION}:  # the usual case, without importing Alembic
        return
    from alembic.script import ScriptDirectory

    cur, head = current_revision(db), head_revision(db)
    if cur == head:
        return
    if cur is None:
        raise SchemaError(
            f"database {db.url} has no bin-console schema; run `bin-console db upgrade` to create it",
            kind="empty",
            url=db.url,
        )
    script = ScriptDirectory.from_config(alembic_config(db))
    known = {rev.revision for rev in script.walk_revisions()}
    if cur not in known:
        raise SchemaError(
            f"database {db.url} is at revision {cur}, which this bin-console does not know "
            "(it was upgraded by a newer version); install that version",
            kind="ahead",
            url=db.url,
            revision=cur,
        )
    raise SchemaError(
        f"database {db.url} schema is behind ({cur} < {head}); run `bin-console db upgrade`",
        kind="behind",
        url=db.url,
        revision=cur,
        head=head,
    )
