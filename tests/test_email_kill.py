"""kill -9 of `bin-console sender --channel email` in the middle of an e-mail alert loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
from bin_console.data.models import Delivery
from mail_fixtures import email_of, make_email_network, smtp_settings, wait_until
from sqlalchemy import select
from test_email_send import _run, _send

from bin_console.channels.email.driver import MARK_CHUNK

# (max_per_minute, members, at most flagged). Flagged after a kill: rows marked on the wire and not
# answered, and rows accepted whose ack was not stored yet. Rows are marked a chunk (MARK_CHUNK) at a
# time, the next one when half of the last is sent (at most a chunk and a half marked ahead), and
# the answers go to the writer every chunk (at most a chunk unstored, one more in the commit under
# way): three chunks, 96, whatever the session holds (before: a batch and a half, 192).
# Rate limited a session holds a second's worth (1200/min: 20), all of it marked.
CASES = [(1200, 40, 20), (0, 600, 3 * MARK_CHUNK)]


@pytest.mark.parametrize(("rate", "N", "bound"), CASES, ids=["1200-per-min", "unlimited"])
def test_kill_9_mid_alert_loses_nothing_and_every_duplicate_was_flagged(sqlite_db, smtp_sim, tmp_path, rate, N, bound):
    db = sqlite_db
    net = make_email_network(db, N)
    alert_id = _send(db, net)
    conf = tmp_path / "c.toml"
    conf.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_sim.port}\nsecurity = "none"\ntraining = true\n'
        f"max_per_minute = {rate}\n"  # 1200: 20 a second; both: the kill lands mid-alert
        # lease = max(12 s, 2 x timeout): the killed sender's rows come back to the next sender
        # once that lease ran out unrenewed (outbox.claim), never earlier
        "timeout = 3\n"
        "[smpp]\ntraining = true\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bin_console",
            "--config",
            str(conf),
            "--db",
            str(db.engine.url),
            "sender",
            "--channel",
            "email",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: smtp_sim.count >= N // 4 or proc.poll() is not None, 60, "the sender to get going")
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stderr.close()
    before = smtp_sim.count
    assert 0 < before < N
    p = _run(db, smtp_settings(smtp_sim), alert_id)  # a new sender recovers the claimed rows
    assert p.counts == {"submitted": N}
    copies = Counter(m.rcpt_tos[0] for m in smtp_sim.received)
    assert set(copies) == {email_of(i) for i in range(N)}  # nobody lost
    with db.read() as s:
        flagged = set(s.scalars(select(Delivery.address).where(Delivery.possible_duplicate.is_(True))))
    twice = {a for a, n in copies.items() if n > 1}
    assert twice <= flagged  # every real duplicate was flagged beforehand
    assert len(flagged) <= bound, f"{len(flagged)} flagged"
