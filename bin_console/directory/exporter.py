"""`bin-console export members --network NAME [-o FILE]`: spreadsheet-safe CSV that imports back.

Safe to open in Excel/LibreOffice (OWASP formula injection): every cell starting with = + - @ TAB CR
LF (or NUL) gets a leading ', every cell is quoted, ';' separates (Belgian Excel), UTF-8 with BOM
(Excel then reads accents right), the file is created 0600. E.164 phones therefore appear as
'+32..., which the importer strips again, so export -> import round-trips.
"""

from __future__ import annotations

import csv
import io
import os
import sys

from sqlalchemy import select
from sqlmodel import col

from bin_console.data.engine import Database
from bin_console.data.models import Member, PoliceZone
from bin_console.data.networks import find_networks
from bin_console.i18n import _, ngettext, number
from bin_console.trust.textsafe import clean

HEADER = [
    "name",
    "mobile",
    "phone",
    "e-mail",
    "street",
    "number",
    "postcode",
    "municipality",
    "language",
    "role",
    "status",
    "consent",
    "sms opt-out",
    "e-mail opt-out",
]
# cells starting with one of these get a leading ' (the importer takes it off again)
GUARDED_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")


def safe_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    s = str(value)
    return "'" + s if s.startswith(GUARDED_STARTS) else s


def member_rows(db: Database, network_id: int):
    cols = (
        col(Member.name),
        col(Member.mobile),
        col(Member.landline),
        col(Member.email),
        col(Member.street),
        col(Member.house_number),
        col(Member.postcode),
        col(Member.municipality),
        col(Member.language),
        col(Member.role),
        col(Member.status),
        col(Member.consent_date),
        col(Member.sms_opt_out),
        col(Member.email_opt_out),
    )
    with db.read() as s:
        stmt = select(*cols).where(col(Member.network_id) == network_id).order_by(col(Member.name_key), col(Member.id))
        return [list(r) for r in s.execute(stmt)]


def write_members_csv(db: Database, network_id: int, out) -> int:
    """Write the CSV (text, without BOM) to a text stream; returns the number of members."""
    w = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow(HEADER)
    rows = member_rows(db, network_id)
    for r in rows:
        if r[11] is not None:
            r[11] = r[11].isoformat()
        w.writerow([safe_cell(v) for v in r])
    return len(rows)


def export_members(db: Database, network_id: int, path: str | os.PathLike) -> int:
    """Create (or replace) a 0600 file with a UTF-8 BOM; returns the number of members written."""
    buf = io.StringIO()
    n = write_members_csv(db, network_id, buf)
    data = ("\ufeff" + buf.getvalue()).encode("utf-8")
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(tmp, flags, 0o600)
    except FileExistsError:
        # a stale temp file, or a planted symlink: remove the name itself (unlink never follows) and
        # create our own file; O_EXCL refuses again if someone raced us to it
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask cannot widen it, but make the mode explicit
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return n


def _audit_export(db: Database, network_id: int, count: int, target: str) -> None:
    from bin_console.directory.service import audit
    from bin_console.trust.actor import Actor

    with db.write() as s:
        audit(s, Actor.current(), "member.export", f"network:{network_id}", {"members": count, "to": target})


def cmd_export_members(args, settings) -> int:
    from bin_console.cli.runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        with db.read() as s:
            found = find_networks(s, args.network)
            if len(found) > 1 and settings.zone:
                zone = s.scalars(select(PoliceZone).where(col(PoliceZone.code) == settings.zone)).first()
                found = [n for n in found if zone is not None and n.zone_id == zone.id]
        if len(found) != 1:
            if not found:
                message = _("bin-console: no network named {name}")
            else:
                message = _("bin-console: several networks named {name} (set [console] zone to choose)")
            print(message.format(name=repr(clean(args.network))), file=sys.stderr)
            return 2
        nid = found[0].id
        assert nid is not None  # a stored row
        if args.output:
            n = export_members(db, nid, args.output)
            target = os.path.basename(args.output)
            written = ngettext("{n} member written to {path}", "{n} members written to {path}", n)
            print(written.format(n=number(n), path=clean(args.output)), file=sys.stderr)
        else:
            out = sys.stdout
            out.write("\ufeff")
            n = write_members_csv(db, nid, out)
            out.flush()
            target = "stdout"
        _audit_export(db, nid, n, target)
    finally:
        db.dispose()
    return 0
