"""Networks import never surprises a coordinator: every change to an existing network is reported,
moves need --allow-moves, unknown zones need --create-zones, the zone defaults sensibly, and a
write that fails midway leaves the directory as it was. Real SQLite and PostgreSQL (`db` fixture)."""

from __future__ import annotations

import json

import pytest
from bin_console.data.models import AuditEntry, Network, NetworkStreet, PoliceZone, SearchTerm
from sqlalchemy import insert, select

from bin_console.cli.dispatch import main
from bin_console.directory import importer_networks
from bin_console.directory.import_report import FieldChange, NetworkChange
from bin_console.directory.importer import import_networks


def _seed(db, *zones: str) -> int:
    """The demo's BIN Kerkwijk (zone of the first code, Sint-Amands-Demer, one street); returns its id."""
    with db.write() as s:
        ids = []
        for code in zones:
            z = PoliceZone(code=code, name=f"PZ {code}")
            s.add(z)
            s.flush()
            ids.append(z.id)
        n = Network(zone_id=ids[0], name="BIN Kerkwijk", name_key="bin kerkwijk", municipality="Sint-Amands-Demer")
        s.add(n)
        s.flush()
        s.add(NetworkStreet(network_id=n.id, street="Kerkstraat", street_key="kerkstraat", postcode="3271"))
        return n.id


def _write(tmp_path, text: str, name: str = "nets.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _kerkwijk(db):
    with db.read() as s:
        n = s.scalars(select(Network).where(Network.name_key == "bin kerkwijk")).one()
        streets = sorted(s.scalars(select(NetworkStreet.street).where(NetworkStreet.network_id == n.id)))
        zone = s.scalar(select(PoliceZone.code).where(PoliceZone.id == n.zone_id))
        return n.municipality, zone, streets


def _snapshot(db):
    """Every row of the tables an import writes, as plain tuples."""
    with db.read() as s:
        return {
            t.__tablename__: sorted(tuple(r) for r in s.execute(select(t.__table__)))
            for t in (PoliceZone, Network, NetworkStreet, SearchTerm, AuditEntry)
        }


# The file that moved the demo's BIN Kerkwijk: no zone column, another municipality, three new streets.
MOVED = (
    "Netwerk;Gemeente;Straat;Postcode\n"
    "BIN Kerkwijk;Sint-Niklaas;Kerkstraat;3271\n"
    "BIN Kerkwijk;;Molenstraat;9100\n"
    "BIN Kerkwijk;;Dorpsplein;9100\n"
    "BIN Kerkwijk;;Stationsstraat;9100\n"
)


def test_municipality_move_is_rejected_without_allow_moves(db, tmp_path):
    _seed(db, "5999")
    before = _snapshot(db)
    r = import_networks(db, _write(tmp_path, MOVED))
    assert (r.imported, r.updated, r.streets_added, r.networks_changed) == (0, 0, 0, [])
    assert [e.line for e in r.rejected] == [2, 3, 4, 5] and {e.column for e in r.rejected} == {"Gemeente"}
    assert "is in Sint-Amands-Demer; the file puts it in Sint-Niklaas" in r.rejected[0].reason
    assert "--allow-moves" in r.rejected[0].reason and r.exit_code() == 2
    assert r.rejected[1].reason == "not imported with its network BIN Kerkwijk (see line 2)"
    assert _snapshot(db) == before


@pytest.mark.parametrize("dry_run", [True, False])
def test_each_change_to_an_existing_network_is_reported(db, tmp_path, dry_run):
    _seed(db, "5999")
    before = _snapshot(db)
    r = import_networks(db, _write(tmp_path, MOVED), allow_moves=True, dry_run=dry_run)
    change = NetworkChange(
        name="BIN Kerkwijk",
        zone="5999",
        fields=(FieldChange("municipality", "Sint-Amands-Demer", "Sint-Niklaas"),),
        streets_added=("Molenstraat 9100", "Dorpsplein 9100", "Stationsstraat 9100"),
    )
    assert (r.fatal, r.rejected, r.networks_changed, r.networks_added) == (None, [], [change], [])
    assert str(change).startswith("BIN Kerkwijk: municipality Sint-Amands-Demer → Sint-Niklaas; +3 streets (")
    # counts count networks and streets, not rows
    assert (r.imported, r.updated, r.unchanged, r.streets_added, r.rows) == (0, 1, 0, 3, 4)
    assert r.summary() == "0 networks added, 1 changed, 0 unchanged, 3 streets added, 0 rows rejected"
    if dry_run:
        assert _snapshot(db) == before
    else:
        assert _kerkwijk(db) == ("Sint-Niklaas", "5999", ["Dorpsplein", "Kerkstraat", "Molenstraat", "Stationsstraat"])


def test_streets_the_file_leaves_out_are_kept_and_shown(db, tmp_path):
    _seed(db, "5999")
    text = "Netwerk;Straat;Postcode;Coördinator\nBIN Kerkwijk;Molenstraat;3271;An Smet\n"
    r = import_networks(db, _write(tmp_path, text))
    (change,) = r.networks_changed
    assert change.fields == (FieldChange("coordinator_name", "", "An Smet"),)
    assert (change.streets_added, change.streets_not_in_file) == (("Molenstraat 3271",), ("Kerkstraat 3271",))
    assert str(change) == (
        "BIN Kerkwijk: coordinator name (blank) → An Smet; +1 street (Molenstraat 3271);"
        " 1 street (Kerkstraat 3271) not in the file (kept)"
    )
    assert _kerkwijk(db)[2] == ["Kerkstraat", "Molenstraat"]


def test_zone_move_needs_allow_moves(db, tmp_path):
    _seed(db, "5999", "5415")
    p = _write(tmp_path, "Netwerk;Zone;Straat\nBIN Kerkwijk;5415;Kerkstraat\n")
    r = import_networks(db, p)
    assert (r.imported, r.updated, [e.column for e in r.rejected]) == (0, 0, ["Zone"])
    assert "is in police zone 5999; the file puts it in zone 5415" in r.rejected[0].reason
    assert "--allow-moves" in r.rejected[0].reason
    assert _kerkwijk(db)[1] == "5999"
    r = import_networks(db, p, allow_moves=True)
    assert (r.imported, r.updated, r.rejected) == (0, 1, [])
    assert r.networks_changed[0].fields == (FieldChange("police_zone", "5999", "5415"),)
    assert _kerkwijk(db)[1] == "5415"
    with db.read() as s:
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, json.loads(entry.detail)["changed"]) == ("network.import", ["BIN Kerkwijk"])


