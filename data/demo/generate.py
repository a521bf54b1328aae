"""The demo dataset: one fictitious police zone with ~25 networks, their streets and ~3,000 members.

Deterministic for a given seed (same seed, same rows), so screenshots, training scripts and tests can
name real demo people. Everything stored passes through ``textsafe.clean`` like imported data does.
Rows are written with bulk INSERTs in one transaction, then the network search index is rebuilt.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from bin_console.trust.textsafe import clean

from ..engine import Database
from ..keys import fold
from ..models import Member, Network, NetworkStreet, PoliceZone
from ..search_index import rebuild_terms
from ..templates import seed_templates

HERE = Path(__file__).parent
# A fixed clock: created_at/updated_at must not differ between two runs with the same seed.
BASE_TIME = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

# Belgian mobile prefixes inside libphonenumber's MOBILE pattern 4[5-9]\d{7}.
MOBILE_PREFIXES = ("470", "471", "472", "473", "474", "475", "476", "477", "478", "479", "483", "484", "485", "486",
                   "487", "488", "489", "491", "492", "493", "494", "495", "496", "497", "498", "499", "456", "460",
                   "468")  # fmt: skip
# Landline area codes (8-digit national numbers) by municipality pool.
AREA_CODES = {"nl": ("16", "13"), "fr": ("10",)}

# Names that show the console renders untrusted text literally (brackets are not markup).
SPECIAL_NAMES = ("Jan [Piet] Peeters", "Marie-Thérèse [Mimi] Lefèvre", "Kris Wuyts [straatverantwoordelijke]")


class DemoExistsError(ValueError):
    """The database already holds the demo zone; generate into a fresh database."""


@dataclass
class DemoData:
    zone: dict
    networks: list[dict]
    streets: list[dict] = field(default_factory=list)  # each with "_net": index into networks
    members: list[dict] = field(default_factory=list)  # each with "_net"


def _load(name: str) -> dict:
    with open(HERE / name, "rb") as fh:
        return tomllib.load(fh)


def _weighted(rng: random.Random, items: list[str]) -> str:
    # earlier entries are the common names: weight 1/sqrt(rank)
    weights = [1.0 / (i + 1) ** 0.5 for i in range(len(items))]
    return rng.choices(items, weights=weights)[0]


def _pick_lang(rng: random.Random, shares: dict[str, int]) -> str:
    langs = list(shares)
    return rng.choices(langs, weights=[shares[lang] for lang in langs])[0]


def _street_pool(rng: random.Random, pool: dict, kind: str) -> list[str]:
    if kind == "nl":
        made = {stem + suffix for stem in pool["stems"] for suffix in pool["suffixes"]}
    else:
        made = {f"{k} {c}" for k in pool["kinds"] for c in pool["complements"]}
    names = sorted(made | set(pool["named"]))
    rng.shuffle(names)
    return names


class _Numbers:
    """Unique, valid, fictitious-looking Belgian numbers (E.164)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def mobile(self) -> str:
        while True:
            n = f"+32{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(1_000_000):06d}"
            if n not in self.used:
                self.used.add(n)
                return n

    def landline(self, pool: str) -> str:
        while True:
            n = f"+32{self.rng.choice(AREA_CODES[pool])}{self.rng.randrange(200_000, 1_000_000):06d}"
            if n not in self.used:
                self.used.add(n)
                return n


def _email(rng: random.Random, first: str, last: str, domains: list[str], used: set[str]) -> str:
    base = f"{fold(first).replace(' ', '')}.{fold(last).replace(' ', '')}"
    for attempt in range(1000):
        local = base if attempt == 0 else f"{base}{rng.randrange(2, 99)}"
        addr = f"{local}@{rng.choice(domains)}"
        if addr not in used:
            used.add(addr)
            return addr
    raise RuntimeError("could not make a unique demo e-mail address")


