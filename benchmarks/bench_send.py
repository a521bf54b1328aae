"""Send throughput: the SenderRunner end to end vs. a naive smpplib loop vs. a bare windowed client.

    .venv/bin/python benchmarks/bench_send.py [--n 10000] [--latency 0 20] [--windows 10 50]
                                              [--pacing-tps 200 --pacing-n 2000] [--pg]
                                              [--throttle-tps 100 --throttle-n 2000]
                                              [--process-n 10000 --process-latency 20]

Against the training SMSC (SmscSim) on loopback, receipts off (they are a separate load).
* sender: create_alert(n recipients) -> every delivery 'submitted' in the database (from the
  confirm to the last submit_sm_resp, state persisted) — the product path.
* naive: one submit_sm, wait for its resp, next (what smpplib examples do).
* bare windowed: the same window as the sender, no database, responses read as they come.
* pacing: the sender with max_tps set; the measured rate must be within 2 % of it.
* throttle: an SMSC that throttles past --throttle-tps, the sender with max_tps above it (2.5x) and
  without max_tps: the accepted rate in steady state (after the SMSC's one-second burst credit and
  the first 3 s), the share of throttled answers and the rate the sender learnt.
* process: the whole `bin-console send --yes` process (start, plan, write, send, exit) for
  --process-n recipients at --process-latency ms, against the bare windowed loop (same window);
  and, for a console whose sender is already bound, the time from the confirmation (create_alert
  called) to the first submit_sm accepted by the SMSC.
Numbers depend on the machine; the client and the simulator (its own process) share its cores.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import smpplib.client  # noqa: E402
import smpplib.smpp  # noqa: E402
from bin_console.data.engine import Database  # noqa: E402
from bin_console.data.schema import upgrade  # noqa: E402

# The simulator runs in its own process: in-process, its threads and the sender's share one GIL
# and every round trip waits for a GIL switch (5 ms), which measures Python, not the sender.
_SIM_CODE = """
import sys
from bin_console.training.smsc_sim import SmscSim
sim = SmscSim(latency_ms=float(sys.argv[1]), throttle_tps=float(sys.argv[2]), receipts=False)
sim.start()
print(sim.port, flush=True)
for line in sys.stdin:  # when the first and the last submit_sm were accepted (time.monotonic())
    first, last = (sim.received[0].accepted_at, sim.received[-1].accepted_at) if sim.received else (-1, -1)
    print(first, len(sim.received), sim.throttled, last, flush=True)
