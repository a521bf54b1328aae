"""`bin-console db upgrade|current`."""

from __future__ import annotations

import sys

from bin_console.cli.runtime import EX_CONFIG, missing_sqlite_file
from bin_console.config import Settings
from bin_console.data.engine import Database
from bin_console.data.schema import current_revision, head_revision, upgrade
from bin_console.i18n import _


def cmd_upgrade(args, settings: Settings) -> int:
    db = Database.from_url(settings.db_url)
    try:
        before = current_revision(db)
        backup = upgrade(db)
    except Exception as exc:
        failed = _("bin-console: upgrade failed, database left as it was: {error}")
        print(failed.format(error=f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return 2
    finally:
        db.dispose()
    after = head_revision(db)
    if before == after:
        print(_("{url}: schema already current ({revision})").format(url=db.url, revision=after))
    else:
        upgraded = _("{url}: schema upgraded {before} -> {after}")
        # Translators: the schema revision of a database that has none yet ("upgraded empty -> 0007")
        print(upgraded.format(url=db.url, before=before or _("empty"), after=after))
        if backup:
            print(_("copy of the database before the upgrade: {path}").format(path=backup))
    return 0


def cmd_current(args, settings: Settings) -> int:
    missing = missing_sqlite_file(settings.db_url)
    if missing is not None:  # a look must not create the file
        message = _("bin-console: database file {path} does not exist; `bin-console db upgrade` creates it")
        print(message.format(path=missing), file=sys.stderr)
        return EX_CONFIG
    db = Database.from_url(settings.db_url)
    try:
        cur, head = current_revision(db), head_revision(db)
    finally:
        db.dispose()
    if cur == head:
        text = _("{url}: revision {revision} (head {head}) - current")
    else:
        text = _("{url}: revision {revision} (head {head}) - behind: run `bin-console db upgrade`")
    # Translators: the schema revision of a database that has none yet ("revision none (head 0007)")
    print(text.format(url=db.url, revision=cur or _("none"), head=head))
    return 0 if cur == head else 1
