"""Shared start-up helpers for every command: open the database, say clearly when it cannot be used."""

from __future__ import annotations

import sys

from .config import Settings
from .data.engine import Database
from .data.schema import SchemaError, require_current

EX_CONFIG = 78


def open_db(settings: Settings, *, check_schema: bool = True) -> Database:
    """Open the configured database; with check_schema, raise SchemaError unless it is at head."""
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
        print(f"bin-console: {exc}", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None
    except Exception as exc:  # connection refused, bad URL, unreadable file...
        print(f"bin-console: cannot open database: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None
