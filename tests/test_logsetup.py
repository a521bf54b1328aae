"""Logging: private files, smpplib PDU dumps dropped, secrets redacted (canary through a real SMPP bind)."""

from __future__ import annotations

import binascii
import importlib.util
import logging
import os
import stat
import time

import pytest
import smpplib.client

from bin_console.config import Settings
from bin_console.trust import logsetup
from bin_console.trust.credentials import Secret, get_secret

CANARY = "Kx9#qW2v"  # 8 characters: a valid SMPP password
CANARY_HEX = binascii.hexlify(CANARY.encode()).decode()


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    smpp_level = logging.getLogger("smpp").level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    logging.getLogger("smpp").setLevel(smpp_level)
    logging.captureWarnings(False)


def _assert_clean(text: str) -> None:
    assert CANARY not in text
    assert CANARY_HEX not in text.lower()


def _bind_and_talk(smsc_factory, password: str) -> None:
    sim = smsc_factory(system_id="bin01", password=password)
    client = smpplib.client.Client("127.0.0.1", sim.port, timeout=5)
    client.connect()
    try:
        client.bind_transceiver(system_id="bin01", password=password)
        client.send_message(source_addr="POLITIE", destination_addr="32470123456", short_message=b"Inbraak")
        client.read_once()  # the submit_sm_resp
    finally:
        client.unbind()
        client.disconnect()


def test_smpplib_leaks_the_password_without_our_setup(smsc_factory, restore_logging):
    """Control: proves the canary check below can fail (smpplib dumps the bind PDU in hex at DEBUG)."""
    seen: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    h = ListHandler(level=logging.DEBUG)
    logging.getLogger("smpp").setLevel(logging.DEBUG)
    logging.getLogger("smpp").addHandler(h)
    try:
        _bind_and_talk(smsc_factory, CANARY)
    finally:
        logging.getLogger("smpp").removeHandler(h)
    assert any(CANARY_HEX in line for line in seen)


def test_canary_never_reaches_log_or_stderr(smsc_factory, restore_logging, tmp_path, capfd, mem_keyring, monkeypatch):
    monkeypatch.setenv("BIN_CONSOLE_ALLOW_TEST_KEYRING", "1")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    mem_keyring.store[("bin-console", "smpp:bin01")] = CANARY
    settings = Settings(db_url="sqlite://")
    settings.smpp.system_id = "bin01"
    path = logsetup.configure_logging(settings, level=logging.DEBUG, to_stderr=True, directory=tmp_path / "logs")
    secret = get_secret("smpp", settings)  # registers itself with the redactor
    # even a later attempt to turn smpplib's PDU dumps on is caught by the handler filter
    logging.getLogger("smpp.Client.late").setLevel(logging.DEBUG)
    _bind_and_talk(smsc_factory, secret.reveal())
    log = logging.getLogger("bin_console.channels.smpp.sender")
    log.debug("binding with %s", secret)
    log.debug("oops, raw value %s and hex %s", secret.reveal(), CANARY_HEX)
    try:
        raise ConnectionError(f"bind failed for password={secret.reveal()}")
    except ConnectionError:
        log.exception("bind failed")
    log.info("still logging other things")
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text(encoding="utf-8")
    out, err = capfd.readouterr()
    assert "still logging other things" in text and "bind failed" in text and "***" in text
    assert "Connecting to 127.0.0.1" in text  # smpplib INFO lines still come through
    assert ">>" not in text and "<<" not in text
    _assert_clean(text)
    _assert_clean(out + err)


def test_files_are_private_even_under_a_loose_umask(tmp_path, restore_logging):
    old = os.umask(0o022)
    try:
        d = tmp_path / "logs"
        path = logsetup.configure_logging(None, directory=d)
        logging.getLogger("bin_console.test").warning("hello")
    finally:
        os.umask(old)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.name == "bin-console.log"


def test_rotated_files_stay_private(tmp_path, restore_logging, monkeypatch):
    monkeypatch.setattr(logsetup, "MAX_BYTES", 300)
    old = os.umask(0o022)
    try:
        path = logsetup.configure_logging(None, directory=tmp_path)
        for i in range(20):
            logging.getLogger("bin_console.test").warning("line %d %s", i, "x" * 40)
    finally:
        os.umask(old)
    rotated = sorted(tmp_path.glob("bin-console.log.*"))
    assert rotated
    for p in [path, *rotated]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_no_stderr_for_the_tui_and_idempotent(tmp_path, restore_logging, capfd):
    logsetup.configure_logging(None, directory=tmp_path)
    logsetup.configure_logging(None, directory=tmp_path)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_bin_console_handler", False)]
    assert len(ours) == 1
    logging.getLogger("bin_console.x").error("must not hit the terminal")
    out, err = capfd.readouterr()
    assert "must not hit the terminal" not in out + err
    assert "must not hit the terminal" in (tmp_path / "bin-console.log").read_text()


def test_scrub_and_short_values():
    logsetup.redact(Secret("s3cr3t-value"))
    assert logsetup.scrub("a s3cr3t-value b") == "a *** b"
    assert logsetup.scrub(binascii.hexlify(b"s3cr3t-value").decode().upper()) == "***"
    logsetup.redact("ab")  # too short to redact without blanking ordinary words
    assert logsetup.scrub("abc") == "abc"


@pytest.mark.skipif(
    importlib.util.find_spec("bin_console.channels.smpp.sender") is None,
    reason="bin_console.channels.smpp.sender not written yet",
)
def test_canary_through_the_real_sender(smsc_factory, sqlite_db, restore_logging, tmp_path, capfd):
    """The project's own SMPP path (SenderRunner, wire logger) at DEBUG: a bind and a send leak nothing."""
    from test_alerts import ACTOR, add_members, make_network

    from bin_console.alerts import service as alerts
    from bin_console.channels.smpp.sender import SenderRunner

    sim = smsc_factory(system_id="bin01", password=CANARY)
    path = logsetup.configure_logging(None, level=logging.DEBUG, to_stderr=True, directory=tmp_path / "logs")
    logging.getLogger("bin_console.smpp.wire").setLevel(logging.DEBUG)  # someone turns the dumps on
    secret = Secret(CANARY)
    logsetup.redact(secret)
    net = make_network(sqlite_db, "Kerkstraat")
    add_members(sqlite_db, net, [{"name": "An", "mobile": "+32470000001"}])
    aid = alerts.create_alert(sqlite_db, network_ids=[net], text="Inbraak", actor=ACTOR)
    s = Settings(db_url="sqlite://")
    s.smpp.port, s.smpp.system_id = sim.port, "bin01"
    runner = SenderRunner(sqlite_db, s.smpp, password=secret)
    runner.start()
    try:
        deadline = time.monotonic() + 15
        while alerts.alert_progress(sqlite_db, aid).accepted < 1 and time.monotonic() < deadline:
            sim.wait_for(lambda: False, timeout=0.05)  # wakes on SMSC events; bounded by the deadline
    finally:
        runner.stop()
    assert alerts.alert_progress(sqlite_db, aid).accepted == 1
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text(encoding="utf-8")
    out, err = capfd.readouterr()
    assert "bin_console.s" in text  # the sender did log
    assert ">>" not in text and "<<" not in text
    _assert_clean(text)
    _assert_clean(out + err)
