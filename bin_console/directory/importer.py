"""`bin-console import members FILE`: coordinators' CSV/XLSX member lists into the directory.

Networks are imported by `importer_networks` (re-exported here, as are the report types).

Two phases. First every row is read and validated against the file and the database (one pre-load
of the network's members into dicts, no per-row queries); each bad row becomes a RowError with
its line, column and reason, and good rows are kept. Then, unless it is a dry run, all good rows
are written in ONE transaction with bulk executemany statements, so a failure during the write
leaves the database exactly as it was.

Re-importing the same file changes nothing: a row is matched to an existing member by mobile,
else e-mail, else (folded name, street, house number), and updates it. Blank cells never erase
stored data and an import never clears an opt-out (that is the member's decision).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlmodel import col

from bin_console.data.engine import Database
from bin_console.data.models import Member, Network, PoliceZone, utcnow
from bin_console.data.networks import find_networks
from bin_console.data.tables import MEMBER
from bin_console.directory.import_fields import (
    LANGUAGE_VALUES,
    MEMBER_HEADERS,
    NO_DATA_ROWS,
    ROLE_VALUES,
    STATUS_VALUES,
    Columns,
    _choice,
    _consent,
    _yes,
    audit_import,
    describe_table,
    key_fold,
)
from bin_console.directory.import_report import WRITE_FAILED, ImportReport, RowError, print_report
from bin_console.directory.importer_networks import cmd_import_networks, import_networks
from bin_console.directory.tabular import FatalFileError, read_table
from bin_console.directory.validation import (
    ValidationError,
    check_name,
    check_postcode,
    check_text,
    is_mobile,
    parse_email,
    parse_landline,
    parse_mobile,
)
from bin_console.i18n import _
from bin_console.trust.textsafe import clean

CHUNK = 1000

# --- members ----------------------------------------------------------------------------------------

_MEMBER_WRITE_COLUMNS = (
    "name",
    "name_key",
    "mobile",
    "landline",
    "email",
    "street",
    "street_key",
    "house_number",
    "postcode",
    "municipality",
    "language",
    "role",
    "status",
    "consent_date",
    "sms_opt_out",
    "email_opt_out",
)


@dataclass
class _Existing:
    by_id: dict[int, dict]
    by_mobile: dict[str, int]
    by_email: dict[str, int]
    by_key: dict[tuple[str, str, str], int]


def _load_members(session: Session, network_id: int) -> _Existing:
    cols = [col(Member.id), *(getattr(Member, c) for c in _MEMBER_WRITE_COLUMNS)]
    found = _Existing(by_id={}, by_mobile={}, by_email={}, by_key={})
    by_id, by_mobile, by_email, by_key = found.by_id, found.by_mobile, found.by_email, found.by_key
    for row in session.execute(select(*cols).where(col(Member.network_id) == network_id)):
        rec: dict[str, Any] = dict(zip(["id", *_MEMBER_WRITE_COLUMNS], row, strict=True))
        mid = rec["id"]
        by_id[mid] = rec
        if rec["mobile"]:
            by_mobile[rec["mobile"]] = mid
        if rec["email"]:
            by_email[rec["email"].lower()] = mid
        by_key.setdefault((rec["name_key"], rec["street_key"], rec["house_number"]), mid)
    return found


def _cached(fn):
    """Streets, postcodes, languages... repeat thousands of times in one file: parse each value once."""
    return lru_cache(maxsize=8192)(fn)


# field -> parser of the (stripped) cell text; the value-set parsers give "" for a blank cell
_SIMPLE_MEMBER_FIELDS: dict[str, Callable[[str], object]] = {
    "street": _cached(lambda t: check_text(t, max_len=120, what="street")),
    "house_number": _cached(lambda t: check_text(t, max_len=12, what="house number")),
    "municipality": _cached(lambda t: check_text(t, max_len=80, what="municipality")),
    "postcode": _cached(check_postcode),
    "language": _cached(lambda t: _choice(t, LANGUAGE_VALUES, "language", "")),
    "role": _cached(lambda t: _choice(t, ROLE_VALUES, "role", "")),
    "status": _cached(lambda t: _choice(t, STATUS_VALUES, "status", "")),
    "consent_date": _cached(lambda t: _consent(t)),
    "sms_opt_out": _cached(lambda t: _yes(t)),
    "email_opt_out": _cached(lambda t: _yes(t)),
    "opt_out": _cached(lambda t: _yes(t)),
}
_check_name_part = _cached(lambda t: check_text(t, max_len=120, what="name"))


def _member_from_row(cols: Columns, cells: list[str]) -> tuple[dict, list[tuple[str, str]]]:
    """Parsed values of the columns present, and the (field, reason) errors."""
    v: dict = {}
    errs: list[tuple[str, str]] = []
    g = cols.get
    name = g(cells, "name")
    if cols.has("first_name") or cols.has("last_name"):
        first, last = g(cells, "first_name"), g(cells, "last_name")
        if not cols.has("last_name"):  # "Voornaam" + "Naam": naam is the family name
            last = name
        elif name and not (first or last):
            first = name
        for f, part in (("first_name", first), ("last_name" if cols.has("last_name") else "name", last)):
            if part:
                try:
                    _check_name_part(part)
                except ValueError as exc:
                    errs.append((f, str(exc)))
        name = f"{first} {last}" if first and last else (first or last)
    try:
        v["name"] = check_name(name)
    except ValueError as exc:
        errs.append(("name", str(exc)))
    mobile = landline = email = None
    raw = g(cells, "mobile")
    if raw:
        try:
            mobile = parse_mobile(raw)
        except ValueError as exc:
            errs.append(("mobile", str(exc)))
    raw = g(cells, "landline")
    if raw:
        try:
            landline = parse_landline(raw)
            if mobile is None and not raw_mobile_failed(errs) and is_mobile(landline):
                # a mobile written in the "phone" column is still the member's SMS number
                mobile, landline = landline, None
        except ValueError as exc:
            errs.append(("landline", str(exc)))
    raw = g(cells, "email")
    if raw:
        try:
            email = parse_email(raw)
        except ValueError as exc:
            errs.append(("email", str(exc)))
    v["mobile"], v["landline"], v["email"] = mobile, landline, email
    if not errs and not (mobile or landline or email):
        errs.append(("mobile", _("no mobile, phone or e-mail: the member cannot be reached")))
    for f, _i in cols.simple:
        text = g(cells, f)
        try:
            v[f] = _SIMPLE_MEMBER_FIELDS[f](text)
        except ValueError as exc:
            errs.append((f, str(exc)))
    if v.pop("opt_out", False):
        v["sms_opt_out"] = v["email_opt_out"] = True
    return v, errs


def raw_mobile_failed(errs: list[tuple[str, str]]) -> bool:
    return any(f == "mobile" for f, _ in errs)


def _new_member(network_id: int, v: dict, now, key: tuple[str, str, str]) -> dict:
    sms_out, mail_out = bool(v.get("sms_opt_out")), bool(v.get("email_opt_out"))
    return {
        "network_id": network_id,
        "name": v["name"],
        "name_key": key[0],
        "mobile": v.get("mobile"),
        "landline": v.get("landline"),
        "email": v.get("email"),
        "street": v.get("street") or "",
        "street_key": key[1],
        "house_number": v.get("house_number") or "",
        "postcode": v.get("postcode") or "",
        "municipality": v.get("municipality") or "",
        "language": v.get("language") or "",  # not known: the network's language applies
        "role": v.get("role") or "member",
        "status": v.get("status") or "active",
        "consent_date": v.get("consent_date"),
        "sms_opt_out": sms_out,
        "email_opt_out": mail_out,
        "opt_out_at": now if (sms_out or mail_out) else None,
        "created_at": now,
        "updated_at": now,
    }


def _changes(old: dict, v: dict) -> dict:
    """Fields the row changes on an existing member: blanks never erase, opt-outs are never cleared."""
    ch: dict = {}
    for f, val in v.items():
        if f in ("sms_opt_out", "email_opt_out"):
            if val and not old[f]:
                ch[f] = True
            continue
        if val is None or val == "":
            continue
        if old.get(f) != val:
            ch[f] = val
    if "name" in ch:
        ch["name_key"] = key_fold(ch["name"])[:120]
    if "street" in ch:
        ch["street_key"] = key_fold(ch["street"])[:120]
    return ch


def import_members(db: Database, path, network_id: int, *, dry_run: bool = False) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    try:
        table = read_table(path)
    except FatalFileError as exc:
        report.fatal = str(exc)
        return report
    describe_table(report, table)
    cols = Columns(table.header, MEMBER_HEADERS, frozenset(_SIMPLE_MEMBER_FIELDS))
    report.ignored_columns = cols.ignored
    has_name = cols.has("name") or cols.has("first_name") or cols.has("last_name")
    has_contact = cols.has("mobile") or cols.has("landline") or cols.has("email")
    if not (has_name and has_contact):
        report.fatal = _(
            "no usable header: the first row must name the columns, with a name (naam/nom/name or voornaam +"
            " achternaam) and a mobile, phone or e-mail column (gsm/portable/mobile, telefoon/téléphone/phone,"
            " e-mail/courriel)"
        )
        return report
    if not table.rows and not table.row_errors:
        report.fatal = _(NO_DATA_ROWS)
        return report
    parsed: list[tuple[int, dict]] = []
    for line, cells in table.rows:
        v, errs = _member_from_row(cols, cells)
        if errs:
            report.rejected += [RowError(line, _col_title(cols.title, f), r) for f, r in errs]
        else:
            parsed.append((line, v))
    try:
        if dry_run:
            with db.read() as s:
                _match_and_write(s, report, parsed, cols.title, network_id, path, write=False)
        else:
            # The members are loaded inside the write transaction: matches made against a snapshot
            # taken earlier could update a member someone else has just changed or removed.
            with db.write() as s:
                _match_and_write(s, report, parsed, cols.title, network_id, path, write=True)
    except IntegrityError:
        # str(exc) would quote the clashing row (members' numbers and addresses): say what to do instead
        report.nothing_written(_("the network changed during import; run again (nothing was imported)"))
    except SQLAlchemyError as exc:
        report.nothing_written(f"{_(WRITE_FAILED)}: {type(exc).__name__}")
    except Exception as exc:  # any failure: the transaction rolled back, the directory is as it was
        report.nothing_written(f"{_(WRITE_FAILED)}: {type(exc).__name__}: {exc}")
    report.rejected.sort(key=lambda e: e.line)  # parse and match errors, in file order
    return report


def _match_and_write(s: Session, report: ImportReport, parsed, title, network_id: int, path, *, write: bool) -> None:
    """Match the parsed rows to the network's members as they are in this transaction, then write."""
    if s.execute(select(col(Network.id)).where(col(Network.id) == network_id).with_for_update()).first() is None:
        report.fatal = _("network {id} does not exist").format(id=network_id)
        return
    existing = _load_members(s, network_id)
    now = utcnow()
    inserts: list[dict] = []
    updates: list[dict] = []
    claimed: dict[int, int] = {}  # existing member id -> line that matched it
    seen_mobile: dict[str, int] = {}
    seen_email: dict[str, int] = {}
    seen_key: dict[tuple, int] = {}
    for line, v in parsed:
        mobile, email = v.get("mobile"), (v.get("email") or "").lower() or None
        key = (key_fold(v["name"])[:120], key_fold(v.get("street") or "")[:120], v.get("house_number") or "")
        # duplicates inside the file: the later row is refused, naming the first
        dup = (
            ("mobile", seen_mobile.get(mobile) if mobile else None),
            ("email", seen_email.get(email) if email else None),
            ("name", seen_key.get(key)),
        )
        first_dup = next(((f, ln) for f, ln in dup if ln is not None), None)
        if first_dup:
            f, ln = first_dup
            reason = {
                "mobile": _("same mobile number as line {line} (duplicate row)"),
                "email": _("same e-mail address as line {line} (duplicate row)"),
                "name": _("same name and address as line {line} (duplicate row)"),
            }[f]
            report.rejected.append(RowError(line, _col_title(title, f), reason.format(line=ln)))
            continue
        # match an existing member: mobile, else e-mail, else name + address
        by_address = (existing.by_mobile.get(mobile) if mobile else None) or (
            existing.by_email.get(email) if email else None
        )
        mid = by_address or existing.by_key.get(key)
        # the row's other addresses must not belong to a different member
        clash = None
        for f, other in (
            ("mobile", existing.by_mobile.get(mobile) if mobile else None),
            ("email", existing.by_email.get(email) if email else None),
        ):
            if other is not None and other != mid:
                clash = (f, other)
                break
        if clash:
            f, other = clash
            name = existing.by_id[other]["name"]
            report.rejected.append(
                RowError(
                    line,
                    _col_title(title, f),
                    _("already used by member {name} (#{id}) in this network").format(name=repr(name), id=other),
                )
            )
            continue
        if mid is not None and by_address is None:
            # Matched on name and address only: a namesake (a child, a new tenant) must not take over
            # the stored member's SMS number or mailbox.
            differs = _namesake_differs(existing.by_id[mid], mobile, email)
            if differs:
                report.rejected.append(
                    RowError(
                        line,
                        _col_title(title, differs),
                        _namesake_reason(differs, mid),
                    )
                )
                continue
        if mid is not None and mid in claimed:
            report.rejected.append(
                RowError(
                    line,
                    _col_title(title, "name"),
                    _("same member as line {line} (duplicate row)").format(line=claimed[mid]),
                )
            )
            continue
        if mid is not None and existing.by_id[mid]["status"] == "left" and v.get("status") not in (None, "", "left"):
            # like an opt-out, leaving is the member's decision: only the console brings a member back
            report.rejected.append(
                RowError(
                    line,
                    _col_title(title, "status"),
                    _("member #{id} has left the network; an import does not bring them back (use the console)").format(
                        id=mid
                    ),
                )
            )
            continue
        if mobile:
            seen_mobile[mobile] = line
        if email:
            seen_email[email] = line
        seen_key[key] = line
        if mid is None:
            inserts.append(_new_member(network_id, v, now, key))
            continue
        claimed[mid] = line
        ch = _changes(existing.by_id[mid], v)
        if ch:
            if ch.get("sms_opt_out") or ch.get("email_opt_out"):
                ch["opt_out_at"] = now
            ch["id"] = mid
            ch["updated_at"] = now
            updates.append(ch)
        else:
            report.unchanged += 1
    report.imported, report.updated = len(inserts), len(updates)
    if not write or not (inserts or updates):
        return
    for i in range(0, len(inserts), CHUNK):
        _insert_chunk(s, inserts[i : i + CHUNK])
    for i in range(0, len(updates), CHUNK):
        _update_chunk(s, updates[i : i + CHUNK])
    audit_import(s, "member.import", f"network:{network_id}", report, path)


