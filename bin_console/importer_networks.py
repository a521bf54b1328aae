"""`bin-console import networks FILE`: networks and their streets from a coordinator's CSV/XLSX file.

Rows are grouped by network (police zone, folded name); a network's later rows may leave every cell
but the street blank. Nothing changes unreported: each existing network the file changes becomes a
NetworkChange (field old → new, streets added, stored streets the file does not list), and an import
never removes a street. Two changes need the operator's explicit consent, because a wrong file would
otherwise quietly re-home a network: moving it to another municipality or police zone
(``allow_moves``, `--allow-moves`) and creating a police zone the directory does not know
(``create_zones``, `--create-zones`). Without them those rows are rejected with that reason and the
rest of the file imports.

The plan is made inside the write transaction, against the directory as it is when writing, and
everything is written in that ONE transaction: a failure midway leaves the database as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from .data.engine import Database
from .data.keys import fold
from .data.models import Network, NetworkStreet, PoliceZone, utcnow
from .data.search_index import rebuild_terms
from .i18n import _, ngettext
from .import_fields import (
    LANGUAGE_VALUES,
    NET_STATUS_VALUES,
    NETWORK_HEADERS,
    NO_DATA_ROWS,
    Columns,
    _choice,
    audit_import,
    describe_table,
)
from .import_report import WRITE_FAILED, FieldChange, ImportReport, NetworkChange, RowError, print_report
from .tabular import FatalFileError, Table, read_table
from .validation import (
    check_date,
    check_kind,
    check_postcode,
    check_sender,
    check_text,
    parse_email,
    parse_landline,
    parse_mobile,
)

CHUNK = 1000
_ZONE_CODE = re.compile(r"[0-9A-Za-z-]{1,16}")

_NET_ATTRS = (
    "kind",
    "municipality",
    "status",
    "charter_signed",
    "coordinator_name",
    "coordinator_phone",
    "coordinator_email",
    "sms_sender",
    "language",
)


def _coordinator_phone(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return parse_mobile(raw)
    except ValueError:
        return parse_landline(raw)


def _network_from_row(cols: Columns, cells: list[str], default_zone: str | None):  # noqa: ANN202
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
        errs.append(
            ("zone", _("no police zone (give a zone column or --zone CODE, or set [console] zone in the config)"))
        )
    elif not _ZONE_CODE.fullmatch(zone):
        errs.append(("zone", _("{zone} is not a police zone code").format(zone=repr(zone))))
    v["zone"] = zone
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
    # the members' default language; "" (no column, empty cell) leaves it to the console's default
    run("language", lambda: _choice(g(cells, "language"), LANGUAGE_VALUES, "language", ""))
    run("street", lambda: check_text(g(cells, "street"), max_len=120, what="street"))
    run("postcode", lambda: check_postcode(g(cells, "postcode")))
    run("street_municipality", lambda: check_text(g(cells, "street_municipality"), max_len=80, what="municipality"))
    if not errs and not v["street"] and (v["postcode"] or v["street_municipality"]):
        errs.append(("street", _("a postcode or street municipality without a street")))
    return v, errs


@dataclass
class _FileNetwork:
    """One network as the file describes it, gathered from all its rows."""

    line: int  # its first row
    name: str
    zone: str
    name_key: str
    attrs: dict = field(default_factory=dict)
    attr_line: dict = field(default_factory=dict)  # attribute -> the row that gave it
    streets: dict = field(default_factory=dict)  # (street_key, postcode) -> street row dict
    lines: list[int] = field(default_factory=list)  # every row of the network


def _group_rows(table: Table, cols: Columns, zone_code: str | None, report: ImportReport) -> list[_FileNetwork]:
    title = cols.title
    nets: dict[tuple[str, str], _FileNetwork] = {}
    zone_of: dict[str, str] = {}  # later rows of a network may leave its zone blank
    for line, cells in table.rows:
        v, errs = _network_from_row(cols, cells, zone_of.get(fold(cols.get(cells, "name"))) or zone_code)
        if errs:
            report.rejected += [RowError(line, title.get(f, f), r) for f, r in errs]
            continue
        name_key = fold(v["name"])[:120]
        zone_of.setdefault(fold(v["name"]), v["zone"])
        net = nets.get((v["zone"], name_key))
        if net is None:
            net = nets[(v["zone"], name_key)] = _FileNetwork(line, v["name"], v["zone"], name_key)
        conflict = next(
            (a for a in _NET_ATTRS if v.get(a) not in (None, "") and a in net.attrs and net.attrs[a] != v[a]), None
        )
        if conflict:
            report.rejected.append(
                RowError(
                    line,
                    title.get(conflict, conflict),
                    _("{value} differs from line {line}").format(value=v[conflict], line=net.attr_line[conflict]),
                )
            )
            continue
        if v["street"]:
            skey = (fold(v["street"])[:120], v["postcode"])
            if skey in net.streets:
                first = net.streets[skey]["line"]
                report.rejected.append(
                    RowError(line, title.get("street", "street"), _("same street as line {line}").format(line=first))
                )
                continue
            net.streets[skey] = {
                "street": v["street"],
                "street_key": skey[0],
                "postcode": v["postcode"],
                "municipality": v["street_municipality"] or v["municipality"],
                "line": line,
            }
        for a in _NET_ATTRS:
            if v.get(a) not in (None, "") and a not in net.attrs:
                net.attrs[a] = v[a]
                net.attr_line[a] = line
        net.lines.append(line)
    return list(nets.values())


@dataclass
class _Planned:
    net: _FileNetwork
    old: Network | None  # None: a new network
    changes: dict  # attribute -> new value on an existing network
    moves_zone: bool  # an existing network of another police zone goes to net.zone
    new_streets: list[dict]


def _street_label(street: str, postcode: str) -> str:
    return f"{street} {postcode}".strip()


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _plan(s: Session, nets: list[_FileNetwork], report: ImportReport, title: dict, *, allow_moves: bool,
          create_zones: bool) -> list[_Planned]:  # fmt: skip
    """Compare the file's networks with the directory; fills the report, returns what to write."""
    zones = {z.code: z.id for z in s.scalars(select(PoliceZone))}
    zone_code = {zid: code for code, zid in zones.items()}
    keys = sorted({n.name_key for n in nets})
    same_name: dict[str, list[Network]] = {}
    for i in range(0, len(keys), 500):
        for n in s.scalars(select(Network).where(Network.name_key.in_(keys[i : i + 500]))):
            same_name.setdefault(n.name_key, []).append(n)
    stored_streets: dict[int, dict[tuple[str, str], str]] = {}
    ids = [n.id for group in same_name.values() for n in group]
    for i in range(0, len(ids), 500):
        rows = s.execute(
            select(NetworkStreet.network_id, NetworkStreet.street_key, NetworkStreet.postcode, NetworkStreet.street)
            .where(NetworkStreet.network_id.in_(ids[i : i + 500]))
            .order_by(NetworkStreet.id)
        )
        for nid, sk, pc, street in rows:
            stored_streets.setdefault(nid, {})[(sk, pc)] = _street_label(street, pc)

    def reject(net: _FileNetwork, column: str, reason: str) -> None:
        """All the network's rows: its streets must not land in a network the file describes wrongly.
        The reason goes on the row that gave the refused value, the others point to it."""
        col = title.get(column, column)
        first = net.attr_line.get(column, net.line)
        see = _("not imported with its network {name} (see line {line})").format(name=net.name, line=first)
        report.rejected.extend(RowError(line, col, reason if line == first else see) for line in net.lines)

    file_zones: dict[str, set[str]] = {}  # folded name -> the zones the file lists it in
    for net in nets:
        file_zones.setdefault(net.name_key, set()).add(net.zone)
    plan: list[_Planned] = []
    unknown_zones: dict[str, int] = {}
    new_zones: set[str] = set()
    for net in nets:
        zid = zones.get(net.zone)
        if zid is None and not create_zones:
            reject(
                net,
                "zone",
                _("police zone {zone} is not in the directory (check the code; --create-zones creates it)").format(
                    zone=net.zone
                ),
            )
            unknown_zones[net.zone] = unknown_zones.get(net.zone, 0) + len(net.lines)
            continue
        named = same_name.get(net.name_key, [])
        old = next((n for n in named if n.zone_id == zid), None) if zid is not None else None
        fields: list[FieldChange] = []
        moves_zone = False
        # a file that also lists the name where it is stored means two networks: this one is new
        listed_where_stored = any(zone_code[n.zone_id] in file_zones[net.name_key] for n in named)
        if old is None and named and not listed_where_stored:
            # a network of this name lives in another zone: the file moves it, or means another one
            where = ", ".join(sorted(zone_code[n.zone_id] for n in named))
            if len(named) > 1:
                several = _("networks named {name} are in police zones {zones}; add this one in the console")
                reject(net, "zone", several.format(name=repr(net.name), zones=where))
                continue
            if not allow_moves:
                reject(
                    net,
                    "zone",
                    _(
                        "{name} is in police zone {stored}; the file puts it in zone {zone}: moving a network to"
                        " another police zone needs --allow-moves (a different network of the same name: add it in"
                        " the console)"
                    ).format(name=net.name, stored=where, zone=net.zone),
                )
                continue
            old, moves_zone = named[0], True
            fields.append(FieldChange("police_zone", where, net.zone))
        changes: dict = {}
        if old is not None:
            changes = {a: val for a, val in net.attrs.items() if getattr(old, a) != val}
            if "municipality" in changes and old.municipality and not allow_moves:
                # filling in a blank municipality is not a move; replacing one is
                reject(
                    net,
                    "municipality",
                    _(
                        "{name} is in {stored}; the file puts it in {municipality}: moving a network to another"
                        " municipality needs --allow-moves"
                    ).format(name=net.name, stored=old.municipality, municipality=changes["municipality"]),
                )
                continue
            fields += [FieldChange(a, _text(getattr(old, a)), _text(val)) for a, val in changes.items()]
        have = stored_streets.get(old.id, {}) if old is not None else {}
        new_streets = [st for sk, st in net.streets.items() if sk not in have]
        change = NetworkChange(
            name=net.name,
            zone=net.zone,
            fields=tuple(fields),
            streets_added=tuple(_street_label(st["street"], st["postcode"]) for st in new_streets),
            streets_not_in_file=tuple(label for sk, label in have.items() if sk not in net.streets)
            if net.streets
            else (),
        )
        if zid is None:
            new_zones.add(net.zone)
        report.streets_added += len(new_streets)
        if old is None:
            report.imported += 1
            report.networks_added.append(change)
        elif fields or new_streets:
            report.updated += 1
            report.networks_changed.append(change)
        else:
            report.unchanged += 1
            continue
        plan.append(_Planned(net, old, changes, moves_zone, new_streets))
    report.zones_created = sorted(new_zones)
    for code, n in sorted(unknown_zones.items()):
        report.notes.append(
            ngettext(
                "police zone {zone} is not in the directory: {n} row rejected (--create-zones creates it)",
                "police zone {zone} is not in the directory: {n} rows rejected (--create-zones creates it)",
                n,
            ).format(zone=code, n=n)
        )
    return plan


