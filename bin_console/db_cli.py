"""`bin-console db upgrade|current`."""

from __future__ import annotations

import sys

from .config import Settings
from .data.engine import Database
from .data.schema import current_revision, head_revision, upgrade
from .runtime import EX_CONFIG, missing_sqlite_file


def cmd_upgrade(args, settings: Settings) -> int:  # noqa: ANN001
    db = Database.from_url(settings.db_url)
    try:
        before = current_revision(db)
        backup = upgrade(db)
    except Exception as exc:
        print(
            f"bin-console: upgrade failed, database left as it was: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 2
    finally:
        db.dispose()
    after = head_revision(db)
    if before == after:
        print(f"{db.url}: schema already current ({after})")
    else:
        print(f"{db.url}: schema upgraded {before or 'empty'} -> {after}")
        if backup:
            print(f"copy of the database before the upgrade: {backup}")
    return 0


def cmd_current(args, settings: Settings) -> int:  # noqa: ANN001
    missing = missing_sqlite_file(settings.db_url)
    if missing is not None:  # a look must not create the file
        print(
            f"bin-console: database file {missing} does not exist; `bin-console db upgrade` creates it", file=sys.stderr
        )
        return EX_CONFIG
    db = Database.from_url(settings.db_url)
    try:
        cur, head = current_revision(db), head_revision(db)
    finally:
        db.dispose()
    state = "current" if cur == head else "behind: run `bin-console db upgrade`"
    print(f"{db.url}: revision {cur or 'none'} (head {head}) - {state}")
    return 0 if cur == head else 1