def _namesake_reason(differs: str, member_id: int) -> str:
    """Why a namesake's row is refused: it would replace the stored ``differs`` field ("mobile"/"email")."""
    if differs == "mobile":
        text = _("name and address match member #{id} but the mobile differs; change it in the console")
    else:
        text = _("name and address match member #{id} but the e-mail differs; change it in the console")
    return text.format(id=member_id)


def _namesake_differs(old: dict, mobile: str | None, email: str | None) -> str | None:
    """The field ("mobile"/"email") whose stored, non-empty value the row would replace, if any."""
    if mobile and old["mobile"] and old["mobile"] != mobile:
        return "mobile"
    if email and old["email"] and old["email"].lower() != email:
        return "email"
    return None


def _col_title(title: dict[str, str], f: str) -> str:
    if f == "name" and "name" not in title:
        return " + ".join(t for k, t in title.items() if k in ("first_name", "last_name")) or "name"
    return title.get(f, f)


def _insert_chunk(session: Session, rows: list[dict]) -> None:
    """One executemany INSERT (Core, not per-row ORM objects): the import's hot path.

    On SQLite the rows go straight to the driver's executemany, each value converted by its column
    type's own bind processor (the same conversion SQLAlchemy applies): SQLAlchemy's per-row
    parameter processing was a fifth of a 50,000-row import.
    """
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        session.execute(insert(MEMBER), rows)
        return
    columns, sql, processors = _sqlite_member_insert(conn.dialect)
    if not set(columns) <= rows[0].keys():
        # a column this path would fill with NULL instead of its default: take SQLAlchemy's path
        session.execute(insert(MEMBER), rows)
        return
    params = [
        tuple(proc(r.get(c)) if proc else r.get(c) for c, proc in zip(columns, processors, strict=True)) for r in rows
    ]
    conn.exec_driver_sql(sql, params)


