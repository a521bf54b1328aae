"""Shared start-up helpers for every command: open the database, say clearly when it cannot be used.

First use: a command that writes starts a SQLite file that does not exist yet with the current schema
(`create_if_missing`); every other command refuses a missing file and creates nothing, not even its
folder, so a typo in --db never leaves an empty database behind. An existing database whose schema is
behind always needs `bin-console db upgrade` (it keeps a copy first).
"""

from __future__ import annotations

import os
import sys

from sqlalchemy.exc import ArgumentError

from bin_console.config import Settings
from bin_console.data.engine import Database, normalise_url, sqlite_path
from bin_console.data.schema import SchemaError, require_current, upgrade
from bin_console.i18n import N_, _

EX_CONFIG = 78


# What a SchemaError says, per kind, in the operator's language (the exception's text is English)
SCHEMA_MESSAGES = {
    "empty": N_("database {url} has no bin-console schema; run `bin-console db upgrade` to create it"),
    "ahead": N_(
        "database {url} is at revision {revision}, which this bin-console does not know "
        "(it was upgraded by a newer version); install that version"
    ),
    "behind": N_("database {url} schema is behind ({revision} < {head}); run `bin-console db upgrade`"),
}


def schema_message(exc: SchemaError) -> str:
    template = SCHEMA_MESSAGES.get(getattr(exc, "kind", ""))
    return _(template).format(**exc.params) if template else str(exc)


class DatabaseMissing(SchemaError):
    """The configured SQLite file does not exist (and this command does not create one)."""


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist yet; None for anything else."""
    try:
        path = sqlite_path(normalise_url(url))
    except ArgumentError:
        return None  # not a URL we can read: opening it reports that
    if path is None or os.path.exists(path):
        return None
    return path


def create_if_missing(settings: Settings) -> str | None:
    """For commands that write: start a missing SQLite file at the current schema; returns its path."""
    path = missing_sqlite_file(settings.db_url)
    if path is None:
        return None
    db = Database.from_url(settings.db_url)
    try:
        upgrade(db, backup=False)
    finally:
        db.dispose()
    return path


def create_database_if_missing(settings: Settings) -> int:
    """For a command that writes: start a missing SQLite file at the current schema; 0, or the exit code."""
    try:
        created = create_if_missing(settings)
    except Exception as exc:  # an unwritable folder, a full disk
        error = f"{type(exc).__name__}: {exc}"
        print(_("bin-console: cannot create the database: {error}").format(error=error), file=sys.stderr)
        return EX_CONFIG
    if created:
        message = _("bin-console: new database {path} created with the current schema")
        print(message.format(path=created), file=sys.stderr)
    return 0


def open_db(settings: Settings, *, check_schema: bool = True) -> Database:
    """Open the configured database; with check_schema, raise SchemaError unless it is at head.

    A SQLite file that does not exist raises DatabaseMissing before anything is created.
    """
    path = missing_sqlite_file(settings.db_url)
    if path is not None:
        raise DatabaseMissing(
            _(
                "database file {path} does not exist; check --db / BIN_CONSOLE_DB / [database] url, or create it "
                "with `bin-console db upgrade` (the console, import and send create it too)"
            ).format(path=path)
        )
    db = Database.from_url(settings.db_url)
    if check_schema:
        try:
            require_current(db)
        except SchemaError:
            db.dispose()
            raise
    return db


def open_db_or_exit(settings: Settings) -> Database:
    """For CLI commands: print the schema/connection problem and exit 78 instead of a traceback."""
    try:
        return open_db(settings)
    except SchemaError as exc:
        print(f"bin-console: {schema_message(exc)}", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None
    except Exception as exc:  # connection refused, bad URL, unreadable file...
        error = f"{type(exc).__name__}: {exc}"
        print(_("bin-console: cannot open database: {error}").format(error=error), file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None
