"""member_term, the word-start index of member names (migration 0009): kept current by triggers on
every write to member, filled for the members already stored, and removed again by a downgrade; on
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from bin_console.data.keys import fold
from bin_console.data.members import page_members
from bin_console.data.models import Member, MemberTerm, Network, PoliceZone, utcnow
from bin_console.data.schema import alembic_config, upgrade
from sqlalchemy import delete, insert, inspect, select, text, update

from bin_console.directory.importer import import_members
from bin_console.directory.service import add_member, deactivate_member, update_member
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester")
TRIGGERS = {"member_term_insert", "member_term_delete", "member_term_update"}


@pytest.fixture
def nets(db) -> tuple[int, int]:
    with db.write() as s:
        z = PoliceZone(code="5415", name="Z")
        s.add(z)
        s.flush()
        a = Network(zone_id=z.id, name="BIN Kerkwijk", name_key="bin kerkwijk")
        b = Network(zone_id=z.id, name="BIN Molenwijk", name_key="bin molenwijk")
        s.add_all([a, b])
        s.flush()
        assert a.id is not None and b.id is not None
        return a.id, b.id


def _expected(db) -> set[tuple]:
    """What the index must hold, computed from the member rows: one row per later word of the name."""
    out = set()
    with db.read() as s:
        for nid, mid, key, status, street_key in s.execute(
            select(Member.network_id, Member.id, Member.name_key, Member.status, Member.street_key)
        ):
            words = key.split(" ")
            for i in range(1, len(words)):
                out.add((nid, " ".join(words[i:]), mid, key, status, street_key))
    return out


def _stored(db) -> set[tuple]:
    with db.read() as s:
        return set(
            s.execute(
                select(
                    MemberTerm.network_id,
                    MemberTerm.term,
                    MemberTerm.member_id,
                    MemberTerm.name_key,
                    MemberTerm.status,
                    MemberTerm.street_key,
                )
            ).all()
        )


def _triggers(db) -> set[str]:
    with db.engine.connect() as c:
        if db.dialect == "sqlite":
            rows = c.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'member'"))
        else:
            rows = c.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = 'member'::regclass")
            )
        return {r[0] for r in rows}


def _member_row(nid: int, name: str, mobile: str, street: str = "Kerkstraat") -> dict:
    now = utcnow()
    return {
        "network_id": nid,
        "name": name,
        "name_key": fold(name),
        "mobile": mobile,
        "street": street,
        "street_key": fold(street),
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }


def test_the_triggers_exist_at_head(db):
    """A later migration that recreates member (SQLite batch mode) drops its triggers: this says so."""
    assert TRIGGERS <= _triggers(db)


def test_kept_current_by_the_console_writes(db, nets):
    a, _ = nets
    mid = add_member(db, a, {"name": "Jan Van den Bossche", "mobile": "0475 12 34 56", "street": "Kerkstraat"}, ACTOR)
    assert {t[1] for t in _stored(db)} == {"van den bossche", "den bossche", "bossche"}
    assert _stored(db) == _expected(db)
    update_member(db, mid, {"name": "Jan De Smet", "street": "Molenstraat"}, ACTOR)
    assert {(t[1], t[5]) for t in _stored(db)} == {("de smet", "molenstraat"), ("smet", "molenstraat")}
    assert _stored(db) == _expected(db)
    deactivate_member(db, mid, ACTOR)
    assert {t[4] for t in _stored(db)} == {"left"} and _stored(db) == _expected(db)
    with db.read() as s:  # and the filter sees it: a later word, with the status
        assert [r.id for r in page_members(s, a, text="smet", status="left").rows] == [mid]
        assert page_members(s, a, text="bossche").total == 0


def test_kept_current_by_bulk_sql_moves_and_deletes(db, nets):
    a, b = nets
    with db.write() as s:
        ids = (
            s.execute(
                insert(Member.__table__).returning(Member.id),
                [
                    _member_row(a, "Marie Van Vandamme", "+32475000001"),
                    _member_row(a, "Piet Peeters", "+32475000002"),
                    _member_row(a, "Ömer", "+32475000003"),  # one word: no later word, no row
                    _member_row(b, "An Anné", "+32475000004"),
                ],
            )
            .scalars()
            .all()
        )
    assert len(_stored(db)) == 2 + 1 + 0 + 1 and _stored(db) == _expected(db)
    with db.write() as s:
        s.execute(update(Member).where(Member.id == ids[1]).values(network_id=b))  # moved to another network
        s.execute(update(Member).where(Member.id == ids[0]).values(status="pending", street_key="markt"))
        s.execute(update(Member).where(Member.id == ids[2]).values(mobile="+32475000009"))  # nothing indexed
    assert _stored(db) == _expected(db)
    assert {t[0] for t in _stored(db) if t[2] == ids[1]} == {b}
    with db.write() as s:
        s.execute(delete(Member).where(Member.id == ids[0]))
    assert _stored(db) == _expected(db)
    with db.write() as s:  # a network's deletion cascades to its members, and their terms go too
        s.execute(delete(Network).where(Network.id == b))
    assert _stored(db) == _expected(db) == set()


def test_kept_current_by_imports_and_reimports(db, nets, tmp_path):
    a, _ = nets
    head = "Voornaam;Achternaam;GSM;Straat;Nr;Postcode;Gemeente\n"
    rows = "".join(f"V{i};Van den A{i};04751{i:05d};Kerkstraat;{i};9100;Sint-Niklaas\n" for i in range(40))
    first = tmp_path / "a.csv"
    first.write_text(head + rows, encoding="utf-8")
    assert import_members(db, first, a).imported == 40
    assert len(_stored(db)) == 40 * 3 and _stored(db) == _expected(db)
    # a re-import that changes a street updates the copied street_key
    second = tmp_path / "b.csv"
    second.write_text(head + "V1;Van den A1;0475100001;Markt;1;9100;Sint-Niklaas\n", encoding="utf-8")
    assert import_members(db, second, a).updated == 1
    assert _stored(db) == _expected(db)
    assert {t[5] for t in _stored(db) if t[3] == "v1 van den a1"} == {"markt"}
    with db.read() as s:
        assert page_members(s, a, text="den a1").total == 11  # a1, a10..a19


def _migrate(db, revision: str, *, down: bool) -> None:
    cfg = alembic_config(db)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
        conn.commit()


def test_migration_down_and_up_refills_the_index(db, nets):
    a, b = nets
    with db.write() as s:
        s.execute(
            insert(Member.__table__),
            [_member_row(a, "Jan Van den Bossche", "+32475000001"), _member_row(b, "Lies De Smet", "+32475000002")],
        )
    _migrate(db, "0008", down=True)
    assert "member_term" not in inspect(db.engine).get_table_names()
    assert not TRIGGERS & _triggers(db)
    name_index = next(i for i in inspect(db.engine).get_indexes("member") if i["name"] == "ix_member_network_name")
    assert name_index["column_names"] == ["network_id", "name_key", "id", "status"]
    with db.write() as s:  # written while 0008 is in place: no trigger, no index
        s.execute(insert(Member.__table__), [_member_row(a, "Piet Van Damme", "+32475000003")])
        assert s.scalar(select(Member.id).where(Member.name == "Jan Van den Bossche")) is not None
    upgrade(db, backup=False)
    assert TRIGGERS <= _triggers(db)
    assert len(_expected(db)) == 3 + 2 + 2 and _stored(db) == _expected(db)  # every stored member, filled in
    name_index = next(i for i in inspect(db.engine).get_indexes("member") if i["name"] == "ix_member_network_name")
    assert name_index["column_names"] == ["network_id", "name_key", "id", "status", "street_key"]
