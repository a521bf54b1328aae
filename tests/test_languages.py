"""Every member in their own language: network default language (column, import), language
versions of an alert chosen per member, the combined nl+fr text, per-version parts, and the plan."""

from __future__ import annotations

import pytest
from bin_console.data.keys import fold
from bin_console.data.models import AlertText, Delivery, Member, Network
from bin_console.data.templates import seed_templates
from sqlalchemy import select, update
from test_alerts import ACTOR, add_members, make_network

from bin_console import alerts, outbox
from bin_console.cli import main
from bin_console.importer import import_networks

NL = "Inbraak in de Kerkstraat. Bel 101."
FR = "Cambriolage rue de l'Eglise. Appelez le 101."


def mixed_network(db, name="Brussel-Centrum", language="fr"):
    """A bilingual network (default `language`) with a Dutch, a French, a German and an English member."""
    nid = make_network(db, name)
    with db.write() as s:
        s.execute(update(Network).where(Network.id == nid).values(language=language))
    add_members(
        db,
        nid,
        [
            {"name": "Jan", "mobile": "+32470000001", "language": "nl"},
            {"name": "Marie", "mobile": "+32470000002", "language": "fr"},
            {"name": "Hans", "mobile": "+32470000003", "language": "de"},
            {"name": "Emma", "mobile": "+32470000004", "language": "en"},
        ],
    )
    return nid


def rows_by_mobile(db, alert_id):
    with db.read() as s:
        return {
            m: (lang, parts)
            for m, lang, parts in s.execute(
                select(Delivery.address, Delivery.language, Delivery.parts_total).where(Delivery.alert_id == alert_id)
            )
        }


def test_each_member_gets_their_language_else_the_networks(db):
    nid = mixed_network(db, language="fr")
    aid = alerts.create_alert(db, network_ids=[nid], texts={"nl": NL, "fr": FR}, actor=ACTOR, default_language="nl")
    got = rows_by_mobile(db, aid)
    assert got["+32470000001"][0] == "nl"
    assert got["+32470000002"][0] == "fr"
    assert got["+32470000003"][0] == "fr"  # German member: no de text, the network speaks French
    assert got["+32470000004"][0] == "fr"
    with db.read() as s:
        stored = dict(s.execute(select(AlertText.language, AlertText.text).where(AlertText.alert_id == aid)).all())
    assert stored == {"nl": NL, "fr": FR}
    assert alerts.alert_versions(db, aid) == [("nl", NL, 1), ("fr", FR, 3)]


def test_without_a_network_language_the_console_default_applies(db):
    nid = mixed_network(db, name="Leeg", language="")
    aid = alerts.create_alert(db, network_ids=[nid], texts={"nl": NL, "fr": FR}, actor=ACTOR, default_language="nl")
    got = rows_by_mobile(db, aid)
    assert got["+32470000003"][0] == "nl" and got["+32470000004"][0] == "nl"
    assert got["+32470000002"][0] == "fr"


def test_the_claim_gives_each_row_its_own_text_and_parts(db):
    nid = mixed_network(db)
    long_fr = "Cambriolage en cours. " * 10  # > 160 GSM-7 characters: 2 parts
    aid = alerts.create_alert(db, network_ids=[nid], texts={"nl": NL, "fr": long_fr}, actor=ACTOR)
    with db.write() as s:
        claimed = outbox.claim(s, outbox.new_owner_id("t"), 10, 30)
    texts = {r.address: (r.text, r.language, r.parts_total) for r in claimed if r.alert_id == aid}
    assert texts["+32470000001"] == (NL, "nl", 1)
    assert texts["+32470000002"] == (long_fr, "fr", 2)
    assert texts["+32470000003"] == (long_fr, "fr", 2)


def test_combined_text_joins_nl_and_fr_for_everyone(db):
    nid = mixed_network(db)
    aid = alerts.create_alert(db, network_ids=[nid], texts={"nl": NL, "fr": FR}, combined=True, actor=ACTOR)
    with db.write() as s:
        claimed = outbox.claim(s, outbox.new_owner_id("t"), 10, 30)
    assert {r.text for r in claimed} == {NL + alerts.COMBINED_SEPARATOR + FR}
    assert alerts.alert_versions(db, aid) == []  # one text for all: no versions
    with pytest.raises(ValueError, match="nl and fr"):
        alerts.create_alert(db, network_ids=[nid], texts={"nl": NL, "de": "x"}, combined=True, actor=ACTOR)


