"""Language versions: what several texts cost the confirm (create_alert) and the sender's claims.

    .venv/bin/python benchmarks/bench_languages.py [--n 10000] [--batch 500] [--pg]

A network of --n members (nl/fr/de/en in turn, network language fr), on a fresh database:
* create_alert with one text for all vs. nl + fr + de versions (each member's version chosen);
* outbox.claim of every row in batches of --batch (what the SMS sender does), per version count.
Prints seconds; numbers depend on the machine (2 shared cores here).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from bin_console.data.engine import Database
from bin_console.data.keys import fold
from bin_console.data.models import Member, Network, PoliceZone, utcnow
from bin_console.data.schema import upgrade

from bin_console import alerts, outbox
from bin_console.actor import Actor

ACTOR = Actor(os_user="bench", host="bench")
LANGS = ("nl", "fr", "de", "en")
TEXTS = {
    "nl": "POLITIE BIN 22:10: inbraak bezig in de Kerkstraat. Blijf binnen. Info? Bel 101.",
    "fr": "POLICE PLP 22:10: cambriolage en cours, rue de l'Eglise. Restez chez vous. Info? Appelez le 101.",
    "de": "POLIZEI NIN 22:10: Einbruch in der Kirchstrasse. Bleiben Sie drinnen. Hinweise? Ruf 101.",
}


PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


@contextmanager
def _database(pg: bool) -> Iterator[Database]:
    """A fresh database: a SQLite file, or a throwaway PostgreSQL schema dropped at the end (the shared
    test database stays clean)."""
    schema = None
    if pg:
        schema = "bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f"CREATE SCHEMA {schema}")
        base = os.environ.get("BIN_CONSOLE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        db = Database.from_url(f"{base}?options=-csearch_path%3D{schema}")
    else:
        db = Database.from_url(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}")
    try:
        upgrade(db, backup=False)
        yield db
    finally:
        db.dispose()
        if schema:
            with psycopg.connect(PG_DSN, autocommit=True) as c:
                c.execute(f"DROP SCHEMA {schema} CASCADE")


def _network(db: Database, n: int) -> int:
    now = utcnow()
    with db.write() as s:
        zone = PoliceZone(code="5415", name="Bench")
        s.add(zone)
        s.flush()
        net = Network(zone_id=zone.id, name="Brussel", name_key="brussel", language="fr")
        s.add(net)
        s.flush()
        rows = [
            {
                "network_id": net.id, "name": f"Lid {i}", "name_key": fold(f"Lid {i}"), "mobile": f"+32470{i:06d}",
                "landline": None, "email": None, "street": "", "street_key": "", "house_number": "", "postcode": "",
                "municipality": "", "language": LANGS[i % 4], "role": "member", "status": "active",
                "sms_opt_out": False, "email_opt_out": False, "created_at": now, "updated_at": now,
            }
            for i in range(n)
        ]  # fmt: skip
        s.execute(Member.__table__.insert(), rows)
        return int(net.id)


def _claim_all(db: Database, batch: int) -> tuple[float, int]:
    owner = outbox.new_owner_id("bench")
    total = 0
    t0 = time.perf_counter()
    while True:
        with db.write() as s:
            got = outbox.claim(s, owner, batch, 60)
        if not got:
            return time.perf_counter() - t0, total
        total += len(got)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--pg", action="store_true", help="PostgreSQL (BIN_CONSOLE_TEST_PG or the local test db)")
    a = ap.parse_args()
    print(f"{'PostgreSQL' if a.pg else 'SQLite'}, {a.n} members, claims of {a.batch}")
    for label, kw in (("one text", {"text": TEXTS["nl"]}), ("nl+fr+de", {"texts": TEXTS})):
        with _database(a.pg) as db:
            nid = _network(db, a.n)
            t0 = time.perf_counter()
            alerts.create_alert(db, network_ids=[nid], actor=ACTOR, **kw)
            created = time.perf_counter() - t0
            claimed_s, rows = _claim_all(db, a.batch)
            print(f"  {label:<9} create_alert {created:6.3f} s   claim {rows} rows {claimed_s:6.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
