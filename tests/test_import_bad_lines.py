"""One bad line rejects one row: stray or unclosed quotes, over-long cells and Excel error cells are
rejected rows with their line number and a hint, and the good rows import. Fatal stays fatal."""

from __future__ import annotations

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


def _names(db, network_id):
    with db.read() as s:
        return sorted(s.scalars(select(Member.name).where(Member.network_id == network_id)))


def _csv(tmp_path, text: str):
    p = tmp_path / "leden.csv"
    p.write_bytes(text.encode("utf-8"))
    return p


def test_stray_quote_in_an_unquoted_cell_rejects_only_its_row(db, network_id, tmp_path):
    text = 'Naam;GSM;Straat\r\nJan;0475111111;Kerkstraat\r\nPiet;=HYPERLINK("http://x";"y")\r\nAn;0475333333;Markt\r\n'
    r = import_members(db, _csv(tmp_path, text), network_id)
    assert (r.fatal, r.imported, [e.line for e in r.rejected]) == (None, 2, [3])
    assert "quote" in r.rejected[0].reason and "double" in r.rejected[0].reason
    assert _names(db, network_id) == ["An", "Jan"] and r.exit_code() == 1


def test_cell_over_the_size_limit_rejects_only_its_row(db, network_id, tmp_path):
    text = f"Naam;GSM\nJan;0475111111\n{'x' * 2000};0475222222\nAn;0475333333\n"
    r = import_members(db, _csv(tmp_path, text), network_id)
    assert (r.fatal, r.imported, [e.line for e in r.rejected]) == (None, 2, [3])
    assert f"longer than {tabular.FIELD_LIMIT} characters" in r.rejected[0].reason


def test_unclosed_quote_names_the_line_where_it_opened(db, network_id, tmp_path):
    rows = "".join(f"Lid {i};04751111{i:02d}\n" for i in range(3, 40))
    text = f'Naam;GSM\nJan;0475000001\n"Piet;0475000002\n{rows}'
    r = import_members(db, _csv(tmp_path, text), network_id)
    assert [e.line for e in r.rejected] == [3], r.rejected
    assert "opened on this line is not closed" in r.rejected[0].reason
    # the rows the open quote swallowed are read again from the next line on
    assert r.imported == 38 and "Lid 39" in _names(db, network_id)


def test_unclosed_quote_on_the_last_line(db, network_id, tmp_path):
    r = import_members(db, _csv(tmp_path, 'Naam;GSM\nJan;0475000001\n"Piet;0475000002\n'), network_id)
    assert (r.imported, [(e.line, e.column) for e in r.rejected]) == (1, [(3, "-")])
    assert "not closed" in r.rejected[0].reason


def test_line_numbers_stay_exact_after_multi_line_cells(db, network_id, tmp_path):
    text = (
        "Naam;GSM;Straat\r\n"
        'Jan;0475000001;"Kerkstraat\r\n(achteringang)"\r\n'  # lines 2-3: Alt+Enter inside a quoted cell
        'Piet;bad;"Markt\r\n12"\r\n'  # lines 4-5
        'An;0475000003;"Mol"enstraat\r\n'  # line 6: a quote that ends the cell too early
        "Bo;0475000004;Dorp\r\n"  # line 7
        "Cas;123;Dorp\r\n"  # line 8
    )
    r = import_members(db, _csv(tmp_path, text), network_id)
    assert [e.line for e in r.rejected] == [4, 6, 8], r.rejected
    assert r.imported == 2 and _names(db, network_id) == ["Bo", "Jan"]


def test_header_that_cannot_be_read_is_fatal(db, network_id, tmp_path):
    r = import_members(db, _csv(tmp_path, 'Naam;"GSM\nJan;0475000001\n'), network_id)
    assert r.fatal and "line 1 (the header)" in r.fatal and _names(db, network_id) == []


def test_xlsx_bad_cells_reject_their_rows_and_the_rest_imports(db, network_id, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Naam", "GSM", "Straat"])
    ws.append(["Jan", "0475000001", "Kerkstraat"])
    ws.append(["Piet", "0475000002", "x" * 2000])
    ws.append(["An", "0475000003", "Markt"])
    ws.append(["Bo", "0475000004", "Dorp"])
    ws["B5"].value = "#REF!"
    ws["B5"].data_type = "e"  # a formula error as Excel saves it
    p = tmp_path / "leden.xlsx"
    wb.save(p)
    r = import_members(db, p, network_id)
    assert r.fatal is None and [(e.line, e.column) for e in r.rejected] == [(3, "Straat"), (5, "GSM")]
    assert "longer than" in r.rejected[0].reason and "Excel error #REF!" in r.rejected[1].reason
    assert r.imported == 2 and _names(db, network_id) == ["An", "Jan"]
