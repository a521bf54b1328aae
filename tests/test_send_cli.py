"""`bin-console send` / `alerts show` / `alerts list`: plan, refusals (nothing written), and real sends."""

from __future__ import annotations

import importlib.util

import pytest
from bin_console.data.models import Alert, Delivery, MessageTemplate, SenderStatus, utcnow
from sqlalchemy import func, select, text
from test_alerts import ACTOR, add_members, make_network

from bin_console.alerts import service as alerts
from bin_console.cli import send as send_cli
from bin_console.cli.dispatch import main

HAVE_SENDER = importlib.util.find_spec("bin_console.channels.smpp.sender") is not None


@pytest.fixture
def seeded(sqlite_db):
    a = make_network(sqlite_db, "Kerkstraat", sms_sender="POLITIE")
    b = make_network(sqlite_db, "Sint-Niklaas Centrum")
    add_members(
        sqlite_db,
        a,
        [
            {"name": "An", "mobile": "+32470000001", "email": "an@example.be"},
            {"name": "Bert", "mobile": "+32470000002", "sms_opt_out": True},
            {"name": "Chris", "landline": "+3292222222"},
        ],
    )
    add_members(sqlite_db, b, [{"name": "An", "mobile": "+32470000001"}, {"name": "Dirk", "mobile": "+32470000004"}])
    with sqlite_db.write() as s:
        s.add(MessageTemplate(key="burglary", language="nl", title="Inbraak", body="Inbraak in de {street}. Bel 101."))
    return sqlite_db, str(sqlite_db.engine.url)


