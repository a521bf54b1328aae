"""`bin-console import networks|members FILE`: coordinators' CSV/XLSX files into the directory.

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

import os
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from .data.engine import Database
from .data.keys import fold
from .data.models import Member, Network, NetworkStreet, PoliceZone, utcnow
from .data.networks import find_networks
from .data.search_index import rebuild_terms
from .exporter import GUARDED_STARTS
from .tabular import FatalFileError, Table, read_table
from .textsafe import clean
from .validation import (
    ValidationError,
    check_date,
    check_kind,
    check_name,
    check_postcode,
    check_sender,
    check_text,
    is_mobile,
    parse_date_text,
    parse_email,
    parse_landline,
    parse_mobile,
)

CHUNK = 1000
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=4096)
def _fold_cached(text: str) -> str:
    return fold(text)


def key_fold(text: str) -> str:
    """data.keys.fold, faster for the import's hot path: plain ASCII needs no Unicode decomposition
    (NFKD leaves ASCII unchanged), and repeated values (streets, languages) come from a cache."""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    return _fold_cached(text)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {clean(self.column) or '-'}: {clean(self.reason)}"


@dataclass
class ImportReport:
    imported: int = 0  # new rows written (or that would be, in a dry run)
    updated: int = 0  # existing rows changed
    rejected: list[RowError] = field(default_factory=list)
    fatal: str | None = None  # the file as a whole was refused; nothing was written
    unchanged: int = 0  # rows that matched existing data exactly
    rows: int = 0  # data rows read
    encoding: str = ""
    delimiter: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({e.line for e in self.rejected})

    def exit_code(self) -> int:
        """0 every row imported, 1 some rows rejected, 2 nothing imported."""
        if self.fatal or self.imported + self.updated + self.unchanged == 0:
            return 2
        return 1 if self.rejected else 0


# --- header recognition -----------------------------------------------------------------------------


def header_key(h: str) -> str:
    """Case, accent, space and punctuation insensitive: "E-mail" / "e mail" / "Émail" -> "email"."""
    return fold(h).replace(" ", "")


def _aliases(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {header_key(a): f for f, names in table.items() for a in names}


MEMBER_HEADERS = _aliases(
    {
        "name": ("naam", "nom", "name", "volledige naam", "nom complet", "full name", "naam lid", "lid", "membre"),
        "first_name": ("voornaam", "prénom", "first name", "firstname", "given name", "vorname"),
        "last_name": ("achternaam", "familienaam", "nom de famille", "last name", "surname", "nachname"),
        "mobile": (
            "gsm",
            "mobiel",
            "portable",
            "mobile",
            "gsm-nummer",
            "gsm nr",
            "mobiel nummer",
            "mobile number",
            "mobile phone",
            "n° portable",
            "numéro de portable",
            "tél. portable",
            "handy",
            "gsm lid",
        ),
        "landline": (
            "telefoon",
            "téléphone",
            "phone",
            "vast",
            "vaste telefoon",
            "vast nummer",
            "telefoonnummer",
            "tel",
            "tél",
            "tél. fixe",
            "fixe",
            "telefon",
            "landline",
        ),
        "email": ("e-mail", "email", "courriel", "mail", "e-mailadres", "adresse e-mail", "email address"),
        "street": ("straat", "rue", "street", "straatnaam", "straße", "strasse"),
        "house_number": ("nr", "huisnummer", "numéro", "n°", "number", "no", "huisnr", "hausnummer", "nummer", "num"),
        "postcode": ("postcode", "code postal", "postal code", "zip", "zip code", "postleitzahl", "plz", "cp"),
        "municipality": ("gemeente", "commune", "municipality", "city", "woonplaats", "localité", "ville", "gemeinde"),
        "language": ("taal", "langue", "language", "sprache"),
        "role": ("rol", "rôle", "role", "functie", "fonction", "rolle"),
        "status": ("status", "statut"),
        "consent_date": (
            "toestemming",
            "consentement",
            "consent",
            "datum toestemming",
            "toestemmingsdatum",
            "date consentement",
            "consent date",
            "einwilligung",
        ),
        "sms_opt_out": ("sms opt-out", "opt-out sms", "geen sms", "pas de sms", "no sms", "keine sms"),
        "email_opt_out": (
            "e-mail opt-out",
            "email opt-out",
            "opt-out e-mail",
            "opt-out email",
            "geen e-mail",
            "geen mail",
            "pas d'e-mail",
            "pas de mail",
            "no e-mail",
            "no email",
        ),
        "opt_out": ("opt-out", "optout", "afgemeld", "désinscrit"),
    }
)

NETWORK_HEADERS = _aliases(
    {
        "name": ("netwerk", "network", "bin", "naam", "nom", "name", "netwerknaam", "network name", "réseau", "plp"),
        "kind": ("type", "soort", "kind", "genre", "type netwerk", "type de réseau"),
        "municipality": ("gemeente", "commune", "municipality", "city", "gemeinde"),
        "zone": ("zone", "politiezone", "zone de police", "police zone", "pz", "zp", "zone code"),
        "coordinator_name": ("coördinator", "coordinateur", "coordinatrice", "coordinator", "coordinator name"),
        "coordinator_phone": ("gsm coördinator", "coördinator gsm", "tél. coordinateur", "coordinator phone"),
        "coordinator_email": ("e-mail coördinator", "coördinator e-mail", "e-mail coordinateur", "coordinator e-mail"),
        "sms_sender": ("afzender", "expéditeur", "sender", "sms afzender", "sms sender", "expéditeur sms"),
        "charter_signed": (
            "charter",
            "charte",
            "charterdatum",
            "datum charter",
            "date charte",
            "charter date",
            "ondertekend",
            "signé",
        ),
        "status": ("status", "statut"),
        "street": ("straat", "rue", "street", "straatnaam", "straße"),
        "postcode": ("postcode", "code postal", "postal code", "zip", "plz"),
        "street_municipality": (
            "straat gemeente",
            "gemeente straat",
            "deelgemeente",
            "commune rue",
            "commune de la rue",
            "street municipality",
        ),
    }
)

_LANG = {
    "nl": ("nl", "nederlands", "dutch", "neerlandais", "vlaams", "niederlandisch", "n"),
    "fr": ("fr", "frans", "francais", "french", "franzosisch", "f"),
    "de": ("de", "duits", "deutsch", "allemand", "german", "d"),
    "en": ("en", "engels", "english", "anglais", "englisch", "e"),
}
_ROLE = {
    "member": ("member", "lid", "membre", "mitglied", "medewerker"),
    "coordinator": ("coordinator", "coordinateur", "coordinatrice", "koordinator", "coord"),
    "street_lead": (
        "street_lead",
        "street lead",
        "straatverantwoordelijke",
        "straatcoordinator",
        "responsable de rue",
        "strassenverantwortlicher",
    ),
}
_STATUS = {
    "active": ("active", "actief", "actif", "aktiv", "ja", "yes", "oui"),
    "pending": ("pending", "wachtend", "in afwachting", "en attente", "nieuw", "nouveau", "ausstehend"),
    "left": ("left", "uitgeschreven", "vertrokken", "gestopt", "parti", "desinscrit", "inactief", "inactif"),
}
_NET_STATUS = {
    "active": ("active", "actief", "actif", "aktiv"),
    "suspended": ("suspended", "geschorst", "opgeschort", "suspendu", "inactief", "inactif"),
    "closed": ("closed", "gesloten", "stopgezet", "ferme", "opgeheven"),
}
_YES = {"ja", "j", "yes", "y", "oui", "o", "x", "1", "true", "waar", "vrai", "wahr"}
_NO = {"", "nee", "n", "no", "non", "0", "false", "onwaar", "faux", "nein"}


def _invert(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {fold(a): k for k, names in table.items() for a in names}


LANGUAGE_VALUES, ROLE_VALUES, STATUS_VALUES, NET_STATUS_VALUES = map(_invert, (_LANG, _ROLE, _STATUS, _NET_STATUS))


def _choice(value: str, table: dict[str, str], what: str, default: str) -> str:
    if not value:
        return default
    got = table.get(key_fold(value))
    if got is None:
        raise ValueError(f"{what} {value!r} is not recognised (use one of {', '.join(sorted(set(table.values())))})")
    return got


def _yes(value: str) -> bool:
    v = key_fold(value)
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise ValueError(f"{value!r} is not yes or no")


def _consent(value: str) -> date | None:
    v = fold(value)
    if v in _YES:
        return utcnow().date()
    if v in _NO:
        return None
    return parse_date_text(value)


_EXPORT_GUARDED = frozenset(GUARDED_STARTS)
_WS = re.compile(r"[\r\n\t\v\f]+")


class _Columns:
    """Which file column feeds which field; unknown columns are reported, not fatal."""

    def __init__(self, header: list[str], aliases: dict[str, str]):
        self.index: dict[str, int] = {}
        self.title: dict[str, str] = {}
        self.ignored: list[str] = []
        for i, h in enumerate(header):
            f = aliases.get(header_key(h))
            if f is None or f in self.index:
                if h.strip():
                    self.ignored.append(h.strip())
                continue
            self.index[f] = i
            self.title[f] = h.strip()
        self.simple = [(f, i) for f, i in self.index.items() if f in _SIMPLE_MEMBER_FIELDS]

    def has(self, f: str) -> bool:
        return f in self.index

    def get(self, cells: list[str], f: str) -> str:
        i = self.index.get(f)
        if i is None or i >= len(cells):
            return ""
        c = cells[i]
        if c[:1] == "'" and c[1:2] in _EXPORT_GUARDED:
            c = c[1:]  # the exporter's formula guard (exporter.safe_cell): the value is what follows
        if "\n" in c or "\r" in c or "\t" in c or "\v" in c or "\f" in c:
            # Alt+Enter line breaks and tabs inside a cell become one space
            c = _WS.sub(" ", c)
        return c.strip()


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
    cols = [Member.id, *(getattr(Member, c) for c in _MEMBER_WRITE_COLUMNS)]
    by_id, by_mobile, by_email, by_key = {}, {}, {}, {}
    for row in session.execute(select(*cols).where(Member.network_id == network_id)):
        rec = dict(zip(["id", *_MEMBER_WRITE_COLUMNS], row, strict=True))
        mid = rec["id"]
        by_id[mid] = rec
        if rec["mobile"]:
            by_mobile[rec["mobile"]] = mid
        if rec["email"]:
            by_email[rec["email"].lower()] = mid
        by_key.setdefault((rec["name_key"], rec["street_key"], rec["house_number"]), mid)
    return _Existing(by_id, by_mobile, by_email, by_key)


def _cached(fn):  # noqa: ANN001, ANN202
    """Streets, postcodes, languages... repeat thousands of times in one file: parse each value once."""
    return lru_cache(maxsize=8192)(fn)


# field -> parser of the (stripped) cell text; the value-set parsers give "" for a blank cell
_SIMPLE_MEMBER_FIELDS: dict[str, object] = {
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


def _member_from_row(cols: _Columns, cells: list[str]) -> tuple[dict, list[tuple[str, str]]]:
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
        errs.append(("mobile", "no mobile, phone or e-mail: the member cannot be reached"))
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


def _new_member(network_id: int, v: dict, now, key: tuple[str, str, str]) -> dict:  # noqa: ANN001
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
        "language": v.get("language") or "nl",
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


def import_members(db: Database, path, network_id: int, *, dry_run: bool = False) -> ImportReport:  # noqa: ANN001
    report = ImportReport(dry_run=dry_run)
    try:
        table = read_table(path)
    except FatalFileError as exc:
        report.fatal = str(exc)
        return report
    _describe(report, table)
    cols = _Columns(table.header, MEMBER_HEADERS)
    report.ignored_columns = cols.ignored
    has_name = cols.has("name") or cols.has("first_name") or cols.has("last_name")
    has_contact = cols.has("mobile") or cols.has("landline") or cols.has("email")
    if not (has_name and has_contact):
        report.fatal = (
            "no usable header: the first row must name the columns, with a name (naam/nom/name or voornaam +"
            " achternaam) and a mobile, phone or e-mail column (gsm/portable/mobile, telefoon/téléphone/phone,"
            " e-mail/courriel)"
        )
        return report
    if not table.rows:
        report.fatal = "the file has a header but no data rows"
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
        report.fatal = "the network changed during import; run again (nothing was imported)"
        report.imported = report.updated = report.unchanged = 0
    except SQLAlchemyError as exc:
        report.fatal = f"writing failed, nothing was imported (database unchanged): {type(exc).__name__}"
        report.imported = report.updated = report.unchanged = 0
    except Exception as exc:  # any failure: the transaction rolled back, the directory is as it was
        report.fatal = f"writing failed, nothing was imported (database unchanged): {type(exc).__name__}: {exc}"
        report.imported = report.updated = report.unchanged = 0
    report.rejected.sort(key=lambda e: e.line)  # parse and match errors, in file order
    return report


def _match_and_write(s: Session, report: ImportReport, parsed, title, network_id: int, path, *, write: bool) -> None:  # noqa: ANN001
    """Match the parsed rows to the network's members as they are in this transaction, then write."""
    if s.execute(select(Network.id).where(Network.id == network_id).with_for_update()).first() is None:
        report.fatal = f"network {network_id} does not exist"
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
            what = {"mobile": "mobile number", "email": "e-mail address", "name": "name and address"}[f]
            report.rejected.append(RowError(line, _col_title(title, f), f"same {what} as line {ln} (duplicate row)"))
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
                RowError(line, _col_title(title, f), f"already used by member {name!r} (#{other}) in this network")
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
                        f"name and address match member #{mid} but the {_FIELD_WORD[differs]} differs;"
                        " change it in the console",
                    )
                )
                continue
        if mid is not None and mid in claimed:
            report.rejected.append(
                RowError(line, _col_title(title, "name"), f"same member as line {claimed[mid]} (duplicate row)")
            )
            continue
        if mid is not None and existing.by_id[mid]["status"] == "left" and v.get("status") not in (None, "", "left"):
            # like an opt-out, leaving is the member's decision: only the console brings a member back
            report.rejected.append(
                RowError(
                    line,
                    _col_title(title, "status"),
                    f"member #{mid} has left the network; an import does not bring them back (use the console)",
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
    _audit_import(s, "member.import", f"network:{network_id}", report, path)


_FIELD_WORD = {"mobile": "mobile", "email": "e-mail"}


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
        session.execute(insert(Member.__table__), rows)
        return
    columns, sql, processors = _sqlite_member_insert(conn.dialect)
    if not set(columns) <= rows[0].keys():
        # a column this path would fill with NULL instead of its default: take SQLAlchemy's path
        session.execute(insert(Member.__table__), rows)
        return
    params = [
        tuple(proc(r.get(c)) if proc else r.get(c) for c, proc in zip(columns, processors, strict=True)) for r in rows
    ]
    conn.exec_driver_sql(sql, params)


_SQLITE_INSERT_CACHE: dict[int, tuple[tuple[str, ...], str, list]] = {}


def _sqlite_member_insert(dialect):  # noqa: ANN001, ANN202
    """(columns, INSERT statement, bind processors) for member rows, built once per dialect."""
    cached = _SQLITE_INSERT_CACHE.get(id(dialect))
    if cached is None:
        table = Member.__table__
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
    table = Member.__table__
    from sqlalchemy import bindparam

    for keys, group in shapes.items():
        values = {k: bindparam(f"v_{k}") for k in keys if k != "id"}
        stmt = update(table).where(table.c.id == bindparam("v_id")).values(**values)
        session.execute(stmt, [{f"v_{k}": r[k] for k in keys} for r in group])


def _audit_import(session: Session, action: str, ref: str, report: ImportReport, path) -> None:  # noqa: ANN001
    from .actor import Actor
    from .directory import audit

    audit(
        session,
        Actor.current(),
        action,
        ref,
        {
            "file": os.path.basename(os.fspath(path)),
            "imported": report.imported,
            "updated": report.updated,
            "rejected": report.rejected_rows,
        },
    )


def _describe(report: ImportReport, table: Table) -> None:
    report.rows = len(table.rows) + len(table.row_errors)
    report.rejected += [RowError(line, col, reason) for line, col, reason in table.row_errors]
    report.encoding = table.encoding
    report.delimiter = table.delimiter


# --- networks ---------------------------------------------------------------------------------------

_NET_ATTRS = (
    "kind",
    "municipality",
    "status",
    "charter_signed",
    "coordinator_name",
    "coordinator_phone",
    "coordinator_email",
    "sms_sender",
)


def _coordinator_phone(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return parse_mobile(raw)
    except ValueError:
        return parse_landline(raw)


def _network_from_row(cols: _Columns, cells: list[str], default_zone: str | None):  # noqa: ANN202
    v: dict = {}
    errs: list[tuple[str, str]] = []
    g = cols.get

    def run(f: str, fn) -> None:  # noqa: ANN001
        try:
            v[f] = fn()
        except ValueError as exc:
            errs.append((f, str(exc)))

    run("name", lambda: check_text(g(cells, "name"), max_len=120, required=True, what="network name"))
    zone = g(cells, "zone") or (default_zone or "")
    if not zone:
        errs.append(("zone", "no police zone (give a zone column or --zone CODE)"))
    elif not re.fullmatch(r"[0-9A-Za-z-]{1,16}", zone):
        errs.append(("zone", f"{zone!r} is not a police zone code"))
    v["zone"] = zone
    present = {}
    if cols.has("kind"):
        run("kind", lambda: check_kind(g(cells, "kind")) if g(cells, "kind") else None)
    run("municipality", lambda: check_text(g(cells, "municipality"), max_len=80, what="municipality"))
    if cols.has("status"):
        run("status", lambda: _choice(g(cells, "status"), NET_STATUS_VALUES, "status", "") or None)
    run("charter_signed", lambda: check_date(g(cells, "charter_signed")))
    run("coordinator_name", lambda: check_text(g(cells, "coordinator_name"), max_len=120, what="coordinator"))
    run("coordinator_phone", lambda: _coordinator_phone(g(cells, "coordinator_phone")))
    run(
        "coordinator_email",
        lambda: parse_email(g(cells, "coordinator_email")) if g(cells, "coordinator_email") else None,
    )
    run("sms_sender", lambda: check_sender(g(cells, "sms_sender")))
    run("street", lambda: check_text(g(cells, "street"), max_len=120, what="street"))
    run("postcode", lambda: check_postcode(g(cells, "postcode")))
    run("street_municipality", lambda: check_text(g(cells, "street_municipality"), max_len=80, what="municipality"))
    if not errs and not v["street"] and (v["postcode"] or v["street_municipality"]):
        errs.append(("street", "a postcode or street municipality without a street"))
    present.update(v)
    return present, errs


def import_networks(db: Database, path, *, zone_code: str | None = None, dry_run: bool = False) -> ImportReport:  # noqa: ANN001
    report = ImportReport(dry_run=dry_run)
    try:
        table = read_table(path)
    except FatalFileError as exc:
        report.fatal = str(exc)
        return report
    _describe(report, table)
    cols = _Columns(table.header, NETWORK_HEADERS)
    report.ignored_columns = cols.ignored
    if not cols.has("name"):
        report.fatal = (
            "no usable header: the first row must name the columns, with the network name (netwerk/réseau/network)"
            " and its streets (straat/rue/street, postcode)"
        )
        return report
    if not table.rows:
        report.fatal = "the file has a header but no data rows"
        return report
    title = cols.title

    # validate rows and group them by network (zone, folded name)
    nets: dict[tuple[str, str], dict] = {}
    zone_of: dict[str, str] = {}  # later rows of a network may leave its zone blank
    for line, cells in table.rows:
        v, errs = _network_from_row(cols, cells, zone_of.get(fold(cols.get(cells, "name"))) or zone_code)
        if errs:
            report.rejected += [RowError(line, title.get(f, f), r) for f, r in errs]
            continue
        key = (v["zone"], fold(v["name"])[:120])
        zone_of.setdefault(fold(v["name"]), v["zone"])
        net = nets.get(key)
        if net is None:
            net = nets[key] = {"line": line, "name": v["name"], "attrs": {}, "attr_line": {}, "streets": {}, "rows": []}
        conflict = None
        for a in _NET_ATTRS:
            val = v.get(a)
            if val in (None, ""):
                continue
            if a in net["attrs"] and net["attrs"][a] != val:
                conflict = RowError(line, title.get(a, a), f"{val!s} differs from line {net['attr_line'][a]}")
                break
        if conflict:
            report.rejected.append(conflict)
            continue
        st = None
        if v["street"]:
            skey = (fold(v["street"])[:120], v["postcode"])
            if skey in net["streets"]:
                report.rejected.append(
                    RowError(line, title.get("street", "street"), f"same street as line {net['streets'][skey]['line']}")
                )
                continue
            st = {
                "street": v["street"],
                "street_key": skey[0],
                "postcode": v["postcode"],
                "municipality": v["street_municipality"] or v["municipality"],
                "line": line,
            }
            net["streets"][skey] = st
        for a in _NET_ATTRS:
            if v.get(a) not in (None, "") and a not in net["attrs"]:
                net["attrs"][a] = v[a]
                net["attr_line"][a] = line
        net["rows"].append((line, st))

    # compare with the database
    with db.read() as s:
        zones = {z.code: z.id for z in s.scalars(select(PoliceZone))}
        existing_nets: dict[tuple[int, str], Network] = {}
        zone_ids = [zones[z] for z, _ in nets if z in zones]
        if zone_ids:
            for n in s.scalars(select(Network).where(Network.zone_id.in_(zone_ids))):
                existing_nets[(n.zone_id, n.name_key)] = n
        existing_streets: dict[int, set[tuple[str, str]]] = {}
        ids = [n.id for n in existing_nets.values()]
        for i in range(0, len(ids), 500):
            for nid, sk, pc in s.execute(
                select(NetworkStreet.network_id, NetworkStreet.street_key, NetworkStreet.postcode).where(
                    NetworkStreet.network_id.in_(ids[i : i + 500])
                )
            ):
                existing_streets.setdefault(nid, set()).add((sk, pc))

    plan = []  # (key, net, existing Network | None, attr changes, new streets)
    for key, net in nets.items():
        zid = zones.get(key[0])
        old = existing_nets.get((zid, key[1])) if zid is not None else None
        have = existing_streets.get(old.id, set()) if old else set()
        new_streets = [st for sk, st in net["streets"].items() if sk not in have]
        changes = {}
        if old is not None:
            changes = {a: val for a, val in net["attrs"].items() if getattr(old, a) != val}
        plan.append((key, net, old, changes, new_streets))
        new_lines = {st["line"] for st in new_streets}
        for i, (line, _st) in enumerate(net["rows"]):
            if old is None and i == 0 or line in new_lines:
                report.imported += 1
            elif changes and i == 0:
                report.updated += 1
            else:
                report.unchanged += 1
    missing_zones = sorted({k[0] for k in nets} - set(zones))
    if missing_zones:
        report.notes.append("new police zones: " + ", ".join(missing_zones))
    if dry_run or not (report.imported or report.updated):
        return report
    try:
        with db.write() as s:
            touched = _write_networks(s, plan, zones, missing_zones)
            rebuild_terms(s, touched)
            _audit_import(s, "network.import", "networks", report, path)
    except Exception as exc:
        report.fatal = f"writing failed, nothing was imported (database unchanged): {type(exc).__name__}: {exc}"
        report.imported = report.updated = report.unchanged = 0
    return report


def _write_networks(session: Session, plan, zones: dict[str, int], missing_zones: list[str]) -> list[int]:  # noqa: ANN001
    now = utcnow()
    for code in missing_zones:
        z = PoliceZone(code=code, name=f"Zone {code}")
        session.add(z)
        session.flush()
        zones[code] = z.id
    touched: list[int] = []
    street_rows: list[dict] = []
    for key, net, old, changes, new_streets in plan:
        if old is None:
            attrs = {"kind": "BIN", "status": "active", **net["attrs"]}
            n = Network(
                zone_id=zones[key[0]], name=net["name"], name_key=key[1], created_at=now, updated_at=now, **attrs
            )
            session.add(n)
            session.flush()
            nid = n.id
        else:
            nid = old.id
            if changes:
                session.execute(update(Network).where(Network.id == nid).values(**changes, updated_at=now))
        if old is None or changes or new_streets:
            touched.append(nid)
        street_rows += [
            {
                "network_id": nid,
                "street": st["street"],
                "street_key": st["street_key"],
                "postcode": st["postcode"],
                "municipality": st["municipality"],
            }
            for st in new_streets
        ]
    for i in range(0, len(street_rows), CHUNK):
        session.execute(insert(NetworkStreet.__table__), street_rows[i : i + CHUNK])
    return touched


# --- CLI --------------------------------------------------------------------------------------------


def print_report(report: ImportReport, path, out=None) -> None:  # noqa: ANN001
    out = out or sys.stdout
    name = clean(os.fspath(path))
    if report.fatal:
        print(f"{name}: not imported: {clean(report.fatal)}", file=out)
        return
    sep = {";": "';'", ",": "','", "\t": "TAB", None: ""}.get(report.delimiter, repr(report.delimiter))
    print(f"{name}: {report.rows} rows ({report.encoding}{', ' + sep if sep else ''})", file=out)
    if report.ignored_columns:
        print("ignored columns: " + ", ".join(clean(c) for c in report.ignored_columns), file=out)
    for note in report.notes:
        print(clean(note), file=out)
    verb = "would be " if report.dry_run else ""
    print(
        f"{'dry run, nothing written: ' if report.dry_run else ''}{verb}imported {report.imported}, "
        f"{verb}updated {report.updated}, unchanged {report.unchanged}, rejected {report.rejected_rows}",
        file=out,
    )
    for err in report.rejected:
        print(str(err), file=out)


def cmd_import_members(args, settings) -> int:  # noqa: ANN001
    from .runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        with db.read() as s:
            found = find_networks(s, args.network)
            if len(found) > 1 and getattr(settings, "zone", None):
                zone = s.scalars(select(PoliceZone).where(PoliceZone.code == settings.zone)).first()
                found = [n for n in found if zone is not None and n.zone_id == zone.id]
            zone_codes = {z.id: z.code for z in s.scalars(select(PoliceZone))}
        if not found:
            print(f"bin-console: no network named {clean(args.network)!r}", file=sys.stderr)
            return 2
        if len(found) > 1:
            codes = ", ".join(zone_codes.get(n.zone_id, "?") for n in found)
            print(
                f"bin-console: several networks are named {clean(args.network)!r} (zones {codes}); "
                "set [console] zone in the config to choose",
                file=sys.stderr,
            )
            return 2
        report = import_members(db, args.file, found[0].id, dry_run=args.dry_run)
    finally:
        db.dispose()
    print_report(report, args.file)
    return report.exit_code()


def cmd_import_networks(args, settings) -> int:  # noqa: ANN001
    from .runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        zone = getattr(args, "zone", None) or getattr(settings, "zone", None)
        report = import_networks(db, args.file, zone_code=zone, dry_run=args.dry_run)
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
