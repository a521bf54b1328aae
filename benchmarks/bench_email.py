"""E-mail throughput: the EmailSender end to end vs. a naive connect-per-message smtplib loop; pacing.

    .venv/bin/python benchmarks/bench_email.py [--n 10000] [--naive-n 2000] [--connections 2]
                                               [--rate 1200 --rate-n 300] [--ceiling-n 3000]

Against the training mail server (aiosmtpd, bin_console.training.smtp_sim) in its own process on loopback
(in-process, its asyncio thread and the sender would share one GIL, which measures Python).
* sender: create_alert(n e-mail recipients) -> every delivery 'submitted' in SQLite (claims,
  on-wire markers, answers persisted; one reused SMTP session per connection) — the product path.
* naive: for each message connect, EHLO, MAIL/RCPT/DATA, QUIT (smtplib.sendmail), no database.
* pacing: the sender with max_per_minute set; the relay's arrival times must be within 2 % of it.
* ceiling: what the relay itself can take: a bare smtplib loop over reused sessions, no database,
  the messages pre-rendered, with 1 and with `--connections` sessions.
Each line also gives the relay process's CPU time per message (from /proc): aiosmtpd is one asyncio
thread, so 1 / that is the most it takes on one free core whatever the client does, and the
ratio of its per-message cost naive vs. reused bounds what connection reuse can gain against it.
Target: sender >= 5x naive; pacing within 2 %. Numbers depend on the machine (2 shared cores here).
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bin_console.data.engine import Database  # noqa: E402
from bin_console.data.schema import upgrade  # noqa: E402
from mail_fixtures import make_email_network, smtp_settings  # noqa: E402

from bin_console.alerts.service import alert_progress, create_alert  # noqa: E402
from bin_console.channels.email.driver import EmailSender  # noqa: E402
from bin_console.channels.email.message import MessageTemplate, build_message  # noqa: E402
from bin_console.channels.email.smtp_link import wire_bytes  # noqa: E402
from bin_console.trust.actor import Actor  # noqa: E402

_SIM_CODE = """
import json, sys
from bin_console.training.smtp_sim import SmtpSim
sim = SmtpSim(keep=True)
sim.start()
print(sim.port, flush=True)
for line in sys.stdin:
    with sim.lock:
        times = [m.at for m in sim.received]
        sim.received.clear()
    print(json.dumps({"count": len(times), "first": min(times, default=0), "last": max(times, default=0)}), flush=True)
sim.stop()
"""
ACTOR = Actor(os_user="bench", host="bench")


class Relay:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SIM_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.port = int(self.proc.stdout.readline())

    def report(self) -> dict:
        """What arrived since the last report (and forget it)."""
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def cpu_s(self) -> float:
        """CPU seconds the relay process used so far (user + system)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


def _server_ms(relay: Relay, cpu0: float, n: int) -> str:
    return f"relay CPU {(relay.cpu_s() - cpu0) / n * 1e3:.2f} ms/msg"


def run_sender(db, relay: Relay, n: int, name: str, **settings_kw) -> tuple[float, dict]:
    net = make_email_network(db, n, name=name)
    sender = EmailSender(db, smtp_settings(relay, **settings_kw), password=None, poll_s=0.05)
    sender.start()
    try:
        t0 = time.perf_counter()
        aid = create_alert(
            db, network_ids=[net], text="Preventietip: sluit uw ramen", urgency="normal", actor=ACTOR, training=True
        )
        sender.wake()
        while not (p := alert_progress(db, aid)).done:
            time.sleep(0.2)
        elapsed = time.perf_counter() - t0
    finally:
        sender.stop()
    assert p.counts == {"submitted": n}, p.counts
    return elapsed, relay.report()


def run_naive(relay: Relay, n: int) -> float:
    cfg = smtp_settings(relay)
    t0 = time.perf_counter()
    for i in range(n):
        msg = build_message(
            cfg,
            alert_id=1,
            delivery_id=i,
            to_addr=f"naive{i}@example.be",
            text="Preventietip: sluit uw ramen",
            language="nl",
            token="t" * 43,
        )
        with smtplib.SMTP("127.0.0.1", relay.port, local_hostname="bench.invalid", timeout=10) as smtp:
            smtp.sendmail(cfg.from_addr, [f"naive{i}@example.be"], wire_bytes(msg))
    return time.perf_counter() - t0


def run_ceiling(relay: Relay, n: int, connections: int) -> float:
    """The relay's own limit: reused sessions, no database, messages rendered from a template."""
    cfg = smtp_settings(relay)
    template = MessageTemplate(cfg, alert_id=1, text="Preventietip: sluit uw ramen", language="nl")

    def loop(first: int, count: int) -> None:
        with smtplib.SMTP("127.0.0.1", relay.port, local_hostname="bench.invalid", timeout=10) as smtp:
            smtp.ehlo()
            for i in range(first, first + count):
                to = f"bare{i}@example.be"
                smtp.mail(cfg.from_addr)
                smtp.rcpt(to)
                smtp.data(template.render(delivery_id=i, to_addr=to, token="t" * 43))

    each = n // connections
    threads = [threading.Thread(target=loop, args=(k * each, each)) for k in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--naive-n", type=int, default=2000)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--rate", type=int, default=1200, help="max_per_minute for the pacing run")
    ap.add_argument("--rate-n", type=int, default=300)
    ap.add_argument("--ceiling-n", type=int, default=3000)
    args = ap.parse_args()
    relay = Relay()
    with tempfile.TemporaryDirectory() as d:
        db = Database.from_url(f"sqlite:///{d}/bench.db")
        upgrade(db, backup=False)
        try:
            cpu0 = relay.cpu_s()
            elapsed, _ = run_sender(db, relay, args.n, "Bench", connections=args.connections)
            sender_rate = args.n / elapsed
            print(
                f"sender   : {args.n} e-mails in {elapsed:.2f} s = {sender_rate:.0f} msg/s "
                f"(end to end, state persisted, {args.connections} reused session(s), SQLite); "
                + _server_ms(relay, cpu0, args.n)
            )
            cpu0 = relay.cpu_s()
            naive_s = run_naive(relay, args.naive_n)
            relay.report()
            naive_rate = args.naive_n / naive_s
            print(
                f"naive    : {args.naive_n} e-mails in {naive_s:.2f} s = {naive_rate:.0f} msg/s "
                "(smtplib connect per message, no database); " + _server_ms(relay, cpu0, args.naive_n)
            )
            print(f"ratio    : {sender_rate / naive_rate:.1f}x (target >= 5x, i.e. {5 * naive_rate:.0f} msg/s)")
            for k in sorted({1, args.connections}):
                cpu0 = relay.cpu_s()
                bare_s = run_ceiling(relay, args.ceiling_n, k)
                relay.report()
                print(
                    f"ceiling  : {args.ceiling_n} e-mails in {bare_s:.2f} s = {args.ceiling_n / bare_s:.0f} msg/s "
                    f"(bare smtplib, {k} reused session(s), no database); " + _server_ms(relay, cpu0, args.ceiling_n)
                )
            _, seen = run_sender(db, relay, args.rate_n, "Pace", max_per_minute=args.rate)
            measured = (seen["count"] - 1) / (seen["last"] - seen["first"]) * 60
            err = (measured - args.rate) / args.rate * 100
            print(
                f"pacing   : max_per_minute {args.rate}, {seen['count']} e-mails arrived at {measured:.1f}/min "
                f"({err:+.2f} %, target within 2 %)"
            )
        finally:
            db.dispose()
            relay.close()


if __name__ == "__main__":
    main()
