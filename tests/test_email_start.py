"""When a console starts its e-mail sender: only with [smtp] configured, and only one per database."""

from __future__ import annotations

import time

import pytest
from bin_console.data.models import SenderStatus
from mail_fixtures import wait_until

from bin_console.channels.email.driver import EmailSender
from bin_console.channels.email.service import start_email_channel
from bin_console.config import ConfigError, SmtpSettings, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("BIN_CONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("BIN_CONSOLE_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))


def _load(tmp_path, body: str):
    cfg = tmp_path / "config.toml"
    cfg.write_text(body, encoding="utf-8")
    return load_settings(cfg, db="sqlite://")


def test_smtp_is_configured_only_by_an_smtp_section_or_code(clean_env, tmp_path):
    assert not _load(tmp_path, '[smpp]\nhost = "smsc.pz.example"\n').smtp.configured
    assert _load(tmp_path, "[smtp]\n").smtp.configured  # an empty section: the defaults are meant
    assert _load(tmp_path, '[smtp]\nhost = "relay.pz.example"\n').smtp.configured
    assert SmtpSettings(training=True).configured  # the demo's training mail server
    with pytest.raises(ConfigError, match=r"smtp\.in_file: unknown setting"):
        _load(tmp_path, "[smtp]\nin_file = true\n")


def test_imap_timeout_and_ca_file_are_read_and_checked(clean_env, tmp_path):
    s = _load(tmp_path, '[imap]\nhost = "imap.pz.example"\ntimeout = 12\nca_file = "/etc/pz/ca.pem"\n')
    assert (s.imap.timeout, s.imap.ca_file) == (12.0, "/etc/pz/ca.pem")
    assert _load(tmp_path, "").imap.timeout == 30.0
    with pytest.raises(ConfigError, match=r"imap\.timeout"):
        _load(tmp_path, '[imap]\nhost = "imap.pz.example"\ntimeout = 0\n')


def test_without_smtp_no_sender_runs_and_nothing_is_off(sqlite_db, settings):
    """A console without [smtp] ran a sender towards 127.0.0.1:587 (no username counted as ready)."""
    assert not settings.smtp.configured
    channel = start_email_channel(sqlite_db, settings)
    try:
        assert channel.parts == [] and channel.sending.ok and channel.replies.ok and not channel.sending_here
    finally:
        channel.stop()
    with sqlite_db.read() as s:
        assert s.get(SenderStatus, "email") is None


def test_the_sender_service_without_smtp_says_so(sqlite_db, clean_env, tmp_path, capsys):
    from bin_console.cli.dispatch import main

    cfg = tmp_path / "config.toml"
    cfg.write_text("[smpp]\ntraining = true\n", encoding="utf-8")
    assert main(["--config", str(cfg), "--db", str(sqlite_db.url), "sender", "--channel", "email"]) == 78
    assert "[smtp]" in capsys.readouterr().err


def _state(db):
    with db.read() as s:
        row = s.get(SenderStatus, "email")
        return None if row is None else row.state


def test_a_second_console_waits_while_an_e_mail_sender_runs_and_takes_over(sqlite_db, settings, smtp_sim):
    """Each console ran its own sender with its own pacer: together over the relay's max_per_minute."""
    settings.smtp.training = True
    settings.smtp.port = smtp_sim.port
    settings.smtp.security = "none"
    first = start_email_channel(sqlite_db, settings)
    second = None
    try:
        (one,) = first.parts
        assert isinstance(one.sender, EmailSender) and one.running
        wait_until(lambda: _state(sqlite_db) not in (None, "stopped"), 10, "the first sender's status")
        second = start_email_channel(sqlite_db, settings)
        (two,) = second.parts
        assert two.sender is None and not two.running  # waits: one pacer for the relay
        assert first.sending_here and not second.sending_here  # the quit guard's "e-mail would stay queued"
        first.stop()
        wait_until(lambda: two.running, 20, "the second console to take over")
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert _state(sqlite_db) == "stopped"


