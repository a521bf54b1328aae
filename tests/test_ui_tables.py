"""Tables show what tells rows apart, at 80 and at 120 columns: columns follow the terminal's width,
a matched street keeps its postcode, a cut value ends in "…", invisible characters never shift a
column, and history shows the part of each alert text that differs.

Read from what the terminal shows (the compositor's lines), on a real seeded SQLite database.
"""

from __future__ import annotations

import pytest
from alert_ui_helpers import fix_alert_times, wait_for
from bin_console.data.engine import Database
from bin_console.data.keys import fold
from bin_console.data.models import Member, Network, NetworkStreet, PoliceZone
from bin_console.data.schema import upgrade
from bin_console.data.search_index import rebuild_terms
from bin_console.screens.history import HistoryScreen
from bin_console.screens.members import MembersScreen
from bin_console.screens.networks import NetworksScreen
from bin_console.screens.target import NetworkRef
from bin_console.widgets.fit_table import Col, cut, fit_widths, shared_prefix
from bin_console.widgets.result_list import ResultList
from rich.text import Text
from ui_helpers import make_app, screen_text, settle

from bin_console import alerts
from bin_console.actor import Actor

LONG_STREET = "Sint-Amands-Dendermondsesteenweg"
ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101", login_uid=1001)


@pytest.fixture
def db(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'tables.db'}")
    upgrade(db, backup=False)
    with db.write() as s:
        zone = PoliceZone(code="5415", name="Dendermonde")
        s.add(zone)
        s.flush()
        ids = []
        for name, kind, muni, street, pc in [
            ("Sint-Amands Dorp", "ZBIN", "Sint-Amands", LONG_STREET, "2890"),
            ("Buggenhout Centrum", "BIN", "Buggenhout", LONG_STREET, "9255"),
        ]:
            n = Network(zone_id=zone.id, name=name, name_key=fold(name), kind=kind, municipality=muni)
            s.add(n)
            s.flush()
            ids.append(n.id)
            s.add(
                NetworkStreet(network_id=n.id, street=street, street_key=fold(street), postcode=pc, municipality=muni)
            )
        for i, name in enumerate(["Jan\u200b\u200bssens", "Anna Claes", "Els\u00ad\u2060 Peeters"]):
            s.add(
                Member(
                    network_id=ids[0],
                    name=name,
                    name_key=fold(name),
                    mobile=f"+3247000{i:04d}",
                    street="Kerkstraat",
                    street_key="kerkstraat",
                    house_number=str(i + 1),
                    postcode="2890",
                    municipality="Sint-Amands",
                )
            )
        s.flush()
        rebuild_terms(s, ids)
    db.ids = ids
    yield db
    db.dispose()


def result_lines(app) -> list[str]:
    return [line for line in screen_text(app).splitlines() if "Sint-Amands Dorp" in line or "Buggenhout" in line]


async def search(pilot, text: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, NetworksScreen), what="networks")
    await pilot.press(*text)
    await wait_for(pilot, lambda: app.screen.query_one(ResultList).row_count == 2, what="two matches")
    await settle(app, pilot)


async def test_a_cut_street_keeps_its_postcode_and_shows_the_cut_at_80_columns(db):
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await search(pilot, "dendermondsesteenweg")
        lines = result_lines(app)
        assert len(lines) == 2
        dorp = next(line for line in lines if "Sint-Amands Dorp" in line)
        assert "Z-BIN" in dorp  # not "Z-BI"
        assert "…, 2890" in dorp  # the street gave way, its postcode did not
        assert "9255" in next(line for line in lines if "Buggenhout" in line)


async def test_at_120_columns_the_whole_match_shows(db):
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await search(pilot, "dendermondsesteenweg")
        dorp = next(line for line in result_lines(app) if "Sint-Amands Dorp" in line)
        assert f"{LONG_STREET}, 2890 Sint-Amands" in dorp and "…" not in dorp


async def test_columns_follow_the_terminal_width(db):
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await search(pilot, "dendermondsesteenweg")
        table = app.screen.query_one(ResultList)
        narrow = list(table.widths)
        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: table.widths != narrow, what="new widths")
        assert sum(table.widths) - sum(narrow) >= 35  # the room went to the columns
        assert table.widths[1] == narrow[1] == len("Z-BIN")  # fixed columns stay put


async def test_invisible_characters_never_shift_a_column(db):
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NetworksScreen), what="networks")
        app.open_members(NetworkRef(db.ids[0]))
        await wait_for(pilot, lambda: isinstance(app.screen, MembersScreen), what="members")
        await settle(app, pilot)
        rows = [line for line in screen_text(app).splitlines() if "+32 470" in line]
        assert len(rows) == 3
        assert any("Janssens" in line for line in rows) and any("Els Peeters" in line for line in rows)
        assert len({line.index("+32 470") for line in rows}) == 1  # the Mobile column starts at one place


async def test_history_shows_what_differs_between_alerts(db):
    texts = ["POLITIE BIN Sint-Amands: inbraak Kerkstraat", "POLITIE BIN Sint-Amands: verdachte wagen Dorp"]
    for text in texts:
        alerts.create_alert(db, network_ids=[db.ids[0]], text=text, actor=ACTOR)
    fix_alert_times(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NetworksScreen), what="networks")
        await pilot.press("f8")
        hist = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen, what="history")
        await wait_for(pilot, lambda: len(hist.rows) == 2, what="alerts")
        await settle(app, pilot)
        shown = screen_text(app)
        assert "…inbraak" in shown and "…verdachte" in shown
        assert "Delivered" in shown and "D/F/E" not in shown


def test_widths_share_the_spare_room_and_never_go_below_the_minimum():
    cols = [Col("A", 10, grow=1), Col("B", 5), Col("C", 10, grow=3)]
    assert fit_widths(cols, 45, padding=1) == [13, 5, 21]  # 14 spare: 3 + 10, the odd one to C
    assert fit_widths(cols, 20, padding=1) == [10, 5, 10]  # too narrow: minimums, DataTable crops


@pytest.mark.parametrize("width", [12, 16, 24, 30])
def test_a_cut_always_fits_and_shows_its_mark(width):
    label = Text(f"{LONG_STREET}, 9100 Sint-Niklaas")
    shown = cut(label, width, keep_postcode=True).plain
    assert len(shown) <= width and "…" in shown
    if width >= 16:
        assert "9100" in shown


def test_shared_prefix_is_whole_words_and_needs_two_texts():
    assert shared_prefix(["POLITIE BIN A: x", "POLITIE BIN B: y"]) == "POLITIE BIN "
    assert shared_prefix(["POLITIE BIN A: x"]) == ""
    assert shared_prefix(["Inbraak", "Brand"]) == ""