def _write_networks(s: Session, plan: list[_Planned], zone_codes: list[str]) -> list[int]:
    zones = {z.code: z.id for z in s.scalars(select(PoliceZone))}
    for code in zone_codes:
        z = PoliceZone(code=code, name=f"Zone {code}")
        s.add(z)
        s.flush()
        zones[code] = z.id
    now = utcnow()
    touched: list[int] = []
    street_rows: list[dict] = []
    for p in plan:
        if p.old is None:
            attrs = {"kind": "BIN", "status": "active", **p.net.attrs}
            n = Network(
                zone_id=zones[p.net.zone],
                name=p.net.name,
                name_key=p.net.name_key,
                created_at=now,
                updated_at=now,
                **attrs,
            )
            s.add(n)
            s.flush()
            nid = n.id
        else:
            nid = p.old.id
            values = dict(p.changes)
            if p.moves_zone:
                values["zone_id"] = zones[p.net.zone]
            if values:
                s.execute(update(Network).where(Network.id == nid).values(**values, updated_at=now))
        touched.append(nid)
        street_rows += [{"network_id": nid, **{k: st[k] for k in _STREET_COLUMNS}} for st in p.new_streets]
    for i in range(0, len(street_rows), CHUNK):
        s.execute(insert(NetworkStreet.__table__), street_rows[i : i + CHUNK])
    return touched