sim.stop()
"""


class SimProcess:
    def __init__(self, latency_ms: float, throttle_tps: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SIM_CODE, str(latency_ms), str(throttle_tps)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.proc.stdout.readline())

    def first_accepted(self) -> tuple[float, int, int]:
        """(monotonic time of the first accepted submit_sm or -1, accepted, throttled)."""
        self.proc.stdin.write("first\n")
        self.proc.stdin.flush()
        at, n, throttled, _last = self.proc.stdout.readline().split()
        return float(at), int(n), int(throttled)

    def first_and_last(self) -> tuple[float, float]:
        """Monotonic times of the first and the last accepted submit_sm (-1 before any)."""
        self.proc.stdin.write("times\n")
        self.proc.stdin.flush()
        first, _n, _throttled, last = self.proc.stdout.readline().split()
        return float(first), float(last)

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
TEXT = "Politie: verdachte persoon gezien in de Kerkstraat. Blijf binnen en bel 101 bij info."


def _client(sim) -> smpplib.client.Client:
    c = smpplib.client.Client("127.0.0.1", sim.port, timeout=10, allow_unknown_opt_params=True)
    c.set_error_pdu_handler(lambda pdu: None)
    c.connect()
    c.bind_transceiver(system_id="bench", password="")
    return c


def _submit(c, i: int):
    return smpplib.smpp.make_pdu(
        "submit_sm",
        client=c,
        source_addr="POLITIE",
        source_addr_ton=5,
        source_addr_npi=0,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=f"32470{i:06d}",
        short_message=TEXT.encode("ascii"),
        registered_delivery=1,
    )


def naive(sim, n: int) -> float:
    c = _client(sim)
    t = time.perf_counter()
    for i in range(n):
        c.send_pdu(_submit(c, i))
        while c.read_pdu().command != "submit_sm_resp":
            pass
    dt = time.perf_counter() - t
    c.disconnect()
    return n / dt


def bare_windowed(sim, n: int, window: int) -> float:
    c = _client(sim)
    sock = c._socket
    t = time.perf_counter()
    sent = acked = 0
    outstanding: set[int] = set()
    while acked < n:
        burst = []
        while sent < n and len(outstanding) + len(burst) < window:
            p = _submit(c, sent)
            outstanding.add(p.sequence)
            burst.append(p.generate())
            sent += 1
        if burst:
            sock.sendall(b"".join(burst))
        select.select([sock], [], [], 5)
        while True:
            pdu = c.read_pdu()
            if pdu.command == "submit_sm_resp" and pdu.sequence in outstanding:
                outstanding.discard(pdu.sequence)
                acked += 1
            if not select.select([sock], [], [], 0)[0]:
                break
    dt = time.perf_counter() - t
    c.disconnect()
    return n / dt


def runner_rate(
    sim, n: int, window: int, url: str | None, *, max_tps: float = 0.0, resend_bound: int | None = None
) -> tuple[float, dict]:
    import sender_helpers as H

    tmp = tempfile.mkdtemp(prefix="bench-send-")
    db = Database.from_url(url or f"sqlite:///{tmp}/bench.db")
    upgrade(db, backup=False)
    net = H.make_network(db, n, name=f"Bench {time.time_ns()}")
    r = H.runner(db, sim, window=window, max_tps=max_tps, response_timeout=30.0, resend_bound=resend_bound)
    r.start()
    assert H.wait_until(lambda: r.state == "bound", 10), r.detail
    t = time.perf_counter()
    alert_id = H.alert(db, net, TEXT)
    r.wake()
    ok = H.wait_until(lambda: H.open_count(db, alert_id) == 0, 600, 0.01)
    dt = time.perf_counter() - t
    counts = H.states(db, alert_id)
    r.stop()
    db.dispose()
    if not ok or counts.get("submitted", 0) != n:
        raise SystemExit(f"sender did not finish: {dict(counts)}")
    return n / dt, dict(r.stats)


def throttled_rate(sim, n: int, max_tps: float, limit: float) -> tuple[float, float, float | None]:
    """(steady accepted parts/s, throttled share of submits, learnt rate) against a throttling SMSC."""
    import sender_helpers as H

    tmp = tempfile.mkdtemp(prefix="bench-throttle-")
    db = Database.from_url(f"sqlite:///{tmp}/bench.db")
    upgrade(db, backup=False)
    net = H.make_network(db, n, name=f"Throttle {time.time_ns()}")
    r = H.runner(db, sim, window=50, max_tps=max_tps, response_timeout=30.0)
    r.start()
    assert H.wait_until(lambda: r.state == "bound", 10), r.detail
    alert_id = H.alert(db, net, TEXT)
    r.wake()
    samples: list[tuple[float, int]] = []
    t0 = time.monotonic()
    while H.open_count(db, alert_id):
        samples.append((time.monotonic() - t0, r.stats["parts_acked"]))
        time.sleep(0.25)
    samples.append((time.monotonic() - t0, r.stats["parts_acked"]))
    stats, rate = dict(r.stats), r.rate_tps
    r.stop()
    db.dispose()
    # steady state: from 3 s on (past the SMSC's one second of burst credit and the convergence)
    start = next(((t, a) for t, a in samples if t >= 3.0), samples[0])
    end = samples[-1]
    steady = (end[1] - start[1]) / max(1e-9, end[0] - start[0])
    return steady, stats["throttled"] / max(1, stats["parts_sent"]), rate


def send_process(
    n: int, latency: float, window: int, rounds: int
) -> tuple[list[float], list[float], list[tuple[float, float, float]]]:
    """Per round: seconds for the whole `bin-console send --yes` process (a new alert to the same n
    members each round), seconds for the bare windowed loop run right after it (the two alternate,
    so a busy moment of the machine hits both), and where the process's time went: start to the
    first accepted submit_sm, first to last, last to the process's exit."""
    import sender_helpers as H

    tmp = Path(tempfile.mkdtemp(prefix="bench-process-"))
    url = f"sqlite:///{tmp}/bench.db"
    db = Database.from_url(url)
    upgrade(db, backup=False)
    H.make_network(db, n, name="Bench proces")
    db.dispose()
    env = dict(os.environ)
    for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp / var.lower())
    cmd = [sys.executable, "-m", "bin_console", "--config", str(tmp / "config.toml"), "send"]
    process, bare, splits = [], [], []
    for _round in range(rounds):
        with SimProcess(latency) as sim:
            (tmp / "config.toml").write_text(
                f'[database]\nurl = "{url}"\n\n[smpp]\nport = {sim.port}\nsystem_id = "bench"\ntraining = true\n'
                f"window = {window}\nmax_tps = 0.0\nresponse_timeout = 30.0\n"
                "\n[smtp]\ntraining = true\n"  # both channels in training, or the config is refused
            )
            t = time.monotonic()  # the SMSC process stamps its submits with the same clock
            done = subprocess.run(
                [*cmd, "--network", "Bench proces", "--text", TEXT, "--yes"],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            ended = time.monotonic()
            if done.returncode != 0:
                raise SystemExit(f"bin-console send failed ({done.returncode}): {done.stderr[-2000:]}")
            first, last = sim.first_and_last()
            process.append(ended - t)
            splits.append((first - t, last - first, ended - last))
        with SimProcess(latency) as sim:
            bare.append(n / bare_windowed(sim, n, window))
    return process, bare, splits


def confirm_to_first_submit(latency: float, n: int, window: int) -> float:
    """Seconds from create_alert (the dispatcher's confirmation) to the first submit_sm the SMSC
    accepted, with the console's sender already bound."""
    import sender_helpers as H

    tmp = tempfile.mkdtemp(prefix="bench-first-")
    db = Database.from_url(f"sqlite:///{tmp}/bench.db")
    upgrade(db, backup=False)
    net = H.make_network(db, n, name="Bench eerste")
    with SimProcess(latency) as sim:
        r = H.runner(db, sim, window=window, max_tps=0.0, response_timeout=30.0, poll_interval=0.5)
        r.start()
        assert H.wait_until(lambda: r.state == "bound", 10), r.detail
        t = time.monotonic()
        H.alert(db, net, TEXT)
        r.wake()  # what the console does after create_alert
        while (first := sim.first_accepted())[0] < 0:
            time.sleep(0.005)
        r.stop()
    db.dispose()
    return first[0] - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--naive-n", type=int, default=None, help="messages for the naive loop (default: n, 1000 at >0 ms)")
    ap.add_argument("--latency", type=float, nargs="*", default=[0.0, 20.0], help="none: skip the table")
    ap.add_argument("--windows", type=int, nargs="+", default=[10, 50])
    ap.add_argument("--pacing-tps", type=float, default=200.0)
    ap.add_argument("--pacing-n", type=int, default=2000)
    ap.add_argument("--pg", action="store_true", help="PostgreSQL (BIN_CONSOLE_TEST_PG or the local test db)")
    ap.add_argument("--throttle-tps", type=float, default=100.0, help="0: skip the throttle figures")
    ap.add_argument("--throttle-n", type=int, default=2000)
    ap.add_argument("--process-n", type=int, default=10_000, help="0: skip the whole-process figures")
    ap.add_argument("--process-latency", type=float, default=20.0)
    ap.add_argument("--process-window", type=int, default=50)
    ap.add_argument("--process-rounds", type=int, default=3, help="whole-process runs (the median is shown)")
    args = ap.parse_args()
    url = None
    schema = None
    if args.pg:  # a throwaway schema, dropped at the end: the shared test database stays clean
        import uuid

        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f"CREATE SCHEMA {schema}")
        base = os.environ.get("BIN_CONSOLE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        url = f"{base}?options=-csearch_path%3D{schema}"
    try:
        return _run(args, url)
    finally:
        if schema:
            with psycopg.connect(PG_DSN, autocommit=True) as c:
                c.execute(f"DROP SCHEMA {schema} CASCADE")


def _run(args, url: str | None) -> int:
    print(f"{args.n} recipients, 1 part each, {'PostgreSQL' if url else 'SQLite'}; receipts off\n")
    head = ("latency", "window", "naive/s", "bare/s", "sender/s", "vs naive", "bare/sender", "bound 4w/s")
    print("{:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>11} {:>10}".format(*head))
    for lat in args.latency:
        naive_n = args.naive_n or (args.n if lat == 0 else min(args.n, 1000))
        with SimProcess(lat) as sim:
            nv = naive(sim, naive_n)
        for w in args.windows:
            with SimProcess(lat) as sim:
                bare = bare_windowed(sim, args.n, w)
            with SimProcess(lat) as sim:
                rate, _stats = runner_rate(sim, args.n, w, url)
            with SimProcess(lat) as sim:  # re-sends after a crash bounded by 4 windows instead of one
                loose, _stats = runner_rate(sim, args.n, w, url, resend_bound=4 * w)
            print(
                f"{lat:>6g}ms {w:>6} {nv:>9.0f} {bare:>9.0f} {rate:>9.0f} {rate / nv:>8.1f}x {bare / rate:>10.2f}x"
                f" {loose:>10.0f}"
            )
    if args.pacing_tps:
        with SimProcess(0) as sim:
            rate, _ = runner_rate(sim, args.pacing_n, 10, url, max_tps=args.pacing_tps)
        err = (rate - args.pacing_tps) / args.pacing_tps * 100
        print(f"\npacing: max_tps={args.pacing_tps:g}, {args.pacing_n} parts -> {rate:.1f}/s ({err:+.2f} %)")
    if args.throttle_tps:
        limit = args.throttle_tps
        print(f"\nthrottle: SMSC throttles past {limit:g} submits/s, window 50, {args.throttle_n} parts")
        for max_tps in (2.5 * limit, 0.0):
            with SimProcess(0, limit) as sim:
                steady, share, learnt = throttled_rate(sim, args.throttle_n, max_tps, limit)
            label = f"max_tps={max_tps:g}" if max_tps else "no max_tps"
            print(
                f"  {label:>14}: steady {steady:.1f}/s = {100 * steady / limit:.0f} % of the limit, "
                f"throttled {100 * share:.1f} % of submits, learnt rate {learnt} parts/s"
            )
    if args.process_n:
        n, lat, w = args.process_n, args.process_latency, args.process_window
        process, bare, splits = send_process(n, lat, w, args.process_rounds)
        process_s, bare_s = statistics.median(process), statistics.median(bare)
        to_first, sending, to_exit = (statistics.median(x) for x in zip(*splits, strict=True))
        ratio = process_s / bare_s
        print(
            f"\nprocess: `bin-console send --yes`, {n} SMS at {lat:g} ms, window {w}, median of "
            f"{len(process)} rounds: {process_s:.2f} s; bare windowed loop {bare_s:.2f} s; ratio {ratio:.2f}x "
            f"(target <= 1.15x: {'met' if ratio <= 1.15 else 'MISSED'})\n"
            f"  each round, process / bare: "
            + ", ".join(f"{p:.2f}/{b:.2f}" for p, b in zip(process, bare, strict=True))
            + f"\n  start -> first submit_sm accepted {to_first:.2f} s, first -> last {sending:.2f} s "
            f"({n / sending:.0f}/s), last -> exit {to_exit:.2f} s"
        )
        first = confirm_to_first_submit(lat, n, w)
        print(f"confirmation -> first submit_sm accepted ({n} recipients, sender bound): {1000 * first:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
