"""Two live `bin-console sender` processes in their own PID namespaces (containers on one host).

Both have the same host name and the same PID (1 in their namespace), the case where owner ids
made of host:pid collided and a sender requeued the other's in-flight rows (members got the SMS
twice). Owner ids are unique per start and rows change hands only after an unrenewed lease, so
every member gets exactly one copy. Needs `unshare` and the right to make namespaces (root).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter

import pytest
from bin_console.data.models import Delivery
from sender_helpers import alert, make_network, mobile, open_count, states, wait_until
from sqlalchemy import func, select

TEXT = "Buurtinformatienetwerk: verdachte wagen gezien in de Kerkstraat, nummerplaat onbekend. Bel 101."
N = 1200


def _unshare_reason() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, text=True, timeout=10
    )
    if probe.returncode != 0:
        return f"unshare --pid is not permitted here: {probe.stderr.strip()[:200]}"
    return None


def _start_in_namespace(tmp_path, name: str, url: str, port: int) -> subprocess.Popen:
    home = tmp_path / name
    home.mkdir()
    cfg = home / "config.toml"
    cfg.write_text(
        f'[database]\nurl = "{url}"\n\n[smpp]\nport = {port}\nsystem_id = "bincons"\ntraining = true\n'
        # paced, so the alert lasts long enough (8 s for one sender) for both to start and compete
        "window = 10\nmax_tps = 150.0\nresponse_timeout = 3.0\nreconnect_max = 0.5\nconnect_timeout = 2.0\n"
        "[smtp]\ntraining = true\n"
    )
    env = dict(os.environ)
    for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[var] = str(home / var.lower())
    cmd = [sys.executable, "-m", "bin_console", "--config", str(cfg), "sender"]
    return subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", *cmd],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the sender inside is reached by killpg
    )


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the group we started (unshare and the sender it forked), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def test_two_senders_in_separate_pid_namespaces_send_each_member_once(sqlite_db, sqlite_url, smsc_factory, tmp_path):
    reason = _unshare_reason()
    if reason:
        pytest.skip(reason)
    smsc = smsc_factory(latency_ms=5.0)
    net = make_network(sqlite_db, N)
    alert(sqlite_db, net, TEXT)
    # started together: whichever binds second starts while the first holds rows in flight
    procs = [_start_in_namespace(tmp_path, name, sqlite_url, smsc.port) for name in ("a", "b")]
    try:
        assert wait_until(lambda: open_count(sqlite_db) == 0, 90), states(sqlite_db)
        with sqlite_db.read() as s:
            owners = s.execute(select(func.count(func.distinct(Delivery.claimed_by)))).scalar()
        assert owners == 0  # every row settled, none left leased
    finally:
        for proc in procs:
            _stop(proc)
    copies = {i: len(smsc.messages_for(mobile(i))) for i in range(N)}
    assert [i for i, n in copies.items() if n != 1] == [], "members without exactly one copy"
    assert len(smsc.received) == N  # not one part re-sent
    per_sender = Counter(p.peer_port for p in smsc.received)
    assert len(per_sender) == 2, per_sender  # both really sent part of the alert
    with sqlite_db.read() as s:
        assert s.execute(select(func.count()).where(Delivery.possible_duplicate.is_(True))).scalar() == 0
    assert all(p.returncode == 0 for p in procs)
