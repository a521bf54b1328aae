"""Spreadsheet-safe export that round-trips through the importer; import speed measurement."""

from __future__ import annotations

import csv
import os
import stat

import pytest
from bin_console.data.models import Member, Network, PoliceZone
from sqlalchemy import select

from bin_console.cli.dispatch import main
from bin_console.directory.exporter import export_members, safe_cell
from bin_console.directory.importer import import_members

FIELDS = ("name", "mobile", "landline", "email", "street", "house_number", "postcode", "municipality", "language")
FIELDS += ("role", "status", "consent_date", "sms_opt_out", "email_opt_out")


def _nets(db):
    with db.write() as s:
        z = PoliceZone(code="5415", name="Z")
        s.add(z)
        s.flush()
        a = Network(zone_id=z.id, name="A", name_key="a")
        b = Network(zone_id=z.id, name="B", name_key="b")
        s.add_all([a, b])
        s.flush()
        return a.id, b.id


def _snapshot(db, nid):
    with db.read() as s:
        ms = s.scalars(select(Member).where(Member.network_id == nid)).all()
        return sorted(tuple(getattr(m, f) for f in FIELDS) for m in ms)


def test_safe_cell():
    assert safe_cell('=HYPERLINK("http://evil.example","Klik")') == '\'=HYPERLINK("http://evil.example","Klik")'
    for v in ("+32470123456", "@SUM(A1)", "-2+3", "\tx", "\rx", "\nx"):
        assert safe_cell(v) == "'" + v
    assert safe_cell("Jan") == "Jan" and safe_cell(None) == "" and safe_cell(True) == "yes"


def test_export_is_safe_and_round_trips(db, tmp_path):
    a, b = _nets(db)
    src = tmp_path / "src.csv"
    src.write_text(
        "Naam;GSM;Telefoon;E-mail;Straat;Nr;Postcode;Gemeente;Taal;Rol;Status;Toestemming;SMS opt-out\n"
        "Renée Peeters;0475123456;02 511 22 33;renee@example.be;Rue de l'Église;12b;9100;Sint-Niklaas;fr;"
        "coordinator;active;05/03/2021;nee\n"
        'Jan "de Smid";;;jan@example.be;Kerkstraat;1;9100;Sint-Niklaas;nl;street_lead;pending;;ja\n'
        "Ömer;0476123456;;;;;;;de;member;left;;\n",
        encoding="utf-8",
    )
    assert import_members(db, src, a).imported == 3
    out = tmp_path / "export.csv"
    assert export_members(db, a, out) == 3
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert '"\'+32475123456"' in text  # phones prefixed, every cell quoted
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    assert all(c == "" or not c.startswith(("=", "+", "-", "@")) for r in rows for c in r)
    # round trip: import the export into another network and compare every field
    r = import_members(db, out, b)
    assert (r.imported, r.rejected, r.fatal) == (3, [], None)
    assert _snapshot(db, b) == _snapshot(db, a)
    # and again into the same network: nothing changes
    r = import_members(db, out, a)
    assert (r.imported, r.updated, r.unchanged) == (0, 0, 3)


def test_cli_export(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    nets = tmp_path / "n.csv"
    nets.write_text("Netwerk;Zone;Straat\nBIN Kerkwijk;5415;Kerkstraat\n", encoding="utf-8")
    mem = tmp_path / "m.csv"
    mem.write_text("Naam;GSM\nJan;0475123456\n", encoding="utf-8")
    assert main(["--db", url, "import", "networks", str(nets), "--create-zones"]) == 0
    assert main(["--db", url, "import", "members", str(mem), "--network", "BIN Kerkwijk"]) == 0
    capsys.readouterr()
    assert main(["--db", url, "export", "members", "--network", "bin kerkwijk"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("\ufeff") and '"\'+32475123456"' in out
    target = tmp_path / "x.csv"
    assert main(["--db", url, "export", "members", "--network", "BIN Kerkwijk", "-o", str(target)]) == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert main(["--db", url, "export", "members", "--network", "Nope"]) == 2


@pytest.mark.slow
def test_a_large_member_file_imports_whole_and_a_reimport_changes_nothing(sqlite_db, tmp_path):
    """10,000 rows in one file: every row in, then the same file again finds every row unchanged.
    (Speed is benchmarks/bench_directory.py's business: a test never asserts a wall time.)"""
    a, _ = _nets(sqlite_db)
    n = 10_000
    p = tmp_path / "big.csv"
    with open(p, "w", encoding="utf-8") as fh:
        fh.write("Voornaam;Achternaam;GSM;E-mail;Straat;Nr;Postcode;Gemeente;Taal\n")
        for i in range(n):
            fh.write(f"V{i};Peeters;04{75 + i % 5}{i:06d};v{i}@example.be;Kerkstraat;{i % 300};9100;Sint-Niklaas;nl\n")
    r = import_members(sqlite_db, p, a)
    assert (r.imported, r.rejected, r.fatal) == (n, [], None)
    r2 = import_members(sqlite_db, p, a)
    assert (r2.unchanged, r2.imported) == (n, 0)


def test_export_never_writes_through_a_planted_temp_symlink(db, tmp_path):
    a, _ = _nets(db)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "export.csv"
    os.symlink(victim, f"{out}.tmp{os.getpid()}")  # someone guessed the temp name
    assert export_members(db, a, out) == 0
    assert victim.read_text() == "keep me"
    assert not out.is_symlink() and out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