def test_same_name_in_two_zones_of_one_file_is_not_a_move(db, tmp_path):
    _seed(db, "5999", "5415")
    text = "Netwerk;Zone;Straat;Postcode\nBIN Kerkwijk;5999;Kerkstraat;3271\nBIN Kerkwijk;5415;Dorpstraat;9100\n"
    r = import_networks(db, _write(tmp_path, text))
    assert (r.imported, r.unchanged, r.rejected) == (1, 1, [])
    assert [(c.name, c.zone) for c in r.networks_added] == [("BIN Kerkwijk", "5415")]
    assert _kerkwijk_zones(db) == ["5415", "5999"]


def _kerkwijk_zones(db):
    with db.read() as s:
        q = select(PoliceZone.code).join(Network, Network.zone_id == PoliceZone.id)
        return sorted(s.scalars(q.where(Network.name_key == "bin kerkwijk")))


def test_unknown_zone_needs_create_zones_and_is_reported_per_zone(db, tmp_path):
    _seed(db, "5999")
    text = (
        "Netwerk;Zone;Straat\n"
        "BIN Noord;5999;Noordstraat\n"
        "BIN Oost;5415;Ooststraat\n"
        "BIN Oost;5415;Kerkhofweg\n"
        "PLP Luik;5277;Rue Haute\n"
    )
    p = _write(tmp_path, text)
    r = import_networks(db, p)
    assert [(e.line, e.column) for e in r.rejected] == [(3, "Zone"), (4, "Zone"), (5, "Zone")]
    assert "police zone 5415 is not in the directory" in r.rejected[0].reason
    assert "see line 3" in r.rejected[1].reason and "5277 is not in the directory" in r.rejected[2].reason
    assert r.notes == [
        "police zone 5277 is not in the directory: 1 row rejected (--create-zones creates it)",
        "police zone 5415 is not in the directory: 2 rows rejected (--create-zones creates it)",
    ]
    assert (r.imported, r.zones_created) == (1, [])
    with db.read() as s:
        assert sorted(s.scalars(select(PoliceZone.code))) == ["5999"]
    r = import_networks(db, p, create_zones=True)
    assert (r.imported, r.unchanged, r.zones_created, r.rejected) == (2, 1, ["5277", "5415"], [])
    assert "police zones created: 5277, 5415" in r.detail_lines()
    with db.read() as s:
        assert sorted(s.scalars(select(PoliceZone.code))) == ["5277", "5415", "5999"]


