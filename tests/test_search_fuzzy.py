"""Search that forgives typing under pressure: misspelt streets, networks and municipalities find the
intended one (fuzzy hits, ranked below every prefix hit), Z-BIN ranking, suggestions for `send`, the
in-memory candidates following index changes (also made by another process), and migration 0005."""

from __future__ import annotations

import threading

import pytest
from bin_console.data.engine import Database
from bin_console.data.models import PoliceZone, SearchIndexChange, SearchTerm
from bin_console.data.networks import search_networks, suggest_networks
from bin_console.data.schema import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from bin_console.cli.dispatch import main
from bin_console.directory.service import add_network, update_network
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester")


def _zone(db, code: str) -> int:
    with db.write() as s:
        z = PoliceZone(code=code, name=f"Zone {code}")
        s.add(z)
        s.flush()
        return z.id


def _net(db, zone_id: int, name: str, municipality: str, streets: list[tuple[str, str]], kind: str = "BIN") -> int:
    return add_network(
        db,
        {
            "name": name,
            "kind": kind,
            "municipality": municipality,
            "zone_id": zone_id,
            "streets": [{"street": st, "postcode": pc, "municipality": municipality} for st, pc in streets],
        },
        ACTOR,
    )


@pytest.fixture
def directory(db):
    z1, z2 = _zone(db, "5415"), _zone(db, "5277")
    ids = {
        "kerk": _net(db, z1, "BIN Kerkwijk", "Sint-Niklaas", [("Kerkstraat", "9100"), ("Molenstraat", "9100")]),
        "centrum": _net(db, z1, "BIN Centrum", "Sint-Niklaas", [("Stationsstraat", "9100"), ("Dorpstraat", "9100")]),
        "namur": _net(db, z2, "BIN Salzinnes", "Namur", [("Chaussée de Namur", "5000"), ("Rue Lelièvre", "5000")]),
        "dorps": _net(db, z1, "BIN Belsele", "Sint-Niklaas", [("Dorpsstraat", "9111")]),
        "zbin": _net(db, z1, "BIN-Z Handelskern", "Sint-Niklaas", [("Grote Markt", "9100")], kind="ZBIN"),
        "zand": _net(db, z1, "BIN Zandwijk", "Sint-Niklaas", [("Zandstraat", "9100")]),
    }
    return {"zones": (z1, z2), **ids}


def _search(db, q, **kw):
    with db.read() as s:
        return search_networks(s, q, **kw)


@pytest.mark.parametrize(
    ("typed", "meant", "suggestion"),
    [
        ("stationstraat", "centrum", "Stationsstraat, 9100 Sint-Niklaas"),
        ("kerkstrat", "kerk", "Kerkstraat, 9100 Sint-Niklaas"),
        ("Chausee de Namur", "namur", "Chaussée de Namur, 5000 Namur"),
        ("kerkwjik", "kerk", "BIN Kerkwijk"),  # a network name, two letters swapped
        ("Sint-Niklas", "kerk", "Sint-Niklaas"),  # a municipality
    ],
)
def test_a_misspelling_finds_the_intended_network(db, directory, typed, meant, suggestion):
    hits = _search(db, typed)
    assert hits, typed
    assert all(h.fuzzy for h in hits)
    assert directory[meant] in {h.network_id for h in hits}
    top = next(h for h in hits if h.network_id == directory[meant])
    assert top.suggestion == suggestion


def test_a_fuzzy_street_hit_carries_its_postcode(db, directory):
    hit = next(h for h in _search(db, "stationstraat") if h.network_id == directory["centrum"])
    assert (hit.field, hit.postcode) == ("street", "9100")
    assert _search(db, "stationsstraat")[0].postcode == "9100"  # prefix hits too


def test_nothing_close_is_still_nothing(db, directory):
    assert _search(db, "xylofoon") == []
    assert _search(db, "kzrk") == []  # short typing is a prefix in progress, not a misspelling


