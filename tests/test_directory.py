"""Directory services on both backends: add / edit / deactivate members and networks; the search CLI."""

from __future__ import annotations

import pytest
from bin_console.data.models import Member, Network, PoliceZone, SearchTerm
from bin_console.data.networks import find_network, network_summary
from sqlalchemy import func, select

from bin_console.cli.dispatch import main
from bin_console.directory.service import (
    DuplicateMemberError,
    ValidationError,
    add_member,
    add_network,
    deactivate_member,
    deactivate_network,
    update_member,
    update_network,
)
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester")


@pytest.fixture
def net(db):
    with db.write() as s:
        s.add(PoliceZone(code="5415", name="Waasland-Noord"))
    return add_network(
        db,
        {
            "name": "BIN Kerkwijk",
            "zone_code": "5415",
            "municipality": "Sint-Niklaas",
            "sms_sender": "POLITIE",
            "streets": [{"street": "Kerkstraat", "postcode": "9100", "municipality": "Sint-Niklaas"}],
        },
        ACTOR,
    )


def test_add_member_stores_e164_and_keys(db, net):
    data = {"name": "Renée Peeters", "mobile": "0475/12.34.56", "street": "Kerkstraat", "role": "coordinator"}
    mid = add_member(db, net, data, ACTOR)
    with db.read() as s:
        m = s.get(Member, mid)
        assert m.mobile == "+32475123456" and m.name_key == "renee peeters" and m.street_key == "kerkstraat"
    summary = network_summary_for(db, net)
    assert [c.id for c in summary.coordinators] == [mid]
    assert summary.sms_reachable == 1 and summary.by_status["active"] == 1


def network_summary_for(db, nid):
    with db.read() as s:
        return network_summary(s, nid)


def test_landline_member_is_not_an_sms_target(db, net):
    add_member(db, net, {"name": "An Smet", "landline": "02 511 22 33"}, ACTOR)
    with pytest.raises(ValidationError) as ei:
        add_member(db, net, {"name": "Bo Smet", "mobile": "02 511 22 34"}, ACTOR)
    assert "landline" in ei.value.errors["mobile"]
    summary = network_summary_for(db, net)
    assert summary.sms_reachable == 0 and summary.no_contact == 1


def test_duplicates_refused_naming_the_clash(db, net):
    first = add_member(db, net, {"name": "Jan Peeters", "mobile": "0475123456", "email": "jan@example.be"}, ACTOR)
    with pytest.raises(DuplicateMemberError) as ei:
        add_member(db, net, {"name": "Piet", "mobile": "+32 475 12 34 56"}, ACTOR)
    assert ei.value.clash_id == first and ei.value.clash_name == "Jan Peeters" and ei.value.field == "mobile"
    assert "Jan Peeters" in str(ei.value)
    with pytest.raises(DuplicateMemberError) as ei:
        add_member(db, net, {"name": "Piet", "email": "JAN@example.be"}, ACTOR)
    assert ei.value.field == "email"
    other = add_member(db, net, {"name": "Piet", "email": "piet@example.be"}, ACTOR)
    with pytest.raises(DuplicateMemberError):
        update_member(db, other, {"mobile": "0475 12 34 56"}, ACTOR)


def test_validation_errors_and_no_contact(db, net):
    with pytest.raises(ValidationError) as ei:
        add_member(db, net, {"name": "=cmd|' /C calc'!A0", "email": "x@localhost"}, ACTOR)
    assert set(ei.value.errors) == {"name", "email"}
    with pytest.raises(ValidationError, match="mobile"):
        add_member(db, net, {"name": "Nobody"}, ACTOR)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 0


