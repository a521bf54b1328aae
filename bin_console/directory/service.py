"""Directory services: add, edit and deactivate members and networks; `bin-console networks search`.

Each change is one write transaction: validate first (ValidationError lists every bad field),
refuse duplicates inside the network (DuplicateMemberError names the clashing member), write,
keep the search index in step (rebuild_terms in the same transaction) and audit when the audit
module is present.
"""

from __future__ import annotations

import sys

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from bin_console.data.engine import Database
from bin_console.data.keys import fold
from bin_console.data.models import LANGUAGES, Member, Network, NetworkStreet, PoliceZone, utcnow
from bin_console.data.networks import get_zone_by_code, search_networks
from bin_console.data.search_index import rebuild_terms
from bin_console.directory.validation import (
    MEMBER_FIELDS,
    DuplicateMemberError,
    ValidationError,
    validate_member,
    validate_network,
    validate_street,
)
from bin_console.i18n import _
from bin_console.labels import kind_label
from bin_console.trust.actor import Actor
from bin_console.trust.audit import append
from bin_console.trust.textsafe import clean

__all__ = [
    "DuplicateMemberError",
    "ValidationError",
    "add_member",
    "update_member",
    "deactivate_member",
    "add_network",
    "update_network",
    "deactivate_network",
    "set_network_language",
    "cmd_networks_search",
    "audit",
    "find_member_clash",
    "format_table",
]


def audit(session: Session, actor: Actor, action: str, object_ref: str, detail: dict) -> None:
    """Append to the audit chain, inside the caller's transaction."""
    append(session, actor, action, object_ref, detail)


# --- members ----------------------------------------------------------------------------------------


def _require_contact(vals: dict) -> None:
    if not (vals.get("mobile") or vals.get("landline") or vals.get("email")):
        raise ValidationError({"mobile": _("give a mobile number, a landline or an e-mail address")})


def find_member_clash(session: Session, network_id: int, vals: dict, *, exclude_id: int | None = None):
    """(member_id, name, field) of a member of the network with the same mobile, e-mail, or name+address."""
    checks = []
    if vals.get("mobile"):
        checks.append(("mobile", col(Member.mobile) == vals["mobile"]))
    if vals.get("email"):
        checks.append(("email", func.lower(col(Member.email)) == vals["email"].lower()))
    checks.append(
        (
            "name",
            (col(Member.name_key) == fold(vals["name"]))
            & (col(Member.street_key) == fold(vals.get("street") or ""))
            & (col(Member.house_number) == (vals.get("house_number") or "")),
        )
    )
    for field, cond in checks:
        stmt = select(col(Member.id), col(Member.name)).where(col(Member.network_id) == network_id, cond)
        if exclude_id is not None:
            stmt = stmt.where(col(Member.id) != exclude_id)
        row = session.execute(stmt.limit(1)).first()
        if row:
            return row[0], row[1], field
    return None


def _member_values(vals: dict) -> dict:
    out = dict(vals)
    out["name"] = clean(out["name"])
    out["name_key"] = fold(out["name"])[:120]
    out["street_key"] = fold(out.get("street") or "")[:120]
    return out


def add_member(db: Database, network_id: int, data: dict, actor: Actor) -> int:
    vals = validate_member(data)
    _require_contact(vals)
    with db.write() as s:
        if s.get(Network, network_id) is None:
            raise ValidationError({"network": _("network {id} does not exist").format(id=network_id)})
        clash = find_member_clash(s, network_id, vals)
        if clash:
            raise DuplicateMemberError(*clash)
        values = _member_values(vals)
        now = utcnow()
        if values["sms_opt_out"] or values["email_opt_out"]:
            values["opt_out_at"] = now
        m = Member(network_id=network_id, created_at=now, updated_at=now, **values)
        s.add(m)
        s.flush()
        assert m.id is not None  # given by the flush
        audit(s, actor, "member.create", f"member:{m.id}", {"network_id": network_id})
        return m.id


