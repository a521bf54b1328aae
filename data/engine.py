"""The engine: one factory for SQLite and PostgreSQL, usable from any thread.

SQLite is opened in WAL mode (readers never block the sender), with foreign keys on, a busy timeout
and synchronous=FULL (a committed alert survives a power cut). Python's sqlite3 driver is put in
autocommit mode and SQLAlchemy's ``begin`` event emits the BEGIN itself, so that write transactions
can take the write lock up front (``BEGIN IMMEDIATE``): a deferred read-then-write transaction gets
SQLITE_BUSY at once in WAL mode, whatever the busy timeout (shared notes/reliability.md §2.2).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_S = 10.0


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and point it at psycopg 3, the driver we ship."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> str | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database or ""
    return None if db in ("", ":memory:") else db


def create_db_engine(url: str) -> Engine:
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}}
        if path is None:
            # one shared in-memory database for every thread (tests)
            kwargs["poolclass"] = StaticPool
        else:
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", mode=0o700, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _install_sqlite_hooks(engine, in_memory=path is None)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _install_sqlite_hooks(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cur = dbapi_conn.cursor()
        if not in_memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "DEFERRED"
        # through SQLAlchemy, not the raw driver: a "database is locked" at BEGIN stays the wrapped
        # OperationalError every caller (and the sender's writer retry) already knows
        conn.exec_driver_sql(f"BEGIN {mode}")


@dataclass
class Database:
    """The engine plus the two kinds of session the code needs."""

    engine: Engine

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(create_db_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        # password masked: safe to log or show
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    @functools.cached_property
    def write_engine(self) -> Engine:
        """The engine whose transactions take the write lock at BEGIN on SQLite (made once: an
        options engine costs ~40 us to make, and a sender commits every few milliseconds)."""
        if self.engine.dialect.name == "sqlite":
            return self.engine.execution_options(sqlite_immediate=True)
        return self.engine

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that takes the write lock at BEGIN on SQLite; commits on success."""
        with Session(self.write_engine, expire_on_commit=False) as s:
            with s.begin():
                yield s

    def dispose(self) -> None:
        self.engine.dispose()
