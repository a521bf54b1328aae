"""E-mail in alerts: the urgent alert's e-mail copy, per-channel counts, time to finish, settings."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from bin_console.data.models import Delivery, Member
from mail_fixtures import email_of, make_email_network, smtp_settings
from sqlalchemy import select, update
from test_email_send import ACTOR, _run

from bin_console.alerts import service as alerts
from bin_console.channels.email.eta import email_eta
from bin_console.cli.dispatch import main
from bin_console.config import ConfigError, SmtpSettings, load_settings


def _half_without_mobile(db, net):
    with db.write() as s:
        s.execute(update(Member).where(Member.network_id == net, Member.id % 2 == 0).values(mobile=None))
        s.execute(update(Member).where(Member.email == email_of(0)).values(email_opt_out=True))  # has a mobile


def test_an_urgent_alert_with_email_copy_emails_only_members_without_a_mobile(db):
    net = make_email_network(db, 6, mobiles=True)
    _half_without_mobile(db, net)
    assert alerts.plan_email_copy(db, [net]) == 3
    aid = alerts.create_alert(db, network_ids=[net], text="Inbraak", actor=ACTOR, email_copy=True)
    with db.read() as s:
        rows = s.execute(select(Delivery.channel, Member.mobile.is_(None)).join(Member)).all()
    assert sorted(rows) == [("email", True)] * 3 + [("sms", False)] * 3
    p = alerts.alert_progress(db, aid)
    assert p.by_channel == {"sms": {"queued": 3}, "email": {"queued": 3}}
    assert p.alert.recipients == 6 and p.parts_total == 3  # parts are SMS parts
    (row,) = alerts.list_alerts(db)
    assert row.by_channel == p.by_channel
    assert alerts.queue_depth(db) == 6 and alerts.queue_depth(db, channel="email") == 3


def test_without_the_choice_an_urgent_alert_sends_no_email(db):
    net = make_email_network(db, 4, mobiles=True)
    _half_without_mobile(db, net)
    aid = alerts.create_alert(db, network_ids=[net], text="Inbraak", actor=ACTOR)
    assert alerts.alert_progress(db, aid).by_channel == {"sms": {"queued": 2}}


def test_opted_out_and_addressless_members_are_skipped_and_counted(db):
    net = make_email_network(db, 4)
    with db.write() as s:
        s.execute(update(Member).where(Member.email == email_of(0)).values(email_opt_out=True))
        s.execute(update(Member).where(Member.email == email_of(1)).values(email=None))
    plan = alerts.plan_alert(db, [net], "normal")
    assert (plan.channel, plan.recipients, plan.skipped_opt_out, plan.skipped_no_address) == ("email", 2, 1, 1)


def test_time_to_finish_follows_the_relay_rate():
    m365 = SmtpSettings(max_per_minute=30)
    assert email_eta(2000, m365) == timedelta(minutes=1999 / 30)  # more than an hour
    assert email_eta(2000, m365) > timedelta(hours=1)
    assert email_eta(1, m365) == timedelta(0)
    assert email_eta(0, m365) == timedelta(0)
    assert email_eta(100, SmtpSettings(connections=2)) < email_eta(100, SmtpSettings(connections=1))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[smtp]\nsecurity = "none"\nhost = "smtp.office365.com"\n', "only allowed towards loopback"),
        ('[smtp]\nsecurity = "ssl"\n', "smtp.security: one of starttls, tls, none"),
        ('[imap]\nhost = "imap.example.be"\nsecurity = "none"\n', "imap.security"),
        ('[imap]\npassword = "x"\n', "secrets do not belong in the config file"),
        ("[smtp]\nconnections = 0\n", "smtp.connections"),
    ],
)
def test_mail_settings_refuse_plain_text_off_loopback_and_secrets(tmp_path, body, message):
    f = tmp_path / "c.toml"
    f.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_settings(f)


def test_mail_settings_defaults_and_values(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[smtp]\nmax_per_minute = 30\nfrom_addr = "bin@pz.be"\n[imap]\nhost = "imap.pz.be"\n')
    s = load_settings(f)
    assert (s.smtp.security, s.smtp.max_per_minute, s.smtp.from_addr) == ("starttls", 30, "bin@pz.be")
    assert (s.imap.host, s.imap.security, s.imap.mailbox) == ("imap.pz.be", "tls", "INBOX")


def test_send_email_copy_and_alerts_show_per_channel(sqlite_db, smtp_sim, tmp_path, capsys, smsc):
    db = sqlite_db
    net = make_email_network(db, 4, mobiles=True, name="Kerkstraat")
    _half_without_mobile(db, net)
    conf = tmp_path / "c.toml"
    conf.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_sim.port}\nsecurity = "none"\ntraining = true\n'
        f'[smpp]\nhost = "127.0.0.1"\nport = {smsc.port}\nsystem_id = "training"\ntraining = true\n'
    )
    url = str(db.engine.url)
    rc = main(
        [
            "--config",
            str(conf),
            "--db",
            url,
            "send",
            "--network",
            "Kerkstraat",
            "--text",
            "Inbraak",
            "--email-copy",
            "--yes",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "E-mail copy for members without a mobile: 2" in out
    assert "e-mail: submitted 2" in out and re.search(r"SMS: (submitted|delivered) 2", out)
    assert sorted(m.rcpt_tos[0] for m in smtp_sim.received) == [email_of(1), email_of(3)]
    aid = alerts.list_alerts(db)[0].id
    assert main(["--db", url, "alerts", "show", str(aid)]) == 0
    assert "e-mail: submitted 2" in capsys.readouterr().out
    assert main(["--db", url, "alerts", "list"]) == 0
    assert "4 rcpt SMS+e-mail" in capsys.readouterr().out


def test_send_non_urgent_is_the_email_channel(sqlite_db, smtp_sim, tmp_path, capsys):
    db = sqlite_db
    make_email_network(db, 2, name="Kerkstraat")
    conf = tmp_path / "c.toml"
    conf.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_sim.port}\nsecurity = "none"\ntraining = true\nmax_per_minute = 30\n'
        "[smpp]\ntraining = true\n"
    )
    argv = ["--config", str(conf), "--db", str(db.engine.url), "send", "--network", "Kerkstraat", "--text", "Tip"]
    assert main([*argv, "--non-urgent"]) == 2  # no --yes: nothing written
    out = capsys.readouterr().out
    assert "Channel: e-mail" in out and "E-mail time to finish: about 2 s at 30/min" in out
    assert alerts.list_alerts(db) == []


def test_a_progress_reaches_done_through_the_real_relay(db, smtp_sim):
    net = make_email_network(db, 2)
    aid = alerts.create_alert(db, network_ids=[net], text="Tip", urgency="normal", actor=ACTOR, training=True)
    p = _run(db, smtp_settings(smtp_sim), aid)
    assert p.done and p.by_channel == {"email": {"submitted": 2}}