def _count(db, model):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_plan_printed_and_refused_without_yes(seeded, capsys):
    db, url = seeded
    nets = ["--network", "kerkstraat", "--network", "sint-niklaas centrum"]
    rc = main(["--db", url, "send", *nets, "--text", "Inbraak"])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "Recipients: 2" in out
    assert "Skipped: 3 (1 opted out, 1 no mobile, 1 duplicate)" in out
    assert "Encoding: GSM7" in out and "1 part(s) per SMS" in out and "Total SMS parts: 2" in out
    assert "--yes" in err
    assert _count(db, Alert) == 0 and _count(db, Delivery) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--network", "Nergens", "--text", "x", "--yes"], "no network named 'Nergens'"),
        (["--network", "Kerkstraat", "--text", "   ", "--yes"], "text is empty"),
        (["--network", "Kerkstraat", "--template", "burglary", "--yes"], "--set street="),
        (["--network", "Kerkstraat", "--template", "nope", "--yes"], "no template 'nope'"),
        (["--network", "Kerkstraat", "--template", "burglary", "--set", "street", "--yes"], "NAME=VALUE"),
        (["--network", "Kerkstraat", "--text", "x", "--expires", "0", "--yes"], "--expires"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(seeded, capsys, argv, message):
    db, url = seeded
    assert main(["--db", url, "send", *argv]) == 2
    assert message in capsys.readouterr().err
    assert _count(db, Alert) == 0


def test_template_plan_shows_filled_text_length(seeded, capsys):
    db, url = seeded
    rc = main(["--db", url, "send", "--network", "Kerkstraat", "--template", "burglary", "--set", "street=Kerkstraat"])
    assert rc == 2
    out = capsys.readouterr().out
    assert f"{len('Inbraak in de Kerkstraat. Bel 101.')} characters" in out


def test_gsm_safe_switches_encoding(seeded, capsys):
    db, url = seeded
    main(["--db", url, "send", "--network", "Kerkstraat", "--text", "Let op ‘verdachte’ – bel 101"])
    assert "Encoding: UCS2" in capsys.readouterr().out
    main(["--db", url, "send", "--network", "Kerkstraat", "--text", "Let op ‘verdachte’ – bel 101", "--gsm-safe"])
    assert "Encoding: GSM7" in capsys.readouterr().out


def test_no_secure_keyring_refuses_before_writing(seeded, capsys, monkeypatch):
    db, url = seeded
    if not HAVE_SENDER:
        pytest.skip("bin_console.channels.smpp.sender not written yet")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert main(["--db", url, "send", "--network", "Kerkstraat", "--text", "x", "--yes"]) == 78
    assert "Nothing was written" in capsys.readouterr().err
    assert _count(db, Alert) == 0


def test_normal_alert_goes_by_email(seeded, capsys, smtp_sim, tmp_path):
    db, url = seeded
    conf = tmp_path / "c.toml"
    conf.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_sim.port}\nsecurity = "none"\ntraining = true\n'
        "[smpp]\ntraining = true\n"
    )
    argv = ["--config", str(conf), "--db", url, "send", "--network", "Kerkstraat", "--text", "Preventie", "--normal"]
    assert main([*argv, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Channel: e-mail" in out and "e-mail: submitted 1" in out
    with db.read() as s:
        assert s.scalars(select(Delivery.address)).all() == ["an@example.be"]
        assert s.scalar(select(Alert.expires_at)) is None
    assert [m.rcpt_tos for m in smtp_sim.received] == [("an@example.be",)]


def test_waits_on_a_running_sender_service_and_times_out(seeded, capsys):
    """A fresh sender_status row means a service owns the link: send only queues and waits on the DB."""
    db, url = seeded
    with db.write() as s:
        s.add(SenderStatus(account="default", state="bound", owner="other:1", updated_at=utcnow()))
    rc = main(["--db", url, "send", "--network", "Kerkstraat", "--text", "x", "--yes", "--timeout", "0.5"])
    out, err = capsys.readouterr()
    assert rc == 3
    assert "running `bin-console sender` service" in out and "timed out" in err
    assert "queued 1" in out
    assert _count(db, Delivery) == 1


def test_alerts_show_and_list(seeded, capsys):
    db, url = seeded
    aid = alerts.create_alert(db, network_ids=[1, 2], text="Inbraak Kerkstraat", actor=ACTOR)
    with db.write() as s:  # an alert stored before create_alert refused control characters
        s.execute(text("UPDATE alert SET text = :t WHERE id = :id"), {"t": "Inbraak \x1b[2J Kerkstraat", "id": aid})
    assert main(["--db", url, "alerts", "show", str(aid)]) == 0
    out = capsys.readouterr().out
    assert f"Alert {aid}" in out and "Kerkstraat, Sint-Niklaas Centrum" in out and "queued 2" in out
    assert "\x1b" not in out  # untrusted text cannot drive the terminal
    assert main(["--db", url, "alerts", "list"]) == 0
    out = capsys.readouterr().out
    assert "sending" in out and "disp1@10.1.2.3" in out and "\x1b" not in out
    assert main(["--db", url, "alerts", "show", "999"]) == 2


# --- end to end against the training SMSC (needs bin_console/channels/smpp/sender.py) ------------------------


@pytest.mark.skipif(not HAVE_SENDER, reason="bin_console.channels.smpp.sender not written yet")
def test_send_end_to_end_training_smsc(seeded, smsc, tmp_path, capsys, monkeypatch):
    db, url = seeded
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[smpp]\nhost = "127.0.0.1"\nport = {smsc.port}\nsystem_id = "bin"\ntraining = true\n[smtp]\ntraining = true\n'
    )
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    rc = main(
        ["--config", str(cfg), "--db", url, "send", "--network", "Kerkstraat", "--network", "Sint-Niklaas Centrum"]
        + ["--text", "Inbraak Kerkstraat, bel 101", "--yes", "--wait", "--timeout", "30"]
    )
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    assert smsc.messages_for("32470000001") == ["Inbraak Kerkstraat, bel 101"]
    assert smsc.messages_for("32470000004") == ["Inbraak Kerkstraat, bel 101"]
    assert "delivered 2" in out


def _training_config(tmp_path, port):
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[smpp]\nhost = "127.0.0.1"\nport = {port}\nsystem_id = "bin"\ntraining = true\n[smtp]\ntraining = true\n'
    )
    return str(cfg)


