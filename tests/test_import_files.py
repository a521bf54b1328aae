"""Reading coordinators' files: mixed encodings, XLSX dimension/formula/damage cases, shifted rows, export guards."""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest
from bin_console.data.models import Member, Network, PoliceZone
from sqlalchemy import select

from bin_console.directory import tabular
from bin_console.directory.importer import import_members


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


def _members(db, network_id):
    with db.read() as s:
        return {m.name: m for m in s.scalars(select(Member).where(Member.network_id == network_id))}


def _rewrite_sheet(path, fn):
    """Rewrite xl/worksheets/sheet1.xml of an XLSX through fn(xml_text)."""
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename == "xl/worksheets/sheet1.xml":
                data = fn(data.decode()).encode()
            z.writestr(info, data)


def test_mixed_utf8_and_cp1252_is_refused_naming_the_line(db, network_id, tmp_path):
    data = "Naam;GSM\nRenée;0475111111\n".encode() + "Hélène;0475222222\n".encode("cp1252")
    p = tmp_path / "mixed.csv"
    p.write_bytes(data)
    r = import_members(db, p, network_id)
    assert r.fatal and "mixed encodings" in r.fatal and "line 3" in r.fatal
    assert _members(db, network_id) == {}


def test_cp1252_holes_are_read_byte_by_byte(tmp_path):
    # 0x81 is undefined in cp1252: the rest of the file keeps its cp1252 reading (€, ’)
    text, enc = tabular.decode(b"Naam;Straat\nAn\x81;Rue \x80 l\x92\xc9glise\n")
    assert enc == "cp1252" and text.splitlines()[1] == "An\x81;Rue € l’Église"


def test_xlsx_with_a_wrong_dimension_reads_every_row(db, network_id, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Naam", "GSM"])
    for i in range(5):
        ws.append([f"Lid {i}", f"047511111{i}"])
    p = tmp_path / "dim.xlsx"
    wb.save(p)
    _rewrite_sheet(p, lambda x: re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:B2"/>', x))
    r = import_members(db, p, network_id)
    assert (r.imported, r.rejected) == (5, []), r
    assert len(_members(db, network_id)) == 5


def test_xlsx_formula_without_saved_value_rejects_its_row(db, network_id, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Naam", "GSM", "E-mail"])
    ws.append(["Jan", "0475111111", None])
    ws.append(["Piet", "0475222222", '=LOWER("PIET@EXAMPLE.BE")'])  # openpyxl saves no result
    p = tmp_path / "f.xlsx"
    wb.save(p)
    r = import_members(db, p, network_id)
    assert r.imported == 1 and [(e.line, e.column) for e in r.rejected] == [(3, "E-mail")]
    assert "formula without a saved result" in r.rejected[0].reason
    assert set(_members(db, network_id)) == {"Jan"}


def test_xlsx_formula_with_saved_value_is_read(db, network_id, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Naam", "GSM"])
    ws.append(["Jan", "=A1"])
    p = tmp_path / "g.xlsx"
    wb.save(p)
    # what Excel writes after a recalculation: the formula and its cached result
    _rewrite_sheet(
        p,
        lambda x: x.replace('<c r="B2"><f>A1</f><v /></c>', '<c r="B2" t="str"><f>A1</f><v>0475111111</v></c>'),
    )
    r = import_members(db, p, network_id)
    assert (r.imported, r.rejected) == (1, []), r.rejected
    # a text formula whose saved result is empty (t="str", empty <v>) is a blank cell, not an error
    ws["C1"], ws["C2"] = "E-mail", '=""'
    ws["B2"] = "0475111111"
    wb.save(p)
    _rewrite_sheet(p, lambda x: x.replace('<c r="C2"><f>""</f><v /></c>', '<c r="C2" t="str"><f>""</f><v></v></c>'))
    r = import_members(db, p, network_id)
    assert (r.unchanged, r.rejected) == (1, []), r.rejected


def test_damaged_xlsx_sheet_is_fatal_with_a_line(db, network_id, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Naam", "GSM"])
    for i in range(5):
        ws.append([f"Lid {i}", f"047511111{i}"])
    p = tmp_path / "broken.xlsx"
    wb.save(p)
    _rewrite_sheet(p, lambda x: x[: x.index('<row r="4"')] + '<row r="4"><c r="A4" t="inlineStr"><is><t>Li')
    r = import_members(db, p, network_id)
    assert r.fatal and re.search(r"line \d+: the workbook is damaged", r.fatal), r.fatal
    assert _members(db, network_id) == {}


def test_csv_row_with_more_cells_than_header_is_rejected(db, network_id, tmp_path):
    p = tmp_path / "shift.csv"
    p.write_text("Naam;GSM\nJan;0475111111;\nPiet;Kerkstraat;0475222222\nAn;0475333333\n")
    r = import_members(db, p, network_id)
    assert r.imported == 2 and [e.line for e in r.rejected] == [3]
    assert "3 cells but the header has 2 columns" in r.rejected[0].reason


def test_export_guard_stripped_from_any_cell(db, network_id, tmp_path):
    from bin_console.directory.exporter import export_members
    from bin_console.directory.service import add_member
    from bin_console.trust.actor import Actor

    add_member(db, network_id, {"name": "Jan", "mobile": "0475111111", "email": "-jan@example.be"}, Actor("t"))
    add_member(db, network_id, {"name": "An", "email": "+an@example.be"}, Actor("t"))
    out = tmp_path / "export.csv"
    export_members(db, network_id, out)
    assert "'-jan@example.be" in out.read_text("utf-8-sig")
    with db.write() as s:
        for m in s.scalars(select(Member)):
            s.delete(m)
    r = import_members(db, out, network_id)
    assert (r.imported, r.rejected) == (2, []), r.rejected
    got = _members(db, network_id)
    assert (got["Jan"].email, got["An"].email) == ("-jan@example.be", "+an@example.be")
