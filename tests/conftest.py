"""Shared fixtures: real databases (SQLite file, PostgreSQL when reachable), settings, keyring guard."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from bin_console.data.engine import Database
from bin_console.data.schema import upgrade

from bin_console.config import Settings
from bin_console.i18n import activate

pytest_plugins = ["smsc_fixtures", "mail_fixtures"]

PG_BASE = os.environ.get("BIN_CONSOLE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# Tests must never touch a developer's real keyring: any test that forgets the in-memory keyring
# fixture fails loudly (NoKeyringError) instead.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
# Tests read the English messages whatever the machine's locale: LC_ALL decides for cli.main and for
# every bin-console the tests start (tests of other languages set their own environment).
os.environ["LC_ALL"] = "C.UTF-8"
activate("en")


def _pg_reachable() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError as exc:
        return f"PostgreSQL not reachable on 127.0.0.1:5432 ({exc})"
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3):
            pass
    except Exception as exc:
        return f"PostgreSQL on 127.0.0.1:5432 refused the test database: {exc}"
    return None


_PG_SKIP = None


def pg_skip_reason() -> str | None:
    global _PG_SKIP
    if _PG_SKIP is None:
        _PG_SKIP = _pg_reachable() or ""
    return _PG_SKIP or None


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL schema for one test (dropped afterwards); skips where no server runs."""
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'bin.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def any_db_url(request, tmp_path):
    """Parametrised over SQLite and PostgreSQL: data-layer tests run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bin.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db(any_db_url):
    """An upgraded, empty database on each backend."""
    database = Database.from_url(any_db_url)
    upgrade(database, backup=False)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(sqlite_url):
    database = Database.from_url(sqlite_url)
    upgrade(database, backup=False)
    yield database
    database.dispose()


@pytest.fixture
def settings(sqlite_url):
    s = Settings(db_url=sqlite_url)
    return s


@pytest.fixture
def mem_keyring():
    """An in-memory keyring for one test; refused by production checks (is_test_backend)."""
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1
        is_test_backend = True

        def __init__(self):
            super().__init__()
            self.store: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    prev = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(prev)