def test_exact_prefix_hits_rank_above_fuzzy_ones(db, directory):
    # "Dorpstraat" (Centrum) is typed exactly; "Dorpsstraat" (Belsele) is one letter away
    hits = _search(db, "dorpstraat")
    assert [h.network_id for h in hits] == [directory["centrum"], directory["dorps"]]
    assert [h.fuzzy for h in hits] == [False, True]
    assert hits[0].score > hits[1].score


def test_z_bin_ranks_z_bin_networks_first(db, directory):
    for typed in ("z-bin", "Z-BIN", "zbin", "bin-z"):
        hits = _search(db, typed)
        assert hits[0].network_id == directory["zbin"], typed
        assert hits[0].field == "kind" and hits[0].matched == "Z-BIN"
    # narrowing still works with the kind word: "z-bin grote markt" is the Z-BIN of that street
    assert _search(db, "z-bin grote")[0].network_id == directory["zbin"]


def test_kind_change_updates_the_index(db, directory):
    update_network(db, directory["zand"], {"kind": "ZBIN"}, ACTOR)
    assert {h.network_id for h in _search(db, "zbin")} == {directory["zbin"], directory["zand"]}


def test_zone_filter_applies_to_fuzzy_hits(db, directory):
    z1, z2 = directory["zones"]
    assert [h.network_id for h in _search(db, "Chausee de Namur", zone_id=z2)] == [directory["namur"]]
    assert _search(db, "Chausee de Namur", zone_id=z1) == []


def test_suggest_networks(db, directory):
    with db.read() as s:
        assert suggest_networks(s, "Kerkwijk")[0] == "BIN Kerkwijk"
        assert suggest_networks(s, "kerkwjik") == ["BIN Kerkwijk"]
        assert suggest_networks(s, "xylofoon") == []


def test_send_with_an_unknown_network_suggests_the_intended_one(sqlite_db, capsys):
    _net(sqlite_db, _zone(sqlite_db, "5415"), "BIN Kerkwijk", "Sint-Niklaas", [("Kerkstraat", "9100")])
    url = str(sqlite_db.engine.url)
    assert main(["--db", url, "send", "--network", "Kerkwijk", "--text", "x", "--yes"]) == 2
    assert 'no network Kerkwijk; did you mean "BIN Kerkwijk"?' in capsys.readouterr().err
    assert main(["--db", url, "send", "--network", "Nergens", "--text", "x", "--yes"]) == 2
    assert "no network named 'Nergens'" in capsys.readouterr().err


def test_fuzzy_candidates_follow_index_changes(db, directory):
    assert _search(db, "kapelstrat") == []  # loads the in-memory candidates
    update_network(
        db,
        directory["kerk"],
        {"streets": [{"street": "Kapelstraat", "postcode": "9100", "municipality": "Sint-Niklaas"}]},
        ACTOR,
    )
    assert [h.network_id for h in _search(db, "kapelstrat")] == [directory["kerk"]]
    # the removed streets are gone from the candidates too
    assert directory["kerk"] not in {h.network_id for h in _search(db, "molenstrat")}
    z1, _ = directory["zones"]
    new = _net(db, z1, "BIN Hoogkamer", "Sint-Niklaas", [("Hazelaarstraat", "9100")])
    assert [h.network_id for h in _search(db, "hazelarstraat")] == [new]


def test_changes_made_by_another_process_are_seen(db, directory, any_db_url):
    other = Database.from_url(any_db_url)  # its own engine and pool: its own candidates, as another console
    try:
        with other.read() as s:
            assert search_networks(s, "kapelstrat") == []
        z1, _ = directory["zones"]
        new = _net(db, z1, "BIN Kapelwijk", "Sint-Niklaas", [("Kapelstraat", "9100")])
        with other.read() as s:
            assert [h.network_id for h in search_networks(s, "kapelstrat")] == [new]
    finally:
        other.dispose()