_SQLITE_INSERT_CACHE: dict[int, tuple[tuple[str, ...], str, list]] = {}


def _sqlite_member_insert(dialect):
    """(columns, INSERT statement, bind processors) for member rows, built once per dialect."""
    cached = _SQLITE_INSERT_CACHE.get(id(dialect))
    if cached is None:
        table = MEMBER
        columns = tuple(c.name for c in table.columns if c.name != "id")
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
        cached = _SQLITE_INSERT_CACHE[id(dialect)] = (columns, sql, processors)
    return cached


def _update_chunk(session: Session, rows: list[dict]) -> None:
    # group by the set of changed columns: one executemany per shape
    shapes: dict[tuple, list[dict]] = {}
    for r in rows:
        shapes.setdefault(tuple(sorted(r)), []).append(r)
    table = MEMBER
    for keys, group in shapes.items():
        values: dict[str, BindParameter[Any]] = {k: bindparam(f"v_{k}") for k in keys if k != "id"}
        stmt = update(table).where(table.c.id == bindparam("v_id")).values(**values)
        session.execute(stmt, [{f"v_{k}": r[k] for k in keys} for r in group])


# --- CLI --------------------------------------------------------------------------------------------


def cmd_import_members(args, settings) -> int:
    from bin_console.cli.runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        with db.read() as s:
            found = find_networks(s, args.network)
            if len(found) > 1 and settings.zone:
                zone = s.scalars(select(PoliceZone).where(col(PoliceZone.code) == settings.zone)).first()
                found = [n for n in found if zone is not None and n.zone_id == zone.id]
            zone_codes = {z.id: z.code for z in s.scalars(select(PoliceZone))}
        if not found:
            print(_("bin-console: no network named {name}").format(name=repr(clean(args.network))), file=sys.stderr)
            return 2
        if len(found) > 1:
            codes = ", ".join(zone_codes.get(n.zone_id, "?") for n in found)
            several = _(
                "bin-console: several networks are named {name} (zones {zones}); set [console] zone in the config"
                " to choose"
            )
            print(several.format(name=repr(clean(args.network)), zones=codes), file=sys.stderr)
            return 2
        network_id = found[0].id
        assert network_id is not None  # a stored network
        report = import_members(db, args.file, network_id, dry_run=args.dry_run)
    finally:
        db.dispose()
    print_report(report, args.file)
    return report.exit_code()


__all__ = [
    "ImportReport",
    "RowError",
    "ValidationError",
    "cmd_import_members",
    "cmd_import_networks",
    "import_members",
    "import_networks",
    "print_report",
]
