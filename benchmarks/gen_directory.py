"""Generate a province- or national-sized BIN directory as the CSV files coordinators hand in.

Output (in --out DIR): ``networks.csv`` (one row per network street, as `bin-console import networks`
reads it), ``members/NNNNN.csv`` (one file per network, as `bin-console import members` reads it) and
``big/members.csv``: one 50,000-member network for the member paging benchmark. ``manifest.json``
lists the files and the counts.

Sizes from the shared domain notes (§7): province = Antwerp scale (609 BINs, 87,491 members),
national = ~1,600 networks and ~230,000 members, ~20 streets per network.

    .venv/bin/python benchmarks/gen_directory.py --size province --out /tmp/dir-province
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bin_console.data.keys import fold

SIZES = {
    "province": {"zones": 30, "networks": 600, "streets": 12_000, "members": 90_000},
    "national": {"zones": 178, "networks": 1_600, "streets": 32_000, "members": 230_000},
}
BIG_NETWORK_MEMBERS = 50_000

NETWORK_HEADER = [
    "netwerk",
    "type",
    "gemeente",
    "zone",
    "coördinator",
    "afzender",
    "charter",
    "status",
    "straat",
    "postcode",
    "straatgemeente",
]
MEMBER_HEADER = ["naam", "gsm", "telefoon", "e-mail", "straat", "nr", "postcode", "gemeente", "taal", "rol", "status"]

FIRST = [
    "Jan", "Marc", "Luc", "Peter", "Bart", "Tom", "Wim", "Dirk", "Koen", "Geert", "Stijn", "Pieter", "Hilde", "An",
    "Els", "Sofie", "Katrien", "Veerle", "Inge", "Greet", "Nele", "Sarah", "Eline", "Lotte", "Marie", "Emma",
    "Jean", "Pierre", "Michel", "Philippe", "Hélène", "Isabelle", "Nathalie", "Céline", "Chloé", "Noémie",
    "François", "Jürgen", "Sabine", "John", "Emily", "Lucas", "Noor", "Jens", "Wout", "Robbe", "Fien", "Julie",
]  # fmt: skip
LAST = [
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
    "Dubois", "Hermans", "Aerts", "Michiels", "Pauwels", "Vermeulen", "Van den Bossche", "Verstraete",
    "De Clercq", "Van de Velde", "Verhoeven", "Coppens", "Vandenberghe", "Smets", "Stevens", "Martens",
    "Lambert", "Dupont", "Leclercq", "Lejeune", "Renard", "Leroy", "Dumont", "Lefèvre", "Noël", "Müller",
    "D'Hondt", "Van Aelst", "Geeraerts", "Bosmans", "Thys", "Wuyts", "Desmet", "Moens", "Hendrickx", "Daems",
]  # fmt: skip
STEMS = [
    "Molen", "Kerk", "School", "Linden", "Eiken", "Beuken", "Berken", "Populieren", "Wilgen", "Kastanje", "Heide",
    "Bos", "Akker", "Kouter", "Beek", "Vijver", "Dries", "Hoog", "Zand", "Steen", "Hof", "Leeuw", "Zwaluw",
    "Merel", "Lijster", "Rozen", "Tulpen", "Klaver", "Esdoorn", "Hazel", "Broek", "Meers", "Weide", "Vlas",
    "Koren", "Gasthuis", "Klooster", "Veld", "Kapel", "Hagen", "Elzen", "Statie", "Markt", "Dorp", "Brug",
    "Dijk", "Nieuw", "Oude", "Pastorij", "Sint-Jozef", "Sint-Anna", "Sint-Niklaas", "Koning Albert",
]  # fmt: skip
STREET_SUFFIX = ["straat", "straat", "straat", "laan", "weg", "dreef", "plein", "hof", "pad", "steenweg"]
WIJK_SUFFIX = ["wijk", "veld", "hoek", "kouter", "dorp", "bos", "hof", "berg", "akker", "dal"]
TOWN_PREFIX = ["", "", "", "Sint-", "Oost", "West", "Neder", "Over", "Groot-", "Klein-", "Heist-op-"]
TOWN_ROOT = [
    "heik", "beer", "hout", "mol", "lin", "kessel", "rode", "berg", "ham", "zel", "lo", "wes", "bree", "eke",
    "lier", "ranst", "zoers", "vors", "aart", "brecht", "gooi", "laak", "merk", "dessel", "geel", "olen",
]  # fmt: skip
TOWN_SUFFIX = ["hem", "em", "dijk", "donk", "lo", "zele", "kerke", "gem", "ingen", "broek", "rode", "eren", "hout"]
FR_TOWNS = ["Wérichamps", "Liège-Sud", "Fléron-Haut", "Héron", "Braine-le-Bois", "Orp-le-Petit", "Éghezée-Centre"]
FR_STREET = ["Rue", "Avenue", "Chaussée", "Place", "Boulevard", "Allée"]
TOWN_OWN_STREETS = 300
MOBILE_PREFIXES = [str(p) for p in (*range(470, 480), *range(483, 490), *range(491, 500))]


@dataclass
class Manifest:
    size: str
    networks_csv: str
    member_files: list[tuple[str, str, str]] = field(default_factory=list)  # (zone code, network name, path)
    big: tuple[str, str, str] | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def save(self, out: Path) -> None:
        (out / "manifest.json").write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, out: Path) -> Manifest:
        raw = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        raw["member_files"] = [tuple(x) for x in raw["member_files"]]
        raw["big"] = tuple(raw["big"]) if raw["big"] else None
        return cls(**raw)


class _Phones:
    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def mobile(self) -> str:
        while True:
            nsn = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(1_000_000):06d}"
            if nsn not in self.used:
                self.used.add(nsn)
                break
        # the forms coordinators type
        style = self.rng.random()
        if style < 0.6:
            return f"0{nsn[:3]} {nsn[3:5]} {nsn[5:7]} {nsn[7:]}"
        if style < 0.8:
            return f"+32 {nsn[:3]} {nsn[3:5]} {nsn[5:7]} {nsn[7:]}"
        if style < 0.9:
            return f"0{nsn[:3]}/{nsn[3:5]}.{nsn[5:7]}.{nsn[7:]}"
        return f"0032{nsn}"

    def landline(self) -> str:
        # 8-digit national numbers: one-digit area codes take 7 more digits, two-digit ones 6
        area = self.rng.choice(["2", "3", "16", "13", "11"])
        rest = f"{self.rng.randrange(2, 9)}{self.rng.randrange(10 ** (7 - len(area))):0{7 - len(area)}d}"
        return f"0{area}{rest}"


def _towns(rng: random.Random, n: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        if rng.random() < 0.08:
            name = rng.choice(FR_TOWNS) + ("" if rng.random() < 0.5 else f"-{rng.choice(['Ouest', 'Nord'])}")
        else:
            p = rng.choice(TOWN_PREFIX)
            root = rng.choice(TOWN_ROOT) + rng.choice(TOWN_SUFFIX)
            name = p + (root.capitalize() if not p or p.endswith("-") else root)
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _own_streets(rng: random.Random, town: str, n: int = TOWN_OWN_STREETS) -> set[str]:
    if town.split("-")[0] in {t.split("-")[0] for t in FR_TOWNS}:
        return {f"{rng.choice(FR_STREET)} {rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(n)}
    return {f"{rng.choice(FIRST)} {rng.choice(LAST)}{rng.choice(STREET_SUFFIX)}" for _ in range(n)}


def _split_total(rng: random.Random, total: int, parts: int, lo: int, hi: int) -> list[int]:
    """`parts` counts between lo and hi, skewed (few large networks), summing to exactly `total`."""
    raw = [min(hi, max(lo, int(rng.lognormvariate(0, 0.6) * total / parts))) for _ in range(parts)]
    diff = total - sum(raw)
    i = 0
    while diff:
        j = i % parts
        step = 1 if diff > 0 else -1
        if lo <= raw[j] + step <= hi:
            raw[j] += step
            diff -= step
        i += 1
    return raw


def generate(out: Path, size: str, *, seed: int = 1) -> Manifest:
    cfg = SIZES[size]
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "members").mkdir(exist_ok=True)
    (out / "big").mkdir(exist_ok=True)
    manifest = Manifest(size=size, networks_csv=str(out / "networks.csv"))
    phones = _Phones(rng)

    towns = _towns(rng, cfg["networks"] // 8)
    postcodes = rng.sample(range(1000, 10000), len(towns))
    zone_of_town = {t: f"{5300 + i % cfg['zones']}" for i, t in enumerate(towns)}
    streets_per = _split_total(rng, cfg["streets"], cfg["networks"], 5, 60)
    members_per = _split_total(rng, cfg["members"], cfg["networks"], 15, 600)

    networks = []  # (zone, name, town, postcode, streets)
    used_names: set[tuple[str, str]] = set()
    town_streets: dict[str, list[str]] = {}
    for i in range(cfg["networks"]):
        town_idx = i % len(towns)
        town = towns[town_idx]
        zone = zone_of_town[town]
        kind = "ZBIN" if rng.random() < 0.1 else "BIN"
        wijk = rng.choice(STEMS) + rng.choice(WIJK_SUFFIX)
        name = f"{'BIN-Z' if kind == 'ZBIN' else 'BIN'} {wijk}"
        if (zone, name.lower()) in used_names:
            name = f"{name} {town}"
        while (zone, name.lower()) in used_names:
            name = f"{name} {rng.randrange(2, 99)}"
        used_names.add((zone, name.lower()))
        # a town's networks share its street pool: Kerkstraat belongs to several networks. Besides the
        # names every town has, each town has its own (named after people, as in Belgium), so the
        # index holds about as many distinct street names as a national directory, which is what the
        # fuzzy search's candidate set is sized by
        pool = town_streets.get(town)
        if pool is None:
            pool = town_streets[town] = sorted({s + x for s in STEMS for x in STREET_SUFFIX} | _own_streets(rng, town))
        streets = rng.sample(pool, min(streets_per[i], len(pool)))
        networks.append((zone, name, kind, town, str(postcodes[town_idx]), streets))

    with open(out / "networks.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(NETWORK_HEADER)
        for zone, name, kind, town, pc, streets in networks:
            for street in streets:
                w.writerow([name, kind, town, zone, "", "", "2019-03-01", "active", street, pc, town])

    def write_members(path: Path, n: int, town: str, pc: str, streets: list[str]) -> None:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, delimiter=";")
            w.writerow(MEMBER_HEADER)
            for j in range(n):
                r = rng.random()
                first, last = rng.choice(FIRST), rng.choice(LAST)
                mobile = phones.mobile() if r < 0.9 else ""
                landline = phones.landline() if r >= 0.95 else ""
                local = f"{fold(first)}.{fold(last).replace(' ', '')}{j}"  # ASCII: not every SMTP relay takes UTF-8
                email = f"{local}@mail.example" if r < 0.6 or 0.9 <= r < 0.95 else ""
                role = "coordinator" if j == 0 else ("street_lead" if rng.random() < 0.03 else "member")
                lang = "nl" if rng.random() < 0.85 else rng.choice(["fr", "fr", "de", "en"])
                w.writerow(
                    [f"{first} {last}", mobile, landline, email, rng.choice(streets), str(rng.randrange(1, 250)),
                     pc, town, lang, role, "active" if rng.random() < 0.95 else "pending"]
                )  # fmt: skip

    for i, (zone, name, _kind, town, pc, streets) in enumerate(networks):
        path = out / "members" / f"{i:05d}.csv"
        write_members(path, members_per[i], town, pc, streets)
        manifest.member_files.append((zone, name, str(path)))

    # one very large network on the same zone/town as network 0, for member paging
    zone, _name, _kind, town, pc, streets = networks[0]
    big_name = "BIN Stresstest Groot"
    with open(out / "big" / "network.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(NETWORK_HEADER)
        for street in streets:
            w.writerow([big_name, "BIN", town, zone, "", "", "2019-03-01", "active", street, pc, town])
    write_members(out / "big" / "members.csv", BIG_NETWORK_MEMBERS, town, pc, streets)
    manifest.big = (zone, big_name, str(out / "big" / "members.csv"))
    manifest.counts = {
        "zones": len(set(zone_of_town.values())),
        "networks": len(networks),
        "street_rows": sum(len(n[5]) for n in networks),
        "members": sum(members_per),
        "big_members": BIG_NETWORK_MEMBERS,
    }
    manifest.save(out)
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="province")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    t = time.perf_counter()
    m = generate(Path(args.out), args.size, seed=args.seed)
    print(f"{args.size}: {m.counts} in {time.perf_counter() - t:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