def update_member(db: Database, member_id: int, changes: dict, actor: Actor) -> None:
    unknown = set(changes) - set(MEMBER_FIELDS)
    if unknown:
        raise ValidationError({k: _("unknown field") for k in sorted(unknown)})
    with db.write() as s:
        m = s.get(Member, member_id)
        if m is None:
            raise ValidationError({"member": _("member {id} does not exist").format(id=member_id)})
        merged = {f: getattr(m, f) for f in MEMBER_FIELDS}
        merged.update(changes)
        vals = validate_member(merged)
        _require_contact(vals)
        clash = find_member_clash(s, m.network_id, vals, exclude_id=m.id)
        if clash:
            raise DuplicateMemberError(*clash)
        values = _member_values(vals)
        changed = sorted(k for k, v in values.items() if getattr(m, k) != v)
        if not changed:
            return
        now = utcnow()
        if (values["sms_opt_out"] and not m.sms_opt_out) or (values["email_opt_out"] and not m.email_opt_out):
            m.opt_out_at = now
        for k in changed:
            setattr(m, k, values[k])
        m.updated_at = now
        audit(s, actor, "member.update", f"member:{m.id}", {"fields": [c for c in changed if not c.endswith("_key")]})


def deactivate_member(db: Database, member_id: int, actor: Actor) -> None:
    """Status -> left: kept for the record, never targeted by an alert again."""
    with db.write() as s:
        m = s.get(Member, member_id)
        if m is None:
            raise ValidationError({"member": _("member {id} does not exist").format(id=member_id)})
        if m.status == "left":
            return
        m.status = "left"
        m.updated_at = utcnow()
        audit(s, actor, "member.deactivate", f"member:{m.id}", {"network_id": m.network_id})


# --- networks ---------------------------------------------------------------------------------------


def _resolve_zone(session: Session, data: dict) -> int:
    if data.get("zone_id") is not None:
        if session.get(PoliceZone, data["zone_id"]) is None:
            raise ValidationError({"zone": _("police zone {zone} does not exist").format(zone=data["zone_id"])})
        return int(data["zone_id"])
    code = str(data.get("zone_code") or "").strip()
    if not code:
        raise ValidationError({"zone": _("police zone is required")})
    zone = get_zone_by_code(session, code)
    if zone is None:
        raise ValidationError({"zone": _("police zone {zone} does not exist").format(zone=repr(code))})
    assert zone.id is not None  # a stored row
    return zone.id


def _clean_streets(streets: list[dict]) -> list[dict]:
    out, errors, seen = [], {}, set()
    for i, st in enumerate(streets):
        try:
            v = validate_street(st)
        except ValidationError as exc:
            errors.update({f"streets[{i}].{k}": r for k, r in exc.errors.items()})
            continue
        key = (fold(v["street"]), v["postcode"])
        if key in seen:
            continue
        seen.add(key)
        out.append({**v, "street_key": key[0][:120]})
    if errors:
        raise ValidationError(errors)
    return out


def _name_clash(session: Session, zone_id: int, name: str, exclude_id: int | None = None) -> None:
    stmt = select(col(Network.id)).where(col(Network.zone_id) == zone_id, col(Network.name_key) == fold(name))
    if exclude_id is not None:
        stmt = stmt.where(col(Network.id) != exclude_id)
    if session.execute(stmt.limit(1)).first():
        raise ValidationError(
            {"name": _("a network named {name} already exists in this police zone").format(name=repr(name))}
        )


def _replace_streets(session: Session, network_id: int, streets: list[dict]) -> None:
    session.query(NetworkStreet).filter(col(NetworkStreet.network_id) == network_id).delete()
    for st in streets:
        session.add(NetworkStreet(network_id=network_id, **st))


def add_network(db: Database, data: dict, actor: Actor) -> int:
    """data: network fields (see validation.NETWORK_FIELDS), zone_id or zone_code, optional streets [{street, postcode,
    municipality}]."""
    fields = {k: v for k, v in data.items() if k not in ("zone_id", "zone_code", "streets")}
    vals = validate_network(fields)
    streets = _clean_streets(list(data.get("streets") or []))
    with db.write() as s:
        zone_id = _resolve_zone(s, data)
        _name_clash(s, zone_id, vals["name"])
        now = utcnow()
        net = Network(zone_id=zone_id, name_key=fold(vals["name"])[:120], created_at=now, updated_at=now, **vals)
        s.add(net)
        s.flush()
        assert net.id is not None  # given by the flush
        _replace_streets(s, net.id, streets)
        s.flush()
        rebuild_terms(s, [net.id])
        audit(s, actor, "network.create", f"network:{net.id}", {"name": net.name, "streets": len(streets)})
        return net.id