def build(seed: int = 5999) -> DemoData:
    """The demo rows as plain dicts (no database): same seed, same data."""
    rng = random.Random(seed)
    nets_cfg, names, streets_cfg = _load("networks.toml"), _load("names.toml"), _load("streets.toml")
    municipalities = {m["name"]: m for m in nets_cfg["municipality"]}
    data = DemoData(zone={"code": nets_cfg["zone"]["code"], "name": nets_cfg["zone"]["name"]}, networks=[])

    # streets: each municipality draws from its shuffled pool without repeats; anchors come first
    pools = {name: _street_pool(rng, streets_cfg[m["pool"]], m["pool"]) for name, m in municipalities.items()}
    anchored = {(n["municipality"], a) for n in nets_cfg["network"] for a in n.get("anchors", [])}
    for name in pools:
        pools[name] = [s for s in pools[name] if (name, s) not in anchored]
    for idx, n in enumerate(nets_cfg["network"]):
        muni = municipalities[n["municipality"]]
        data.networks.append(
            {
                "name": clean(n["name"]),
                "name_key": fold(n["name"]),
                "kind": n.get("kind", "BIN"),
                "municipality": muni["name"],
                "status": n.get("status", "active"),
                "charter_signed": date.fromisoformat(n["charter"]),
                "_languages": n.get("languages", muni["languages"]),
                "_pool": muni["pool"],
                "_members": n["members"],
            }
        )
        chosen = list(n.get("anchors", []))
        while len(chosen) < n["streets"]:
            chosen.append(pools[muni["name"]].pop())
        for street in chosen:
            # a few streets of a network lie across the border of the second postcode
            postcode = n["postcode"]
            if len(muni["postcodes"]) > 1 and rng.random() < 0.1 and street not in n.get("anchors", []):
                postcode = rng.choice(muni["postcodes"])
            data.streets.append(
                {
                    "_net": idx,
                    "street": clean(street),
                    "street_key": fold(street),
                    "postcode": postcode,
                    "municipality": muni["name"],
                }
            )

    _build_members(rng, data, names)
    return data