@pytest.mark.skipif(not HAVE_SENDER, reason="bin_console.channels.smpp.sender not written yet")
def test_send_exit_1_when_the_smsc_refuses_a_number(seeded, smsc_factory, tmp_path, capsys):
    db, url = seeded
    sim = smsc_factory(fail_destinations=["32470000004"])
    argv = ["--config", _training_config(tmp_path, sim.port), "--db", url, "send", "--network", "Kerkstraat"]
    argv += ["--network", "Sint-Niklaas Centrum", "--text", "Inbraak", "--yes", "--timeout", "30"]
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 1, out + err
    assert "Dirk" in out and "+32 470 •• •• 04" in out  # the failure, named and masked
    assert sim.messages_for("32470000001") == ["Inbraak"]


@pytest.mark.skipif(not HAVE_SENDER, reason="bin_console.channels.smpp.sender not written yet")
def test_send_exit_codes_with_and_without_wait(seeded, smsc_factory, tmp_path, capsys):
    db, url = seeded
    silent = smsc_factory(receipts=False)  # accepts, never sends a receipt
    argv = ["--config", _training_config(tmp_path, silent.port), "--db", url, "send", "--network", "Kerkstraat"]
    # without --wait, acceptance by the SMSC is success
    assert main([*argv, "--text", "Een", "--yes", "--timeout", "30"]) == 0
    assert "submitted 1" in capsys.readouterr().out
    # with --wait, no receipt before the deadline is a timeout
    assert main([*argv, "--text", "Twee", "--yes", "--wait", "--timeout", "1"]) == 3
    capsys.readouterr()
    # with --wait, an UNDELIV receipt makes it a failure
    undeliv = smsc_factory(undeliverable=1.0)
    argv = ["--config", _training_config(tmp_path, undeliv.port), "--db", url, "send", "--network", "Kerkstraat"]
    rc = main([*argv, "--text", "Drie", "--yes", "--wait", "--timeout", "30"])
    out, err = capsys.readouterr()
    assert rc == 1, out + err
    assert "undeliverable" in out


@pytest.mark.skipif(not HAVE_SENDER, reason="bin_console.channels.smpp.sender not written yet")
def test_missing_smpp_password_refuses_before_writing(seeded, capsys, monkeypatch, mem_keyring):
    db, url = seeded
    monkeypatch.setenv("BIN_CONSOLE_ALLOW_TEST_KEYRING", "1")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert main(["--db", url, "send", "--network", "Kerkstraat", "--text", "x", "--yes"]) == 2
    assert "bin-console credentials set smpp" in capsys.readouterr().err
    assert _count(db, Alert) == 0


class CountingRunner:
    started = 0

    def start(self):
        CountingRunner.started += 1

    def stop(self, timeout: float = 5.0):
        pass

    def wake(self):
        pass


def test_a_send_refused_by_its_plan_starts_no_sender(sqlite_db, capsys, monkeypatch):
    """Refused by its plan ("no reachable recipient"): a sender started before the refusal
    recovers rows (a write), binds with the real credential and sends whatever else is queued,
    while the command says nothing was sent."""
    net = make_network(sqlite_db, "Lege straat")
    add_members(sqlite_db, net, [{"name": "Zonder gsm", "landline": "+3292222223"}])
    CountingRunner.started = 0
    monkeypatch.setattr(send_cli, "_start_embedded", lambda db, settings: CountingRunner())
    rc = main(["--db", str(sqlite_db.engine.url), "send", "--network", "Lege straat", "--text", "x", "--yes"])
    assert rc == 2
    assert "no reachable recipient" in capsys.readouterr().err
    assert CountingRunner.started == 0