_STREET_COLUMNS = ("street", "street_key", "postcode", "municipality")


def _default_zone(db: Database, zone_code: str | None, cols: Columns, report: ImportReport) -> str | None:
    """--zone / [console] zone, else the directory's only police zone; noted when the file has no zone column."""
    origin = _("--zone or [console] zone")
    if zone_code is None:
        with db.read() as s:
            codes = list(s.scalars(select(PoliceZone.code).limit(2)))
        if len(codes) != 1:
            return None
        zone_code, origin = codes[0], _("the only police zone in the directory")
    if not cols.has("zone"):
        note = _("no zone column: the networks are in police zone {zone} ({origin})")
        report.notes.append(note.format(zone=zone_code, origin=origin))
    return zone_code


def import_networks(
    db: Database,
    path,  # noqa: ANN001
    *,
    zone_code: str | None = None,
    dry_run: bool = False,
    allow_moves: bool = False,
    create_zones: bool = False,
) -> ImportReport:
    report = ImportReport(dry_run=dry_run, kind="networks")
    try:
        table = read_table(path)
    except FatalFileError as exc:
        report.fatal = str(exc)
        return report
    describe_table(report, table)
    cols = Columns(table.header, NETWORK_HEADERS)
    report.ignored_columns = cols.ignored
    if not cols.has("name"):
        report.fatal = _(
            "no usable header: the first row must name the columns, with the network name"
            " (netwerk/réseau/network) and its streets (straat/rue/street, postcode)"
        )
        return report
    if not table.rows and not table.row_errors:
        report.fatal = _(NO_DATA_ROWS)
        return report
    nets = _group_rows(table, cols, _default_zone(db, zone_code, cols, report), report)
    options = {"allow_moves": allow_moves, "create_zones": create_zones}
    try:
        if dry_run:
            with db.read() as s:
                _plan(s, nets, report, cols.title, **options)
        else:
            with db.write() as s:
                plan = _plan(s, nets, report, cols.title, **options)
                if plan:
                    rebuild_terms(s, _write_networks(s, plan, report.zones_created))
                    audit_import(s, "network.import", "networks", report, path)
    except IntegrityError:
        # str(exc) would quote the clashing row: say what to do instead
        report.nothing_written(
            _("{failed}: the directory changed during the import; run it again").format(failed=_(WRITE_FAILED))
        )
    except SQLAlchemyError as exc:
        report.nothing_written(f"{_(WRITE_FAILED)}: {type(exc).__name__}")
    except Exception as exc:  # any failure: the transaction rolled back, the directory is as it was
        report.nothing_written(f"{_(WRITE_FAILED)}: {type(exc).__name__}: {exc}")
    report.rejected.sort(key=lambda e: e.line)
    return report


def cmd_import_networks(args, settings) -> int:  # noqa: ANN001
    from .runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        report = import_networks(
            db,
            args.file,
            zone_code=args.zone or settings.zone,
            dry_run=args.dry_run,
            allow_moves=args.allow_moves,
            create_zones=args.create_zones,
        )
    finally:
        db.dispose()
    print_report(report, args.file)
    return report.exit_code()