def _build_members(rng: random.Random, data: DemoData, names: dict) -> None:
    numbers = _Numbers(rng)
    emails: set[str] = set()
    domains = names["email"]["domains"]
    streets_by_net: dict[int, list[dict]] = {}
    for s in data.streets:
        streets_by_net.setdefault(s["_net"], []).append(s)
    specials = list(SPECIAL_NAMES)

    for idx, net in enumerate(data.networks):
        is_zbin = net["kind"] == "ZBIN"
        for i in range(net["_members"]):
            lang = _pick_lang(rng, net["_languages"])
            first = _weighted(rng, names["first_names"][lang])
            last = _weighted(rng, names["last_names"][lang])
            name = f"{first} {last}"
            if is_zbin and i > 0:  # the coordinator is a person; the rest are mostly businesses
                name = rng.choice(names["businesses"]["names"]).format(first=first, last=last)
            elif specials and i == 7:
                name = specials.pop(0)
            street = rng.choice(streets_by_net[idx])
            # contact mix: 55% mobile+e-mail, 25% mobile only, 10% e-mail only, 4% landline only,
            # 3% mobile only (again), 3% mobile+landline
            r = rng.random()
            mobile = numbers.mobile() if r < 0.80 or r >= 0.94 else None
            email = _email(rng, first, last, domains, emails) if r < 0.55 or 0.80 <= r < 0.90 else None
            landline = numbers.landline(net["_pool"]) if 0.90 <= r < 0.94 or r >= 0.97 else None
            if i == 0:  # coordinators are always reachable both ways
                mobile = mobile or numbers.mobile()
                email = email or _email(rng, first, last, domains, emails)
            role = "coordinator" if i == 0 or (i == 1 and net["_members"] >= 200) else "member"
            if role == "member" and rng.random() < 0.04:
                role = "street_lead"
            status = "active"
            draw = rng.random()
            if i > 1 and draw < 0.03:
                status = "pending"
            elif i > 1 and draw < 0.06:
                status = "left"
            sms_opt_out = mobile is not None and i > 1 and rng.random() < 0.025
            email_opt_out = email is not None and i > 1 and rng.random() < 0.02
            created = BASE_TIME - timedelta(days=rng.randrange(30, 3000), minutes=rng.randrange(1440))
            number = str(rng.randrange(1, 180))
            if rng.random() < 0.12:
                number += rng.choice(["A", "B", " bus 1", " bus 2", " bus 3"])
            data.members.append(
                {
                    "_net": idx,
                    "name": clean(name),
                    "name_key": fold(name),
                    "mobile": mobile,
                    "landline": landline,
                    "email": email,
                    "street": street["street"],
                    "street_key": street["street_key"],
                    "house_number": number,
                    "postcode": street["postcode"],
                    "municipality": street["municipality"],
                    "language": lang,
                    "role": role,
                    "consent_date": created.date(),
                    "status": status,
                    "sms_opt_out": sms_opt_out,
                    "email_opt_out": email_opt_out,
                    "opt_out_at": created + timedelta(days=200) if (sms_opt_out or email_opt_out) else None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
    _add_people_in_two_networks(rng, data)


def _add_people_in_two_networks(rng: random.Random, data: DemoData) -> None:
    """Some people live on a street shared by two networks: same mobile/e-mail, one row per network
    (alert fan-out must deduplicate them)."""
    by_street: dict[tuple[str, str], list[int]] = {}
    for s in data.streets:
        by_street.setdefault((s["municipality"], s["street_key"]), []).append(s["_net"])
    shared = {k: v for k, v in by_street.items() if len(set(v)) > 1}
    extra = []
    for m in data.members:
        nets = shared.get((m["municipality"], m["street_key"]))
        if not nets or m["status"] != "active" or m["role"] != "member" or rng.random() > 0.5:
            continue
        if data.networks[m["_net"]]["kind"] == "ZBIN":
            continue
        others = sorted(set(nets) - {m["_net"]})
        twin = dict(m)
        twin["_net"] = rng.choice(others)
        extra.append(twin)
    data.members.extend(extra)


def _strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def write(session: Session, data: DemoData) -> dict[str, int]:
    """Insert the demo rows in the caller's transaction; returns counts."""
    if session.execute(select(col(PoliceZone.id)).where(col(PoliceZone.code) == data.zone["code"])).first():
        raise DemoExistsError(f"police zone {data.zone['code']} already exists: the demo needs a fresh database")
    zone = PoliceZone(**data.zone)
    session.add(zone)
    session.flush()
    assert zone.id is not None  # given by the flush
    members_of = [0] * len(data.networks)
    for m in data.members:
        members_of[m["_net"]] += 1
    coordinators = {m["_net"]: m for m in reversed(data.members) if m["role"] == "coordinator"}
    net_ids: list[int] = []
    for idx, n in enumerate(data.networks):
        coord = coordinators.get(idx, {})
        row = Network(
            zone_id=zone.id,
            coordinator_name=coord.get("name", ""),
            coordinator_phone=coord.get("mobile"),
            coordinator_email=coord.get("email"),
            created_at=BASE_TIME,
            updated_at=BASE_TIME,
            **_strip(n),
        )
        session.add(row)
        session.flush()
        assert row.id is not None  # given by the flush
        net_ids.append(row.id)
    street_rows = [{**_strip(s), "network_id": net_ids[s["_net"]]} for s in data.streets]
    member_rows = [{**_strip(m), "network_id": net_ids[m["_net"]]} for m in data.members]
    session.execute(insert(NetworkStreet), street_rows)
    for i in range(0, len(member_rows), 2000):
        session.execute(insert(Member), member_rows[i : i + 2000])
    terms = rebuild_terms(session, net_ids)
    templates = seed_templates(session)
    return {
        "zones": 1,
        "networks": len(net_ids),
        "streets": len(street_rows),
        "members": len(member_rows),
        "search_terms": terms,
        "templates": templates,
    }


def generate_demo(db: Database, seed: int = 5999) -> dict[str, int]:
    """Fill a fresh, upgraded database with the demo zone. Raises DemoExistsError if it is there already."""
    data = build(seed)
    with db.write() as s:
        return write(s, data)
