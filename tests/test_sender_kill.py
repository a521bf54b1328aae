"""kill -9 of a running `bin-console sender` mid-alert, then a restart: nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from bin_console.data.models import Delivery
from sender_helpers import alert, make_network, mobile, open_count, states, wait_until
from sqlalchemy import select

TEXT = "Oproep politie: wie heeft vannacht iets verdachts gezien in de Molenstraat? Bel 101. " * 2
N = 600


def _start_sender(tmp_path, url: str, port: int) -> subprocess.Popen:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[database]\nurl = "{url}"\n\n[smpp]\nport = {port}\nsystem_id = "bincons"\ntraining = true\n'
        "window = 10\nmax_tps = 0.0\nresponse_timeout = 3.0\nreconnect_max = 0.5\nconnect_timeout = 2.0\n"
        "[smtp]\ntraining = true\n"
    )
    env = dict(os.environ)
    for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    return subprocess.Popen(
        [sys.executable, "-m", "bin_console", "--config", str(cfg), "sender"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.parametrize("kill_at", [N // 3])
def test_kill_9_mid_alert_and_restart_loses_nothing(sqlite_db, sqlite_url, smsc, tmp_path, kill_at):
    net = make_network(sqlite_db, N)
    alert(sqlite_db, net, TEXT)
    proc = _start_sender(tmp_path, sqlite_url, smsc.port)
    try:
        assert smsc.wait_for(lambda: len(smsc.received) >= kill_at, 30), proc.stderr.read1(4000) if proc.poll() else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert open_count(sqlite_db) > 0  # really mid-alert
        proc = _start_sender(tmp_path, sqlite_url, smsc.port)
        assert wait_until(lambda: open_count(sqlite_db) == 0, 60), states(sqlite_db)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
    assert proc.returncode == 0
    with sqlite_db.read() as s:
        flags = dict(s.execute(select(Delivery.address, Delivery.possible_duplicate)).all())
    c = states(sqlite_db)
    assert c["submitted"] + c["delivered"] == N, c
    dupes = 0
    for i in range(N):
        got = smsc.messages_for(mobile(i))
        assert got and set(got) == {TEXT}, (i, got)  # every destination received, complete
        if len(got) > 1:
            dupes += 1
            assert flags[mobile(i)], f"{mobile(i)} received {len(got)} copies but is not flagged"
    # re-sent parts: at most the window (10), the acks not yet committed when the process died
    # included. Flagged rows: those plus at most one window of rows marked but not yet sent.
    # Never the whole claim or the whole alert.
    resent = len(smsc.received) - 2 * N  # TEXT is two parts
    assert 0 <= resent <= 10, resent
    assert dupes <= sum(flags.values()) <= 10 + 10


def test_sender_cli_keeps_running_with_the_message_on_a_config_error(sqlite_db, sqlite_url, smsc_factory, tmp_path):
    from bin_console.data.models import SenderStatus

    sim = smsc_factory(system_id="bincons", password="secret")  # training mode sends no password
    proc = _start_sender(tmp_path, sqlite_url, sim.port)

    def state() -> str | None:
        with sqlite_db.read() as s:
            # the SMS sender's row: `sender` runs both channels, the e-mail sender writes its own ("email")
            row = s.get(SenderStatus, "default")
            return row.state if row is not None else None

    try:
        assert wait_until(lambda: state() == "config_error", 30)
        assert proc.poll() is None  # still running: it retries slowly, it does not exit
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
    assert proc.returncode == 0
    assert b"SMSC refused the password for system_id bincons" in err


def test_sender_cli_stops_gracefully_on_sigterm(sqlite_db, sqlite_url, smsc, tmp_path):
    proc = _start_sender(tmp_path, sqlite_url, smsc.port)
    try:
        assert smsc.wait_for(lambda: smsc.bound_count == 1, 20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
    assert smsc.wait_for(lambda: smsc.bound_count == 0)  # it unbound / closed its session