def update_network(db: Database, network_id: int, changes: dict, actor: Actor) -> None:
    fields = {k: v for k, v in changes.items() if k not in ("zone_id", "zone_code", "streets")}
    vals = validate_network(fields, partial=True)
    streets = _clean_streets(list(changes["streets"])) if "streets" in changes else None
    with db.write() as s:
        net = s.get(Network, network_id)
        if net is None:
            raise ValidationError({"network": _("network {id} does not exist").format(id=network_id)})
        zone_id = _resolve_zone(s, changes) if ("zone_id" in changes or "zone_code" in changes) else net.zone_id
        if "name" in vals or zone_id != net.zone_id:
            _name_clash(s, zone_id, vals.get("name", net.name), exclude_id=net.id)
        changed = sorted(k for k, v in vals.items() if getattr(net, k) != v)
        for k in changed:
            setattr(net, k, vals[k])
        if zone_id != net.zone_id:
            net.zone_id = zone_id
            changed.append("zone_id")
        if "name" in changed:
            net.name_key = fold(net.name)[:120]
        if streets is not None:
            _replace_streets(s, network_id, streets)
            changed.append("streets")
        if not changed:
            return
        net.updated_at = utcnow()
        s.flush()
        if {"name", "kind", "municipality", "streets"} & set(changed):
            rebuild_terms(s, [network_id])
        audit(s, actor, "network.update", f"network:{net.id}", {"fields": changed})


NETWORK_LANGUAGES = LANGUAGES  # nl, fr, de, en: what templates and alert versions come in


def set_network_language(db: Database, network_id: int, language: str, actor: Actor) -> bool:
    """The network's default language for its members' alerts (nl/fr/de/en; "" = the console's
    default applies). Audited as any network edit; True when it changed, False when it was already so."""
    if language not in ("", *NETWORK_LANGUAGES):
        raise ValidationError(
            {
                "language": _("language: one of {choices}, not {value}").format(
                    choices=", ".join(NETWORK_LANGUAGES), value=repr(language)
                )
            }
        )
    with db.write() as s:
        net = s.get(Network, network_id)
        if net is None:
            raise ValidationError({"network": _("network {id} does not exist").format(id=network_id)})
        if net.language == language:
            return False
        before = net.language
        net.language = language
        net.updated_at = utcnow()
        audit(s, actor, "network.update", f"network:{net.id}", {"fields": ["language"], "language": [before, language]})
        return True


def deactivate_network(db: Database, network_id: int, actor: Actor) -> None:
    """Status -> closed: the network and its members stay on record but are no longer alerted."""
    with db.write() as s:
        net = s.get(Network, network_id)
        if net is None:
            raise ValidationError({"network": _("network {id} does not exist").format(id=network_id)})
        if net.status == "closed":
            return
        net.status = "closed"
        net.updated_at = utcnow()
        audit(s, actor, "network.deactivate", f"network:{net.id}", {"name": net.name})


# --- CLI --------------------------------------------------------------------------------------------


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Plain aligned columns for scripts and quick checks (cells already cleaned)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in rows:
        cells = [c.rjust(w) if i == 4 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _matched(hit) -> str:
    return f"{hit.field}: {clean(hit.matched)}"


def cmd_networks_search(args, settings) -> int:
    from bin_console.cli.runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        with db.read() as s:
            zone_id = None
            code = getattr(args, "zone", None) or getattr(settings, "zone", None)
            if code:
                zone = get_zone_by_code(s, code)
                if zone is None:
                    print(_("bin-console: unknown police zone {zone}").format(zone=repr(code)), file=sys.stderr)
                    return 2
                zone_id = zone.id
            hits = search_networks(s, args.query, zone_id=zone_id, limit=max(1, int(args.limit or 20)))
    finally:
        db.dispose()
    if not hits:
        print(_("no network matches {text}").format(text=repr(clean(args.query))), file=sys.stderr)
        return 1
    rows = [
        [clean(h.name), kind_label(h.kind), clean(h.municipality), h.zone_code, str(h.member_count), _matched(h)]
        for h in hits
    ]
    print(format_table(["NETWORK", "KIND", "MUNICIPALITY", "ZONE", "ACTIVE MEMBERS", "MATCHED"], rows))
    return 0
