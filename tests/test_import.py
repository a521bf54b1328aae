"""Importing coordinators' files: encodings, separators, languages, bad rows, fatal files, idempotence, atomicity."""

from __future__ import annotations

import os

import pytest
from bin_console.data.models import Member, Network, NetworkStreet, PoliceZone
from bin_console.data.networks import search_networks
from sqlalchemy import func, select

from bin_console.cli.dispatch import main
from bin_console.directory import importer, importer_networks, tabular
from bin_console.directory.importer import import_members, import_networks


@pytest.fixture
def network_id(db):
    with db.write() as s:
        z = PoliceZone(code="5415", name="Z")
        s.add(z)
        s.flush()
        n = Network(zone_id=z.id, name="BIN Kerkwijk", name_key="bin kerkwijk")
        s.add(n)
        s.flush()
        return n.id


def _write(tmp_path, text: str, encoding: str = "utf-8", name: str = "in.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _members(db, network_id):
    with db.read() as s:
        return {m.name: m for m in s.scalars(select(Member).where(Member.network_id == network_id))}


def _count(db):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Member))


NL = "Voornaam;Achternaam;GSM;E-mail;Straat;Nr;Postcode;Gemeente;Taal\r\n"


def test_utf8_bom_semicolon_dutch_headers(db, network_id, tmp_path):
    text = NL + "Renée;Vandenbroucke-Özdemir;0475 12 34 56;renee@example.be;Kerkstraat;12;9100;Sint-Niklaas;nl\r\n"
    r = import_members(db, _write(tmp_path, "\ufeff" + text), network_id)
    assert (r.fatal, r.imported, r.rejected, r.encoding, r.delimiter) == (None, 1, [], "utf-8-sig", ";")
    m = _members(db, network_id)["Renée Vandenbroucke-Özdemir"]
    assert m.mobile == "+32475123456" and m.postcode == "9100" and m.street_key == "kerkstraat"
    assert r.exit_code() == 0


def test_cp1252_with_euro_and_accents(db, network_id, tmp_path):
    text = "Naam;GSM;Straat\nRenée €uro;0475123456;Rue de l'Église\n"
    r = import_members(db, _write(tmp_path, text, "cp1252"), network_id)
    assert r.encoding == "cp1252" and r.imported == 1, r
    m = _members(db, network_id)["Renée €uro"]
    assert m.street == "Rue de l'Église"


def test_latin1(db, network_id, tmp_path):
    text = "Nom;Portable;Rue\nHélène Müller;0475123456;Grand-Rue\n"
    r = import_members(db, _write(tmp_path, text, "latin-1"), network_id)
    assert r.imported == 1 and "Hélène Müller" in _members(db, network_id)


def test_utf16_tab_french_headers(db, network_id, tmp_path):
    text = "Prénom\tNom de famille\tPortable\tCourriel\tRue\tN°\tCode postal\tCommune\tLangue\tRôle\tStatut\r\n"
    text += "Hélène\tDupont\t+32 475 12 34 56\thelene@example.be\tRue Haute\t3\t4020\tLiège\t"
    text += "français\tcoordinatrice\tactif\r\n"
    r = import_members(db, _write(tmp_path, text, "utf-16"), network_id)
    assert (r.encoding, r.delimiter, r.imported) == ("utf-16", "\t", 1), r
    m = _members(db, network_id)["Hélène Dupont"]
    assert (m.language, m.role, m.status, m.house_number, m.municipality) == (
        "fr",
        "coordinator",
        "active",
        "3",
        "Liège",
    )


def test_comma_english_headers_quoted_comma(db, network_id, tmp_path):
    text = "Name,Mobile,Phone,Email,Street,Number,ZIP,City,Language,Role,Status,Consent,SMS opt-out\n"
    text += '"Peeters, Jan",0475123456,,jan@example.be,Kerkstraat,1,9100,Sint-Niklaas,'
    text += "EN,street lead,pending,05/03/2021,yes\n"
    r = import_members(db, _write(tmp_path, text), network_id)
    assert r.delimiter == "," and r.imported == 1, r
    m = _members(db, network_id)["Peeters, Jan"]
    assert (m.language, m.role, m.status, str(m.consent_date), m.sms_opt_out) == (
        "en",
        "street_lead",
        "pending",
        "2021-03-05",
        True,
    )
    assert m.opt_out_at is not None