def test_concurrent_first_searches_agree(db, directory):
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append([h.network_id for h in _search(db, "stationstraat")])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 6
    assert all(r == [directory["centrum"]] for r in results)


# --- migration 0005 -------------------------------------------------------------------------------


def test_migration_0005_rebuilds_terms_with_postcodes_and_kind(any_db_url):
    db = Database.from_url(any_db_url)
    try:
        upgrade(db, "0004", backup=False)
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO police_zone (code, name) VALUES ('5415', 'PZ Waasland')"))
            c.execute(
                text(
                    "INSERT INTO network (zone_id, name, name_key, kind, municipality, status, coordinator_name, "
                    "created_at, updated_at) SELECT id, 'BIN-Z Markt', 'bin z markt', 'ZBIN', 'Temse', 'active', '', "
                    ":now, :now FROM police_zone"
                ),
                {"now": "2025-01-01 00:00:00"},
            )
            nid = c.execute(text("SELECT id FROM network")).scalar_one()
            c.execute(
                text(
                    "INSERT INTO network_street (network_id, street, street_key, postcode, municipality) "
                    "VALUES (:n, 'Kerkplein', 'kerkplein', '9140', 'Temse')"
                ),
                {"n": nid},
            )
            # an index row as 0004 wrote it: no postcode column, no kind terms
            c.execute(
                text(
                    "INSERT INTO search_term (term, network_id, field, weight, is_start, label) "
                    "VALUES ('kerkplein', :n, 'street', 30, :t, 'Kerkplein, 9140 Temse')"
                ),
                {"n": nid, "t": True},
            )
        upgrade(db, backup=False)
        with db.read() as s:
            street = s.execute(
                select(SearchTerm.postcode).where(SearchTerm.term == "kerkplein", SearchTerm.field == "street")
            ).scalar_one()
            assert street == "9140"
            assert s.scalar(select(func.count()).where(SearchTerm.field == "kind")) > 0
            assert s.scalar(select(func.count()).select_from(SearchIndexChange)) == 1
            assert search_networks(s, "z-bin")[0].network_id == nid
            assert search_networks(s, "kerkpleun")[0].fuzzy
        with db.engine.connect() as c:
            cols = {ix["name"]: ix["column_names"] for ix in inspect(c).get_indexes("member")}
        assert cols["ix_member_network_street"] == ["network_id", "street_key", "name_key", "id", "status"]
        # and back: 0004's shape again, the data kept
        downgrade(db, "0004")
        with db.engine.connect() as c:
            insp = inspect(c)
            assert "postcode" not in {col["name"] for col in insp.get_columns("search_term")}
            assert "search_index_change" not in insp.get_table_names()
            assert c.execute(text("SELECT count(*) FROM network_street")).scalar_one() == 1
    finally:
        db.dispose()


def test_a_repeated_fuzzy_search_does_not_read_the_index_again(db, directory):
    """The candidates are read once; after that a fuzzy search asks only whether the index changed."""
    from sqlalchemy import event

    _search(db, "stationstraat")
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.lower().split()))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert _search(db, "kerkstrat")[0].fuzzy
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    reads_all_terms = [s for s in seen if "from search_term join network" in s]
    assert reads_all_terms == [] and any("from search_index_change" in s for s in seen), seen


async def test_the_networks_screen_says_did_you_mean(sqlite_db):
    from ui_helpers import make_app, screen_text, settle
    from ui_seed import seed

    ids = seed(sqlite_db)
    app = make_app(sqlite_db)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"kerkstrat")
        await settle(app, pilot)
        text = screen_text(app)
        assert 'did you mean "Kerkstraat' in text and "Kerkwijk" in text
        await pilot.press("enter")
        await settle(app, pilot)
        assert [ref.id for ref in app.screen.target()] == [ids["Kerkwijk"]]  # the network screen opened
