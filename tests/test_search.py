"""Network search as a dispatcher types it, on SQLite and PostgreSQL, answered from the search_term index."""

from __future__ import annotations

import pytest
from bin_console.data.models import Member, PoliceZone
from bin_console.data.networks import search_networks
from sqlalchemy import event

from bin_console.directory.service import add_network, update_network
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester")


def _zone(db, code: str) -> int:
    with db.write() as s:
        z = PoliceZone(code=code, name=f"Zone {code}")
        s.add(z)
        s.flush()
        return z.id


def _members(db, network_id: int, n: int, status: str = "active") -> None:
    with db.write() as s:
        for i in range(n):
            s.add(
                Member(
                    network_id=network_id,
                    name=f"M{network_id}-{status}-{i}",
                    name_key=f"m{network_id} {status} {i}",
                    email=f"m{network_id}.{status}.{i}@example.be",
                    status=status,
                )
            )


@pytest.fixture
def directory(db):
    z1 = _zone(db, "5415")
    z2 = _zone(db, "5904")
    ids = {}
    ids["kerk"] = add_network(
        db,
        {
            "name": "BIN Kerkwijk",
            "municipality": "Sint-Niklaas",
            "zone_id": z1,
            "streets": [
                {"street": "Kerkstraat", "postcode": "9100", "municipality": "Sint-Niklaas"},
                {"street": "Molenstraat", "postcode": "9100", "municipality": "Sint-Niklaas"},
            ],
        },
        ACTOR,
    )
    ids["centrum"] = add_network(
        db,
        {
            "name": "BIN Centrum",
            "municipality": "Sint-Niklaas",
            "zone_id": z1,
            "streets": [
                {"street": "Kerkstraat", "postcode": "9100", "municipality": "Sint-Niklaas"},
                {"street": "Stationsstraat", "postcode": "9100", "municipality": "Sint-Niklaas"},
            ],
        },
        ACTOR,
    )
    ids["liege"] = add_network(
        db,
        {
            "name": "PLP Outremeuse",
            "kind": "PLP",
            "municipality": "Liège",
            "zone_id": z2,
            "streets": [{"street": "Rue Puits-en-Sock", "postcode": "4020", "municipality": "Liège"}],
        },
        ACTOR,
    )
    ids["temse"] = add_network(
        db,
        {
            "name": "BIN Temse Kerk",
            "municipality": "Temse",
            "zone_id": z1,
            "streets": [{"street": "Kerkplein", "postcode": "9140", "municipality": "Temse"}],
        },
        ACTOR,
    )
    ids["stat"] = add_network(
        db,
        {"name": "Stationsbuurt", "municipality": "Gent", "zone_id": z2, "streets": []},
        ACTOR,
    )
    _members(db, ids["centrum"], 5)
    _members(db, ids["kerk"], 2)
    _members(db, ids["kerk"], 7, status="left")  # not counted: counts are active members
    return {"zones": (z1, z2), **ids}


def _search(db, q, **kw):
    with db.read() as s:
        return search_networks(s, q, **kw)


def test_street_prefix_finds_both_networks_with_active_counts(db, directory):
    hits = _search(db, "kerkstr")
    by_id = {h.network_id: h for h in hits}
    assert set(by_id) == {directory["kerk"], directory["centrum"]}
    assert by_id[directory["centrum"]].member_count == 5
    assert by_id[directory["kerk"]].member_count == 2
    assert by_id[directory["kerk"]].field == "street"
    assert "Kerkstraat" in by_id[directory["kerk"]].matched
    # equal match: more active members first
    assert hits[0].network_id == directory["centrum"]


def test_accents_and_case(db, directory):
    assert [h.network_id for h in _search(db, "liege")] == [directory["liege"]]
    assert [h.network_id for h in _search(db, "LIÈGE")] == [directory["liege"]]
    assert _search(db, "liege")[0].kind == "BIN"  # PLP is the French name of a BIN


def test_saint_abbreviation(db, directory):
    for q in ("st-niklaas", "sint-niklaas", "Sint Niklaas", "st niklaas", "niklaas"):
        found = {h.network_id for h in _search(db, q)}
        assert found == {directory["kerk"], directory["centrum"]}, q


def test_saint_word_does_not_match_st_prefix_words(db, directory):
    # "sint" is also looked up as "st", but only as a whole word: not "Stationsstraat"
    found = {h.network_id for h in _search(db, "sint")}
    assert directory["stat"] not in found
    assert {directory["kerk"], directory["centrum"]} <= found


def test_postcode_prefix(db, directory):
    assert {h.network_id for h in _search(db, "91")} == {directory["kerk"], directory["centrum"], directory["temse"]}
    hits = _search(db, "9140")
    assert [h.network_id for h in hits] == [directory["temse"]]
    assert hits[0].field == "postcode"


def test_multiword_narrows(db, directory):
    assert {h.network_id for h in _search(db, "kerk 9100")} == {directory["kerk"], directory["centrum"]}
    assert {h.network_id for h in _search(db, "molen 9100")} == {directory["kerk"]}
    assert _search(db, "kerk 4020") == []


def test_ranking_exact_over_prefix_and_name_over_street(db, directory):
    # "kerk": name word-prefix (Kerkwijk / Temse Kerk) vs street prefix (Kerkstraat, Kerkplein)
    hits = _search(db, "bin temse kerk")
    assert hits[0].network_id == directory["temse"] and hits[0].field == "name"
    # exact street beats a prefix match of a name
    hits = _search(db, "kerkstraat")
    assert {h.network_id for h in hits} == {directory["kerk"], directory["centrum"]}
    # whole-text prefix on the name ranks above a later-word prefix
    hits = _search(db, "stations")
    assert hits[0].network_id == directory["stat"] and hits[0].field == "name"
    assert directory["centrum"] in {h.network_id for h in hits[1:]}
    # score order is non-increasing
    scores = [h.score for h in _search(db, "k")]
    assert scores == sorted(scores, reverse=True)


def test_zone_filter(db, directory):
    z1, z2 = directory["zones"]
    assert {h.network_id for h in _search(db, "s", zone_id=z2)} == {directory["stat"], directory["liege"]}
    assert all(h.zone_code == "5415" for h in _search(db, "s", zone_id=z1))


def test_limit_and_empty_query(db, directory):
    assert _search(db, "") == []
    assert _search(db, " -- ") == []
    assert len(_search(db, "s", limit=2)) == 2


def test_index_follows_renames_and_street_changes(db, directory):
    update_network(db, directory["liege"], {"name": "PLP Saint-Pholien", "streets": []}, ACTOR)
    assert _search(db, "outremeuse") == []
    assert _search(db, "puits") == []
    assert [h.network_id for h in _search(db, "st pholien")] == [directory["liege"]]


def test_search_uses_the_index_not_a_table_scan(db, directory):
    """The statements the search runs touch search_term by range, never scan network/network_street."""
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        _search(db, "kerk 9100")
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert any("from search_term" in s and "search_term.term >=" in s for s in seen)
    assert not any("network_street" in s for s in seen)
    if db.dialect == "sqlite":
        with db.engine.connect() as c:
            plan = c.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT network_id FROM search_term WHERE term >= 'kerk' AND term < 'kerk\uffff'"
            ).fetchall()
        assert any("ix_search_term_term" in str(r) for r in plan), plan