def test_bad_rows_reported_good_rows_imported(db, network_id, tmp_path):
    text = NL
    text += "Jan;Peeters;0475 12 34 56;;;;;;\n"  # 2 ok
    text += "An;Smet;02 511 22 33;;;;;;\n"  # 3 landline in the GSM column
    text += "Bo;Bad;047012345;;;;;;\n"  # 4 too short
    text += "Cas;Foreign;+31 6 12345678;;;;;;\n"  # 5 foreign
    text += "Dirk;Tel;Tel: 0470 12 34 56;;;;;;\n"  # 6 charset gate
    text += "Eva;=HYPERLINK(1);;eva@example.be;;;;;\n"  # 7 formula name
    text += "Fien;Mail;;fien@localhost;;;;;\n"  # 8 bad e-mail
    text += "Gust;Nobody;;;;;;;\n"  # 9 no contact
    text += "Hilde;Taal;0476 12 34 56;;;;;;es\n"  # 10 language
    text += "Ine;Post;0477 12 34 56;;;;91000;;\n"  # 11 postcode
    r = import_members(db, _write(tmp_path, text), network_id)
    by_line = {e.line: e for e in r.rejected}
    assert r.imported == 1 and set(by_line) == set(range(3, 12)), r.rejected
    assert by_line[3].column == "GSM" and "landline" in by_line[3].reason
    assert by_line[5].column == "GSM" and "foreign" in by_line[5].reason
    assert by_line[6].column == "GSM" and "not a phone number" in by_line[6].reason
    assert by_line[7].column == "Achternaam"
    assert by_line[8].column == "E-mail"
    assert "cannot be reached" in by_line[9].reason
    assert by_line[10].column == "Taal" and by_line[11].column == "Postcode"
    assert str(by_line[3]).startswith("line 3, column GSM: ")
    assert r.exit_code() == 1


def test_landline_only_and_email_only_rows(db, network_id, tmp_path):
    text = "Naam;GSM;Telefoon;E-mail\nAn Smet;;02 511 22 33;\nBo Mail;;;bo@example.be\nCas Mob;;0475 12 34 56;\n"
    r = import_members(db, _write(tmp_path, text), network_id)
    assert r.imported == 3 and not r.rejected
    ms = _members(db, network_id)
    assert ms["An Smet"].landline == "+3225112233" and ms["An Smet"].mobile is None
    assert ms["Bo Mail"].email == "bo@example.be" and ms["Bo Mail"].mobile is None
    # a mobile written in the phone column is still the SMS number
    assert ms["Cas Mob"].mobile == "+32475123456" and ms["Cas Mob"].landline is None


def test_duplicates_in_file_and_against_db(db, network_id, tmp_path):
    text = "Naam;GSM;E-mail\nJan;0475123456;jan@example.be\nJan bis;0475 12 34 56;\nPiet;;JAN@example.be\n"
    r = import_members(db, _write(tmp_path, text), network_id)
    msgs = {e.line: e.reason for e in r.rejected}
    assert r.imported == 1 and msgs[3] == "same mobile number as line 2 (duplicate row)" and "line 2" in msgs[4]
    # against the DB: a row whose mobile is new but whose e-mail is known updates that member
    text2 = "Naam;GSM;E-mail\nKarel;0476123456;jan@example.be\n"
    r2 = import_members(db, _write(tmp_path, text2, name="b.csv"), network_id)
    assert r2.imported == 0 and r2.updated == 1
    assert _members(db, network_id)["Karel"].email == "jan@example.be"
    text3 = "Naam;GSM;E-mail\nLies;0476123456;lies@example.be\n"
    r3 = import_members(db, _write(tmp_path, text3, name="c.csv"), network_id)
    assert r3.imported == 0 and r3.updated == 1 and r3.rejected == []
    text4 = "Naam;GSM;E-mail\nMon;0476123456;other@example.be\nNora;0479123456;lies@example.be\n"
    import_members(db, _write(tmp_path, "Naam;GSM\nOtto;0479123456\n", name="d.csv"), network_id)
    r4 = import_members(db, _write(tmp_path, text4, name="e.csv"), network_id)
    assert [e.line for e in r4.rejected] == [3] and "Otto" not in r4.rejected[0].reason
    assert "already used by member" in r4.rejected[0].reason