def test_plan_versions_counts_members_and_parts_per_version(db):
    nid = mixed_network(db)
    ucs2_fr = "Cambriolage, fenêtre forcée. Appelez le 101."  # ê forces UCS-2
    vp = alerts.plan_versions(db, [nid], {"nl": NL, "fr": ucs2_fr}, default_language="nl")
    by_lang = {v.language: v for v in vp.versions}
    assert (by_lang["nl"].members, by_lang["nl"].encoding, by_lang["nl"].sms_parts) == (1, "gsm7", 1)
    assert (by_lang["fr"].members, by_lang["fr"].encoding, by_lang["fr"].parts_per_sms) == (3, "ucs2", 1)
    assert vp.total_parts == 4 and vp.plan.recipients == 4
    with pytest.raises(ValueError, match="unknown language"):
        alerts.plan_versions(db, [nid], {"xx": NL})


def test_template_versions_render_in_each_language(db):
    with db.write() as s:
        seed_templates(s)
    versions = alerts.render_versions(
        db, "all_clear", {"time": "22:10", "street": "Kerkstraat", "municipality": "Gent"}
    )
    assert set(versions) == {"nl", "fr", "de", "en"}
    assert versions["de"].startswith("POLIZEI NIN 22:10: Entwarnung in Kerkstraat")


def test_send_cli_lists_the_versions_before_confirming(sqlite_db, capsys):
    mixed_network(sqlite_db)
    url = str(sqlite_db.engine.url)
    rc = main(["--db", url, "send", "--network", "Brussel-Centrum", "--text-nl", NL, "--text-fr", FR])
    out, err = capsys.readouterr()
    assert rc == 2 and "--yes" in err  # nothing written without --yes
    assert "Versions:" in out
    assert f"  nl: 1 member(s), GSM7, {len(NL)} characters, 1 part(s) per SMS" in out
    assert "  fr: 3 member(s)" in out and "Total SMS parts: 4" in out
    assert main(["--db", url, "send", "--network", "Brussel-Centrum", "--text", "x", "--text-nl", NL]) == 2
    assert "give one of" in capsys.readouterr().err


def test_network_import_reads_a_language_column(db, tmp_path):
    path = tmp_path / "nets.csv"
    path.write_text(
        "netwerk,gemeente,zone,taal,straat\nBIN Elsene,Elsene,5341,Frans,Rue Gray\nBIN Gent,Gent,5341,,Kerkstraat\n"
    )
    report = import_networks(db, path, create_zones=True)
    assert report.fatal is None and not report.rejected, report.detail_lines()
    with db.read() as s:
        langs = dict(s.execute(select(Network.name_key, Network.language)).all())
    assert langs[fold("BIN Elsene")] == "fr" and langs[fold("BIN Gent")] == ""
    bad = tmp_path / "bad.csv"
    bad.write_text("netwerk,gemeente,zone,taal,straat\nBIN X,X,5341,Klingon,Straat\n")
    assert import_networks(db, bad, create_zones=True).rejected


def test_member_language_beats_the_network_language(db):
    nid = mixed_network(db, language="nl")
    with db.write() as s:
        s.execute(update(Member).where(Member.name == "Hans").values(language="de"))
    aid = alerts.create_alert(
        db, network_ids=[nid], texts={"nl": NL, "fr": FR, "de": "Einbruch. Ruf 101."}, actor=ACTOR
    )
    got = rows_by_mobile(db, aid)
    assert got["+32470000003"][0] == "de" and got["+32470000004"][0] == "nl" and got["+32470000002"][0] == "fr"


def test_email_claim_gives_each_row_its_own_text(db):
    from bin_console.channels.email import store

    nid = mixed_network(db, language="fr")
    with db.write() as s:
        s.execute(update(Member).where(Member.name == "Jan").values(email="jan@example.be"))
        s.execute(update(Member).where(Member.name == "Hans").values(email="hans@example.be"))
    aid = alerts.create_alert(db, network_ids=[nid], texts={"nl": NL, "fr": FR}, urgency="normal", actor=ACTOR)
    work = {w.address: (w.text, w.language) for w in store.claim(db, outbox.new_owner_id("t"), 10, 30, training=False)}
    assert work == {"jan@example.be": (NL, "nl"), "hans@example.be": (FR, "fr")}
    assert alerts.alert_versions(db, aid) == [("nl", NL, 1), ("fr", FR, 1)]