def test_without_zone_column_the_only_zone_is_used(db, tmp_path):
    _seed(db, "5999")
    r = import_networks(db, _write(tmp_path, "Netwerk;Straat\nBIN Noord;Noordstraat\n"))
    assert (r.imported, r.rejected) == (1, [])
    assert "police zone 5999 (the only police zone in the directory)" in r.notes[0]
    with db.read() as s:
        n = s.scalars(select(Network).where(Network.name_key == "bin noord")).one()
        assert s.get(PoliceZone, n.zone_id).code == "5999"


def test_without_zone_column_several_zones_need_a_zone(db, tmp_path):
    _seed(db, "5999", "5415")
    r = import_networks(db, _write(tmp_path, "Netwerk;Straat\nBIN Noord;Noordstraat\n"))
    assert r.imported == 0 and [e.column for e in r.rejected] == ["zone"]
    assert "--zone CODE" in r.rejected[0].reason and "[console] zone" in r.rejected[0].reason


def test_cli_uses_the_config_zone_and_reads_well(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    assert main(["--db", url, "import", "networks", str(_write(tmp_path, "Netwerk;Zone\nX;5415\n", "z.csv")),
                 "--create-zones"]) == 0  # fmt: skip
    assert main(["--db", url, "import", "networks", str(_write(tmp_path, "Netwerk;Zone\nY;5999\n", "y.csv")),
                 "--create-zones"]) == 0  # fmt: skip
    config = tmp_path / "config.toml"
    config.write_text('[console]\nzone = "5999"\n', encoding="utf-8")
    nets = _write(
        tmp_path,
        "Netwerk;Gemeente;Straat;Postcode\n"
        "Y;Bruggeveld;Kerkstraat;3293\n"
        "Y;;Molenstraat;3293\n"
        "BIN Noord;Heikeldonk;Noordstraat;3290\n"
        "BIN Noord;;Noordstraat;3290\n",
    )
    capsys.readouterr()
    args = ["--config", str(config), "--db", url, "import", "networks", str(nets)]
    assert main([*args, "--dry-run"]) == 1
    dry = capsys.readouterr().out
    assert main(args) == 1
    out = capsys.readouterr().out
    summary = "1 network added, 1 changed, 0 unchanged, 3 streets added, 1 row rejected"
    assert f"dry run, nothing written; it would give: {summary}" in dry and summary in out
    changed = "changed: Y: municipality (blank) → Bruggeveld; +2 streets (Kerkstraat 3293, Molenstraat 3293)"
    assert changed in dry and changed in out
    assert "added: BIN Noord: +1 street (Noordstraat 3290)" in out
    assert "line 5, column Straat: same street as line 4" in out
    assert "no zone column: the networks are in police zone 5999" in out


def test_failed_write_leaves_the_directory_as_it_was(db, tmp_path, monkeypatch):
    """A real constraint (uq_network_street) fails after zones, networks and streets were written."""
    kerkwijk = _seed(db, "5999")
    before = _snapshot(db)
    real = importer_networks._write_networks

    def then_a_duplicate_street(session, plan, zone_codes):
        touched = real(session, plan, zone_codes)
        session.execute(
            insert(NetworkStreet.__table__),
            [{"network_id": kerkwijk, "street": "Kerkstraat", "street_key": "kerkstraat", "postcode": "3271"}],
        )
        return touched

    monkeypatch.setattr(importer_networks, "_write_networks", then_a_duplicate_street)
    text = (
        "Netwerk;Zone;Gemeente;Straat\n"
        "BIN Kerkwijk;5999;;Molenstraat\n"  # a street added to an existing network
        "BIN Oost;5415;Heikeldonk;Ooststraat\n"  # a new network in a new zone
    )
    r = import_networks(db, _write(tmp_path, text), create_zones=True)
    assert r.fatal == "writing failed, nothing was imported (database unchanged): the directory changed during the" \
        " import; run it again"  # fmt: skip
    assert (r.imported, r.updated, r.streets_added, r.networks_added, r.zones_created) == (0, 0, 0, [], [])
    assert r.exit_code() == 2
    assert _snapshot(db) == before