def test_formula_cells_rejected_and_export_prefix_stripped(db, network_id, tmp_path):
    text = "Naam;GSM;Straat\n@SUM(A1);0475123456;\nJan;'+32475123457;-2+3\n"
    r = import_members(db, _write(tmp_path, text), network_id)
    assert [(e.line, e.column) for e in r.rejected] == [(2, "Naam"), (3, "Straat")]
    text = "Naam;GSM;Straat\nJan;'+32475123457;Kerkstraat\n"
    r = import_members(db, _write(tmp_path, text, name="b.csv"), network_id)
    assert r.imported == 1 and _members(db, network_id)["Jan"].mobile == "+32475123457"


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"\r\n\r\n  \r\n", "empty"),
        (b"Naam;GSM\r\n", "no data rows"),
        (b"Naam;GSM\r\nJan\x00;0475123456\r\n", "NUL"),
        (b"foo;bar\r\n1;2\r\n", "no usable header"),
        (b'"Naam;GSM\r\nJan;0475123456\r\n', "line 1 (the header)"),
    ],
)
def test_fatal_files_change_nothing(db, network_id, tmp_path, content, reason):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    r = import_members(db, p, network_id)
    assert r.fatal and reason in r.fatal, r.fatal
    assert _count(db) == 0 and r.exit_code() == 2


def test_huge_file_is_fatal_before_parsing(db, network_id, tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "MAX_BYTES", 10_000)
    p = _write(tmp_path, "Naam;GSM\n" + "".join(f"Jan {i};04751{i:05d}\n" for i in range(2000)))
    r = import_members(db, p, network_id)
    assert "too large" in r.fatal and _count(db) == 0


def test_file_over_the_default_cap_is_refused_by_size(db, network_id, tmp_path):
    p = tmp_path / "province.csv"
    p.write_bytes(b"Naam;GSM\n")
    os.truncate(p, tabular.MAX_BYTES + 1)  # sparse: costs no disk, refused before any byte is parsed
    r = import_members(db, p, network_id)
    assert "too large" in r.fatal and _count(db) == 0


def test_too_many_rows_is_fatal(db, network_id, tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "MAX_ROWS", 10)
    p = _write(tmp_path, "Naam;GSM\n" + "".join(f"Jan {i};04751{i:05d}\n" for i in range(20)))
    r = import_members(db, p, network_id)
    assert "too many rows" in r.fatal and _count(db) == 0


def test_default_caps_fit_a_province_file():
    # 250,000 rows of ~120 bytes: ~30 MB
    assert tabular.MAX_ROWS >= 250_000 and tabular.MAX_BYTES >= 250_000 * 120