def test_update_and_deactivate_member(db, net):
    mid = add_member(db, net, {"name": "Jan", "mobile": "0475123456"}, ACTOR)
    update_member(db, mid, {"email": "jan@example.be", "sms_opt_out": True, "language": "fr"}, ACTOR)
    with db.read() as s:
        m = s.get(Member, mid)
        assert m.email == "jan@example.be" and m.sms_opt_out and m.opt_out_at is not None and m.language == "fr"
    with pytest.raises(ValidationError):
        update_member(db, mid, {"role": "boss"}, ACTOR)
    deactivate_member(db, mid, ACTOR)
    with db.read() as s:
        assert s.get(Member, mid).status == "left"


def test_network_add_update_deactivate(db, net):
    with pytest.raises(ValidationError, match="already exists"):
        add_network(db, {"name": "bin kerkwijk", "zone_code": "5415"}, ACTOR)
    with pytest.raises(ValidationError) as ei:
        add_network(db, {"name": "X", "zone_code": "5415", "sms_sender": "POLITIE-WAASLAND", "kind": "?"}, ACTOR)
    assert set(ei.value.errors) == {"sms_sender", "kind"}
    with pytest.raises(ValidationError, match="zone"):
        add_network(db, {"name": "Y", "zone_code": "9999"}, ACTOR)
    streets = [{"street": "Molenstraat", "postcode": "9100"}]
    update_network(db, net, {"name": "BIN Kerkwijk-Noord", "streets": streets}, ACTOR)
    with db.read() as s:
        assert find_network(s, "bin kerkwijk noord").id == net
        terms = set(s.scalars(select(SearchTerm.term).where(SearchTerm.network_id == net)))
        assert "molenstraat" in terms and "kerkstraat" not in terms
    deactivate_network(db, net, ACTOR)
    with db.read() as s:
        assert s.get(Network, net).status == "closed"


def test_cli_networks_search(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    from bin_console.data.engine import Database

    db = Database.from_url(url)
    with db.write() as s:
        s.add(PoliceZone(code="5415", name="Z"))
    add_network(
        db,
        {"name": "BIN Kerkwijk", "zone_code": "5415", "streets": [{"street": "Kerkstraat", "postcode": "9100"}]},
        ACTOR,
    )
    db.dispose()
    capsys.readouterr()
    assert main(["--db", url, "networks", "search", "kerkstr"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NETWORK", "KIND", "MUNICIPALITY", "ZONE", "ACTIVE", "MEMBERS", "MATCHED"]
    assert "BIN Kerkwijk" in out[1] and "street: Kerkstraat" in out[1]
    assert main(["--db", url, "networks", "search", "nothing-here"]) == 1
    assert main(["--db", url, "networks", "search", "kerk", "--zone", "0000"]) == 2


def test_changes_are_audited_without_personal_data(db, net):
    from bin_console.data.models import AuditEntry

    mid = add_member(db, net, {"name": "Jan Peeters", "mobile": "0475123456"}, ACTOR)
    update_member(db, mid, {"email": "jan@example.be"}, ACTOR)
    deactivate_member(db, mid, ACTOR)
    with db.read() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    actions = [e.action for e in entries]
    assert actions == ["network.create", "member.create", "member.update", "member.deactivate"]
    assert all(e.os_user == "tester" for e in entries)
    assert entries[2].object_ref == f"member:{mid}" and "email" in entries[2].detail
    assert not any("0475" in e.detail or "+32475" in e.detail or "jan@example.be" in e.detail for e in entries)


def test_mobile_given_as_landline_becomes_the_sms_number(db, net):
    mid = add_member(db, net, {"name": "Lies Claes", "landline": "0475 99 88 77"}, ACTOR)
    with db.read() as s:
        m = s.get(Member, mid)
        assert (m.mobile, m.landline) == ("+32475998877", None)
    assert network_summary_for(db, net).sms_reachable == 1
    # a real landline next to a mobile stays where it was given
    other = add_member(db, net, {"name": "Tom Claes", "mobile": "0476 11 22 33", "landline": "03 777 66 55"}, ACTOR)
    with db.read() as s:
        m = s.get(Member, other)
        assert (m.mobile, m.landline) == ("+32476112233", "+3237776655")
