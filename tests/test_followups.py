"""Follow-ups: the closing message reaches the original's members (less those who opted out since),
by its channel or by e-mail, in each member's language, and is linked to the original.

The end-to-end test is the issue's "done when": a bilingual alert over the real training SMSC reaches
each member of a mixed network in their own language (German members fall back to the network's),
its follow-up reaches the same members and is linked, and a reminder shows until it is sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bin_console.data.models import Alert, Member, utcnow
from bin_console.data.templates import seed_templates
from sender_helpers import open_count, runner, wait_until
from sqlalchemy import select, update
from test_alerts import ACTOR, add_members
from test_languages import FR, NL, mixed_network

from bin_console.alerts import service as alerts
from bin_console.alerts.reminders import due_reminders
from bin_console.cli.dispatch import main

VALUES = {"time": "22:40", "street": "Kerkstraat", "municipality": "Brussel"}


def send_all(db, smsc):
    """Drain the outbox through a real sender bound to the training SMSC."""
    r = runner(db, smsc)
    r.start()
    try:
        assert wait_until(lambda: open_count(db) == 0, timeout=30), "the outbox did not drain"
    finally:
        r.stop()


def follow_up(db, original, texts, **kw):
    return alerts.create_alert(
        db,
        network_ids=alerts.follow_up_networks(db, original),
        texts=texts,
        urgency=alerts.follow_up_urgency(db, original, by_email=kw.get("by_email", False)),
        actor=ACTOR,
        training=True,
        follow_up_of=original,
        **kw,
    )


def test_bilingual_alert_its_follow_up_and_the_reminder(db, smsc):
    with db.write() as s:
        seed_templates(s)
    nid = mixed_network(db, language="fr")
    original = alerts.create_alert(
        db, network_ids=[nid], texts={"nl": NL, "fr": FR}, actor=ACTOR, training=True, default_language="nl"
    )
    send_all(db, smsc)
    assert smsc.messages_for("32470000001") == [NL]
    assert smsc.messages_for("32470000002") == [FR]
    assert smsc.messages_for("32470000003") == [FR]  # German: the network's language
    assert smsc.messages_for("32470000004") == [FR]

    later = utcnow() + timedelta(minutes=46)
    assert [r.alert_id for r in due_reminders(db, later, after_minutes=45)] == [original]
    assert due_reminders(db, utcnow(), after_minutes=45) == []  # not yet due

    closing = follow_up(db, original, alerts.render_versions(db, "all_clear", VALUES))
    send_all(db, smsc)
    assert smsc.messages_for("32470000001")[1].startswith("POLITIE BIN 22:40: einde alarm")
    assert smsc.messages_for("32470000002")[1].startswith("POLICE PLP 22:40: fin de l'alerte")
    assert smsc.messages_for("32470000003")[1].startswith("POLIZEI NIN 22:40: Entwarnung")  # template has de
    assert smsc.messages_for("32470000004")[1].startswith("POLICE BIN 22:40: all clear")
    assert len(smsc.received) == 8  # the same four members, once each

    with db.read() as s:
        assert s.get(Alert, closing).follow_up_of == original
    rows = {r.id: r for r in alerts.list_alerts(db)}
    assert rows[original].follow_ups == [closing] and rows[closing].follow_up_of == original
    assert due_reminders(db, later, after_minutes=45) == []  # the follow-up ends the reminder


def test_follow_up_skips_members_who_opted_out_or_left_since(db):
    nid = mixed_network(db)
    original = alerts.create_alert(db, network_ids=[nid], texts={"nl": NL, "fr": FR}, actor=ACTOR)
    add_members(db, nid, [{"name": "Nieuw", "mobile": "+32470000009"}])  # joined after: not in the thread
    with db.write() as s:
        s.execute(update(Member).where(Member.name == "Marie").values(sms_opt_out=True))
        s.execute(update(Member).where(Member.name == "Emma").values(status="left"))
    vp = alerts.plan_versions(db, [nid], {"": "Einde alarm"}, follow_up_of=original)
    assert (vp.plan.recipients, vp.plan.skipped_opt_out, vp.plan.skipped_left) == (2, 1, 1)
    closing = follow_up(db, original, {"nl": "Einde alarm.", "fr": "Fin de l'alerte."})
    with db.read() as s:
        got = sorted(s.scalars(select(Alert.recipients).where(Alert.id == closing)))
    assert got == [2]


def test_follow_up_by_email_reaches_the_members_with_an_address(db):
    nid = mixed_network(db)
    with db.write() as s:
        s.execute(update(Member).where(Member.name == "Jan").values(email="jan@example.be"))
    original = alerts.create_alert(db, network_ids=[nid], text=NL, actor=ACTOR)
    vp = alerts.plan_versions(db, [], {"": "x"}, urgency="normal", follow_up_of=original, by_email=True)
    assert vp.plan.channel == "email" and vp.plan.recipients == 1 and vp.plan.skipped_no_address == 3
    assert alerts.follow_up_urgency(db, original, by_email=True) == "normal"


def test_follow_up_of_an_unknown_alert_is_refused(db):
    with pytest.raises(ValueError, match="does not exist"):
        alerts.follow_up_networks(db, 999)


def test_cli_follow_up_and_alerts_show_the_thread(sqlite_db, smsc, tmp_path, capsys, monkeypatch):
    with sqlite_db.write() as s:
        seed_templates(s)
    mixed_network(sqlite_db)
    url = str(sqlite_db.engine.url)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[smpp]\nhost = "127.0.0.1"\nport = {smsc.port}\nsystem_id = "bin"\ntraining = true\n[smtp]\ntraining = true\n'
    )
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    base = ["--config", str(cfg), "--db", url, "send"]
    assert main([*base, "--network", "Brussel-Centrum", "--text-nl", NL, "--text-fr", FR, "--yes"]) == 0
    capsys.readouterr()
    original = alerts.list_alerts(sqlite_db)[0].id
    sets = [a for k, v in VALUES.items() for a in ("--set", f"{k}={v}")]
    rc = main([*base, "--follow-up", str(original), "--template", "all_clear", *sets, "--yes"])
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    assert "Versions:" in out and "  de: 1 member(s)" in out
    closing = alerts.list_alerts(sqlite_db)[0].id
    assert main(["--db", url, "alerts", "show", str(closing)]) == 0
    assert f"Follow-up of alert {original}" in capsys.readouterr().out
    assert main(["--db", url, "alerts", "show", str(original)]) == 0
    assert f"Follow-ups: alert {closing}" in capsys.readouterr().out
    assert main(["--db", url, "alerts", "list"]) == 0
    assert f"follow-up of {original}" in capsys.readouterr().out
    assert main([*base, "--follow-up", str(original), "--network", "Brussel-Centrum", "--text", "x"]) == 2
    assert "drop --network" in capsys.readouterr().err