def test_a_standby_sender_whose_start_fails_tries_again_and_sends(sqlite_db):
    """A takeover whose start() raised (its recovery write met a locked database) killed the standby
    thread: no e-mail sender ran until the console was restarted."""
    from bin_console.channels.email.standby import StandbySender

    class Flaky:  # the part under test is the standby's loop, not the SMTP sender
        starts = 0

        def __init__(self):
            self.running = False

        def start(self):
            Flaky.starts += 1
            if Flaky.starts == 1:
                raise RuntimeError("database is locked")
            self.running = True

        def stop(self, timeout=5.0):
            self.running = False

    standby = StandbySender(sqlite_db, Flaky, check_s=0.05, alive=lambda db: False)
    standby.start()
    try:
        deadline = time.monotonic() + 20  # a deadline, not a delay: the loop ends once it runs
        while not standby.running and time.monotonic() < deadline:
            time.sleep(0.02)
        assert standby.running and Flaky.starts == 2
    finally:
        standby.stop()


def test_a_non_ascii_sender_address_is_refused_at_load(clean_env, tmp_path):
    """smtplib speaks ASCII: a non-ASCII From failed every e-mail of every alert as unsendable."""
    with pytest.raises(ConfigError, match=r"smtp\.from_addr"):
        _load(tmp_path, '[smtp]\nhost = "relay.pz.example"\nfrom_addr = "bin@politiezone-léau.be"\n')
    assert _load(tmp_path, '[smtp]\nfrom_addr = "bin@xn--politiezone-lau-fnb.be"\n').smtp.configured


def test_two_consoles_started_in_the_same_moment_run_one_e_mail_sender(db):
    """Both found no live sender and both started one: twice the relay's max_per_minute. The
    check and the claim of the "email" row are now one write transaction."""
    import threading

    from bin_console.channels.email.standby import StandbySender

    started: list[int] = []

    class Quiet:  # the claim is under test, not SMTP: a sender that only says it runs
        def __init__(self, n):
            self.n, self.running = n, False

        def start(self):
            started.append(self.n)
            self.running = True

        def stop(self, timeout=5.0):
            self.running = False

    gate = threading.Barrier(6)
    standbys = [StandbySender(db, lambda n=n: Quiet(n), check_s=30.0) for n in range(6)]

    def go(standby):
        gate.wait()
        standby.start()

    threads = [threading.Thread(target=go, args=(sb,)) for sb in standbys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert len(started) == 1, started
        assert sum(sb.running for sb in standbys) == 1
        with db.read() as s:
            assert s.get(SenderStatus, "email").state == "connecting"  # fresh: the others wait
    finally:
        for sb in standbys:
            sb.stop(timeout=1.0)


def test_a_console_whose_sender_fails_to_start_does_not_hold_off_the_others(db):
    """Its claim ("connecting", fresh) stayed after the failed start: every console, this one
    too, saw a live sender and waited, and e-mail sat queued with no sender anywhere."""
    from bin_console.channels.email.standby import StandbySender

    class Broken:
        running = False

        def start(self):
            raise RuntimeError("recover failed")

        def stop(self, timeout=5.0):
            pass

    class Good:
        running = False

        def start(self):
            self.running = True

        def stop(self, timeout=5.0):
            self.running = False

    a = StandbySender(db, Broken, check_s=0.2)
    a.start()
    b = StandbySender(db, Good, check_s=0.2)
    try:
        with db.read() as s:
            claimed = s.get(SenderStatus, "email").state
        b.start()
        deadline = time.monotonic() + 20  # a deadline, not a delay: the loop ends once it runs
        while not b.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.running, f"the working console waited for a claim nobody honours (row: {claimed})"
        assert claimed == "stopped"  # given back at once: no status line says "mail retrying" for it
    finally:
        a.stop(timeout=1.0)
        b.stop(timeout=1.0)
