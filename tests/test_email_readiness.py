"""E-mail without its SMTP/IMAP password or a keyring: the console opens, SMS runs on, the reason is shown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from alert_ui_helpers import make_app
from bin_console.data.models import SenderStatus
from bin_console.widgets.status_line import render_status
from sender_helpers import alert, make_network, states, wait_until

from bin_console import app_main
from bin_console.channels.email.driver import EmailSender
from bin_console.channels.email.service import smtp_password, start_email_channel
from bin_console.config import Settings
from bin_console.trust.credentials import Secret, set_secret
from bin_console.trust.readiness import Readiness


@pytest.fixture
def no_systemd(monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def _relay_with_login(settings: Settings) -> Settings:
    settings.smtp.username = "bin-relay"
    settings.smtp.training = False
    return settings


def test_no_keyring_says_email_cannot_be_sent_and_the_fix(no_systemd):
    """conftest pins the `fail` keyring: what a headless host without D-Bus has."""
    ready, password = smtp_password(_relay_with_login(Settings(db_url="sqlite://")))
    assert password is None and not ready.ok
    assert ready.sentence() == (
        "E-mail cannot be sent: no secure credential store. `bin-console credentials check` names the fixes."
    )


def test_smtp_password_missing_then_stored(no_systemd, monkeypatch, mem_keyring):
    monkeypatch.setenv("BIN_CONSOLE_ALLOW_TEST_KEYRING", "1")
    s = _relay_with_login(Settings(db_url="sqlite://"))
    ready, _ = smtp_password(s)
    assert (ready.ok, ready.reason, ready.fix) == (
        False,
        "no SMTP password stored",
        "Run `bin-console credentials set smtp`.",
    )
    set_secret("smtp", Secret("relay-pw-1"), s)
    ready, password = smtp_password(s)
    assert ready.ok and password == Secret("relay-pw-1")


def _email_status(db):
    with db.read() as s:
        row = s.get(SenderStatus, "email")
        return None if row is None else row.state


def test_without_a_keyring_nothing_of_email_starts_and_both_reasons_are_kept(sqlite_db, settings, no_systemd):
    _relay_with_login(settings)
    settings.imap.host = "127.0.0.1"
    settings.imap.security = "none"
    settings.imap.username = "bin"
    channel = start_email_channel(sqlite_db, settings)
    try:
        assert channel.parts == []
        assert channel.sending.sentence().startswith("E-mail cannot be sent: no secure credential store.")
        assert channel.replies.sentence().startswith("E-mail replies cannot be read: no secure credential store.")
        assert _email_status(sqlite_db) is None  # a started sender writes its row at once
    finally:
        channel.stop()


def test_the_training_mail_server_needs_no_password_and_its_sender_starts(sqlite_db, settings, smtp_sim, no_systemd):
    settings.smtp.training = True
    settings.smtp.port = smtp_sim.port
    channel = start_email_channel(sqlite_db, settings)
    try:
        assert channel.sending.ok and channel.replies.ok  # [imap] names no host: nothing to read, nothing off
        (standby,) = channel.parts  # no other e-mail sender alive: this console's starts at once
        assert isinstance(standby.sender, EmailSender) and standby.running
    finally:
        channel.stop()
    assert _email_status(sqlite_db) == "stopped"


def test_the_console_opens_with_email_blocked(sqlite_db, no_systemd, monkeypatch, tmp_path):
    from bin_console.cli.dispatch import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("BIN_CONSOLE_CONFIG", raising=False)
    cfg = tmp_path / "config.toml"
    # a real SMSC whose password is a systemd credential (smpp and smtp are both real or both training)
    cfg.write_text('[smpp]\nsystem_id = "bincons"\n\n[smtp]\nusername = "bin-relay"\n', encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(_smpp_credential(tmp_path)))
    seen = {}

    def fake_run_console(settings, db, *, sender=None, sms_block=None, email_block=None, email_sending=False):
        seen.update(sms_block=sms_block, email_block=email_block)
        return 0

    monkeypatch.setattr(app_main, "run_console", fake_run_console)
    assert main(["--config", str(cfg), "--db", str(sqlite_db.url), "console"]) == 0
    assert seen["sms_block"] is None
    assert seen["email_block"].reason == "no secure credential store"


EMAIL_BLOCK = Readiness(
    False, "no SMTP password stored", "Run `bin-console credentials set smtp`.", "E-mail cannot be sent"
)


def test_the_status_line_names_what_of_email_is_off():
    from bin_console.app import LinkStatus

    text = render_status(LinkStatus(email_off=EMAIL_BLOCK.sentence()))
    assert text.plain.endswith(
        " | E-mail cannot be sent: no SMTP password stored. Run `bin-console credentials set smtp`."
    )
    (span,) = [s for s in text.spans if text.plain[s.start : s.end] == "E-mail cannot be sent"]
    assert "red" in str(span.style)
    assert " | E-mail" not in render_status(LinkStatus()).plain


async def test_the_app_publishes_email_off(sqlite_db, settings):
    app = make_app(settings, sqlite_db, email_block=EMAIL_BLOCK)
    async with app.run_test(size=(160, 24)) as pilot:
        await pilot.pause()
        assert app.status.email_off == EMAIL_BLOCK.sentence()
        assert "E-mail cannot be sent: no SMTP password stored." in str(app.screen.query_one("StatusLine").render())


def _smpp_credential(tmp_path):
    """A systemd credential directory holding only the SMPP password."""
    creds = tmp_path / "creds"
    creds.mkdir(mode=0o700)
    (creds / "smpp-password").write_text("secret", encoding="utf-8")
    return creds


def _sender_cli(tmp_path, db_url: str, config: str, channel: str, *, creds=None) -> subprocess.Popen:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n\n{config}', encoding="utf-8")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("CREDENTIALS_DIRECTORY", None)
    if creds is not None:
        env["CREDENTIALS_DIRECTORY"] = str(creds)
    return subprocess.Popen(
        [sys.executable, "-m", "bin_console", "--config", str(cfg), "sender", "--channel", channel],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _end(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.stderr.read()


def test_sender_both_says_in_one_line_why_email_is_off_and_sends_the_sms(sqlite_db, sqlite_url, smsc, tmp_path):
    net = make_network(sqlite_db, 3)
    # a real SMSC (the simulator, password from a systemd credential) and a real relay without its password
    smpp = f'[smpp]\nhost = "127.0.0.1"\nport = {smsc.port}\nsystem_id = "bincons"\n'
    config = smpp + '\n[smtp]\nusername = "bin-relay"\n'
    proc = _sender_cli(tmp_path, sqlite_url, config, "both", creds=_smpp_credential(tmp_path))
    try:
        alert_id = alert(sqlite_db, net, "Inbraak Kerkstraat", urgency="urgent", training=False)
        sent = ("submitted", "delivered")  # the simulator sends receipts
        assert wait_until(lambda: sum(states(sqlite_db, alert_id)[k] for k in sent) == 3, 30.0), states(sqlite_db)
        assert proc.poll() is None
    finally:
        err = _end(proc)
    mail_lines = [line for line in err.splitlines() if "E-mail" in line]
    assert mail_lines == [
        "bin-console sender: E-mail cannot be sent: no secure credential store. "
        "`bin-console credentials check` names the fixes."
    ], err


def test_sender_email_alone_without_its_password_exits_78_with_the_reason(sqlite_url, tmp_path):
    proc = _sender_cli(tmp_path, sqlite_url, '[smtp]\nusername = "bin-relay"\n', "email")
    try:
        assert proc.wait(30) == 78
    finally:
        err = _end(proc)
    assert "E-mail cannot be sent: no secure credential store." in err