def test_xlsx(db, network_id, tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Naam", "GSM-nummer", "E-mail", "Toestemming"])
    ws.append(["Jan Peeters", 475123456, "jan@example.be", dt.datetime(2021, 3, 5)])  # number cell lost its 0
    ws.append([None, None, None, None])
    ws.append(["Bad", "02 511 22 33", None, None])
    p = tmp_path / "leden.xlsx"
    wb.save(p)
    r = import_members(db, p, network_id)
    assert r.encoding == "xlsx" and r.imported == 1
    assert [(e.line, e.column) for e in r.rejected] == [(4, "GSM-nummer")]
    m = _members(db, network_id)["Jan Peeters"]
    assert m.mobile == "+32475123456" and str(m.consent_date) == "2021-03-05"


def test_dry_run_writes_nothing(db, network_id, tmp_path):
    p = _write(tmp_path, "Naam;GSM\nJan;0475123456\nPiet;bad\n")
    r = import_members(db, p, network_id, dry_run=True)
    assert (r.imported, r.rejected_rows, r.dry_run) == (1, 1, True) and _count(db) == 0


def test_reimport_is_idempotent_and_updates(db, network_id, tmp_path):
    text = NL + "".join(
        f"V{i};A{i};04751{i:05d};v{i}@example.be;Kerkstraat;{i};9100;Sint-Niklaas;nl\n" for i in range(50)
    )
    p = _write(tmp_path, text)
    assert import_members(db, p, network_id).imported == 50
    r = import_members(db, p, network_id)
    assert (r.imported, r.updated, r.unchanged, r.exit_code()) == (0, 0, 50, 0)
    assert _count(db) == 50
    # a changed street updates in place; a blank cell never erases; an opt-out is never cleared
    with db.write() as s:
        m = s.scalars(select(Member).where(Member.name == "V1 A1")).one()
        m.sms_opt_out = True
    text2 = NL + "V1;A1;0475100001;;Markt;1;9100;Sint-Niklaas;fr\n"
    r = import_members(db, _write(tmp_path, text2, name="b.csv"), network_id)
    assert (r.imported, r.updated) == (0, 1)
    m = _members(db, network_id)["V1 A1"]
    assert (m.street, m.street_key, m.email, m.language, m.sms_opt_out) == (
        "Markt",
        "markt",
        "v1@example.be",
        "fr",
        True,
    )


def test_failure_mid_write_leaves_db_unchanged(db, network_id, tmp_path, monkeypatch):
    import_members(db, _write(tmp_path, "Naam;GSM\nFirst;0475999999\n", name="a.csv"), network_id)
    monkeypatch.setattr(importer, "CHUNK", 10)
    calls = {"n": 0}
    real = importer._insert_chunk

    def failing(session, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        real(session, rows)

    monkeypatch.setattr(importer, "_insert_chunk", failing)
    text = "Naam;GSM\nFirst;0475999999;\n" + "".join(f"Jan {i};04751{i:05d}\n" for i in range(35))
    r = import_members(db, _write(tmp_path, text.replace(";\n", "\n")), network_id)
    assert calls["n"] == 2 and "disk full" in r.fatal and r.exit_code() == 2
    assert set(_members(db, network_id)) == {"First"}


def test_cli_import_members_exit_codes(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    nets = _write(tmp_path, "Netwerk;Zone;Straat;Postcode\nBIN Kerkwijk;5415;Kerkstraat;9100\n", name="n.csv")
    assert main(["--db", url, "import", "networks", str(nets), "--create-zones"]) == 0
    good = _write(tmp_path, "Naam;GSM\nJan;0475123456\n", name="g.csv")
    mixed = _write(tmp_path, "Naam;GSM\nPiet;0475123457\nBad;02 511 22 33\n", name="m.csv")
    bad = _write(tmp_path, "Naam;GSM\nBad;02 511 22 33\n", name="b.csv")
    capsys.readouterr()
    assert main(["--db", url, "import", "members", str(good), "--network", "bin kerkwijk", "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert main(["--db", url, "import", "members", str(good), "--network", "BIN Kerkwijk"]) == 0
    assert main(["--db", url, "import", "members", str(mixed), "--network", "BIN Kerkwijk"]) == 1
    out = capsys.readouterr().out
    assert "imported 1, updated 0, unchanged 0, rejected 1" in out and "line 3, column GSM:" in out
    assert main(["--db", url, "import", "members", str(bad), "--network", "BIN Kerkwijk"]) == 2
    assert main(["--db", url, "import", "members", str(good), "--network", "Nope"]) == 2


# --- networks ---------------------------------------------------------------------------------------

NETS = (
    "Netwerk;Type;Gemeente;Zone;Coördinator;Afzender;Charter;Status;Straat;Postcode;Deelgemeente\n"
    "BIN Kerkwijk;BIN;Sint-Niklaas;5415;Jan Peeters;POLITIE;01/02/2020;actief;Kerkstraat;9100;\n"
    "BIN Kerkwijk;;;;;;;;Molenstraat;9100;\n"
    "BIN-Z Centrum;Z-BIN;Sint-Niklaas;5415;;;;;Kerkstraat;9100;\n"
    "PLP Outremeuse;PLP;Liège;5277;;;;;Rue Puits-en-Sock;4020;Liège\n"
)


def test_import_networks_and_search(db, tmp_path):
    r = import_networks(db, _write(tmp_path, NETS), zone_code=None, create_zones=True)
    assert (r.fatal, r.imported, r.streets_added, r.rejected) == (None, 3, 4, []), r
    assert r.zones_created == ["5277", "5415"]
    with db.read() as s:
        nets = {n.name: n for n in s.scalars(select(Network))}
        assert nets["BIN-Z Centrum"].kind == "ZBIN" and nets["PLP Outremeuse"].kind == "BIN"
        assert nets["BIN Kerkwijk"].sms_sender == "POLITIE" and str(nets["BIN Kerkwijk"].charter_signed) == "2020-02-01"
        assert s.scalar(select(func.count()).select_from(NetworkStreet)) == 4
        hits = search_networks(s, "kerkstr")
        assert {h.name for h in hits} == {"BIN Kerkwijk", "BIN-Z Centrum"}
        assert [h.name for h in search_networks(s, "liege")] == ["PLP Outremeuse"]
    r2 = import_networks(db, _write(tmp_path, NETS, name="again.csv"))
    assert (r2.imported, r2.updated, r2.unchanged, r2.streets_added) == (0, 0, 3, 0)
    assert (r2.networks_changed, r2.zones_created, r2.exit_code()) == ([], [], 0)


def test_import_networks_bad_rows_and_zone_option(db, tmp_path):
    text = (
        "Réseau;Type;Commune;Rue;Code postal;Expéditeur\n"
        "PLP A;PLP;Namur;Rue A;5000;POLICE\n"
        "PLP A;PLP-I;;Rue B;5000;\n"  # kind differs from line 2
        "PLP B;WhatsApp;Namur;Rue C;5000;\n"  # bad kind
        "PLP C;PLP;Namur;Rue D;50000;\n"  # bad postcode
        "PLP D;PLP;Namur;Rue E;5000;POLICE-NAMUR-X\n"  # sender too long
        "PLP A;;;Rue A;5000;\n"  # same street as line 2
    )
    p = _write(tmp_path, text)
    r = import_networks(db, p)
    assert r.imported == 0 and all(e.column == "Zone" or e.column == "zone" for e in r.rejected[:1])
    r = import_networks(db, p, zone_code="5302", create_zones=True)
    cols = {e.line: e.column for e in r.rejected}
    assert cols == {3: "Type", 4: "Type", 5: "Code postal", 6: "Expéditeur", 7: "Rue"}, r.rejected
    assert r.imported == 1 and r.exit_code() == 1


def test_import_networks_failure_mid_write(db, tmp_path, monkeypatch):
    def boom(session, ids):
        raise RuntimeError("index write failed")

    monkeypatch.setattr(importer_networks, "rebuild_terms", boom)
    r = import_networks(db, _write(tmp_path, NETS), create_zones=True)
    assert "index write failed" in r.fatal
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Network)) == 0
        assert s.scalar(select(func.count()).select_from(PoliceZone)) == 0


def test_namesake_match_does_not_take_over_mobile_or_email(db, network_id, tmp_path):
    first = "Naam;GSM;E-mail;Straat;Nr\nJan Peeters;0475111111;jan@example.be;Kerkstraat;1\n"
    assert import_members(db, _write(tmp_path, first), network_id).imported == 1
    # same name and address, another person's mobile: refused, the stored member keeps their number
    text = "Naam;GSM;Straat;Nr\nJan Peeters;0475222222;Kerkstraat;1\n"
    r = import_members(db, _write(tmp_path, text, name="b.csv"), network_id)
    assert (r.imported, r.updated) == (0, 0) and [(e.line, e.column) for e in r.rejected] == [(2, "GSM")]
    assert "name and address match member #" in r.rejected[0].reason and "mobile differs" in r.rejected[0].reason
    text = "Naam;E-mail;Straat;Nr\nJan Peeters;JR@example.be;Kerkstraat;1\n"
    r = import_members(db, _write(tmp_path, text, name="c.csv"), network_id)
    assert r.updated == 0 and "e-mail differs" in r.rejected[0].reason
    m = _members(db, network_id)["Jan Peeters"]
    assert (m.mobile, m.email) == ("+32475111111", "jan@example.be")
    # the same address in other case is the same member; a missing one may be filled in
    text = "Naam;E-mail;Straat;Nr\nJan Peeters;JAN@example.be;Kerkstraat;1\n"
    assert import_members(db, _write(tmp_path, text, name="d.csv"), network_id).rejected == []
    import_members(db, _write(tmp_path, "Naam;E-mail;Straat\nAn;an@example.be;Markt\n", name="e.csv"), network_id)
    r = import_members(db, _write(tmp_path, "Naam;GSM;Straat\nAn;0475333333;Markt\n", name="f.csv"), network_id)
    assert (r.updated, r.rejected) == (1, []) and _members(db, network_id)["An"].mobile == "+32475333333"


def test_import_never_brings_back_a_member_who_left(db, network_id, tmp_path):
    p = _write(tmp_path, "Naam;GSM;Status\nJan;0475111111;actief\nPiet;0475222222;actief\n")
    assert import_members(db, p, network_id).imported == 2
    with db.write() as s:
        s.scalars(select(Member).where(Member.name == "Jan")).one().status = "left"
    r = import_members(db, p, network_id)
    assert [(e.line, e.column) for e in r.rejected] == [(2, "Status")] and "left" in r.rejected[0].reason
    assert r.unchanged == 1 and r.exit_code() == 1
    assert _members(db, network_id)["Jan"].status == "left"
    # a file without a status column, or saying "left", is fine and changes nothing about it
    r = import_members(db, _write(tmp_path, "Naam;GSM;Straat\nJan;0475111111;Markt\n", name="b.csv"), network_id)
    assert (r.updated, r.rejected) == (1, [])
    assert (_members(db, network_id)["Jan"].status, _members(db, network_id)["Jan"].street) == ("left", "Markt")


def test_members_are_matched_as_they_are_when_writing(db, network_id, tmp_path, monkeypatch):
    import_members(db, _write(tmp_path, "Naam;GSM\nJan;0475111111\n", name="a.csv"), network_id)
    real = importer._member_from_row

    def concurrent_delete(cols, cells):
        # another dispatcher removes the member while the file is being read
        with db.write() as s:
            for m in s.scalars(select(Member).where(Member.network_id == network_id)):
                s.delete(m)
        return real(cols, cells)

    monkeypatch.setattr(importer, "_member_from_row", concurrent_delete)
    r = import_members(db, _write(tmp_path, "Naam;GSM;Straat\nJan;0475111111;Markt\n"), network_id)
    assert (r.fatal, r.imported, r.updated) == (None, 1, 0)
    assert _members(db, network_id)["Jan"].street == "Markt"


def test_integrity_error_reported_without_members_data(db, network_id, tmp_path, monkeypatch):
    from sqlalchemy import insert

    real = importer._insert_chunk

    def racing_insert(session, rows):
        # a member with the same mobile committed by someone else between matching and writing
        session.execute(insert(Member.__table__), [dict(rows[0], name="Other", name_key="other")])
        real(session, rows)

    monkeypatch.setattr(importer, "_insert_chunk", racing_insert)
    r = import_members(db, _write(tmp_path, "Naam;GSM\nJan Secret;0475111111\n"), network_id)
    assert r.fatal == "the network changed during import; run again (nothing was imported)"
    assert "475111111" not in r.fatal and "Secret" not in r.fatal and r.exit_code() == 2
    assert _count(db) == 0
