"""TUI benchmark (not a test): cold start to first paint, and keystroke-to-repaint latency of the
network search at national size and of the member filter on a 50,000-member network.

    .venv/bin/python benchmarks/bench_tui.py [--db /tmp/bench_tui_national.db] [--runs 5]

- Cold start: the real program spawned in tmux (80x24, TERM=linux) on the national database, timed
  from spawn until the start screen's text is on the tmux screen (capture-pane polled every 5 ms).
- Keystroke latency: Pilot, headless 80x24. A key event is posted and timed until the screen has
  shown the results *for the text typed so far* and the next frame was rendered (call_after_refresh
  after the screen accepted the result); stale results for earlier prefixes do not count.
Targets: cold start <= 1.0 s; keystroke-to-repaint <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

NATIONAL = {"zones": 178, "networks": 1_600, "streets_per": 20, "members": 230_000, "big": 50_000}
STREET_WORDS = [
    "Kerk",
    "Molen",
    "Dorps",
    "Stations",
    "School",
    "Kapel",
    "Beek",
    "Linden",
    "Eiken",
    "Berken",
    "Veld",
    "Heide",
    "Bos",
    "Hof",
    "Brug",
    "Markt",
    "Nieuw",
    "Oude",
    "Kasteel",
    "Abdij",
    "Klooster",
    "Smis",
    "Bakkers",
    "Weverij",
    "Zand",
    "Steen",
    "Koning",
    "Prinses",
    "Sint-Jans",
    "Sint-Pieters",
    "Rue de l'Église",
    "Rue du Moulin",
    "Rue de la Gare",
    "Chaussée de",
    "Avenue des",
    "Place",
]
STREET_TAILS = ["straat", "laan", "weg", "plein", "dreef", "steenweg", "lei", "hoek", "pad", "kouter"]
TOWNS = [
    "Gent",
    "Antwerpen",
    "Leuven",
    "Brugge",
    "Hasselt",
    "Mechelen",
    "Aalst",
    "Kortrijk",
    "Namur",
    "Liège",
    "Mons",
    "Charleroi",
    "Eupen",
    "Wavre",
    "Ieper",
    "Lier",
    "Geel",
    "Tienen",
    "Ninove",
    "Lokeren",
]
FIRST = ["Jan", "An", "Piet", "Els", "Luc", "Marie", "Sofie", "Tom", "Lotte", "Ahmed", "Fatima", "Claude", "Anne"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Dubois", "Lambert"]


def build_national(path: Path, seed: int = 7) -> int:
    """A national-size directory with bulk inserts (~1 min); returns the id of the 50,000-member network."""
    from bin_console.data.engine import Database
    from bin_console.data.keys import fold
    from bin_console.data.models import Member, Network, NetworkStreet, PoliceZone, utcnow
    from bin_console.data.schema import upgrade
    from bin_console.data.search_index import rebuild_terms
    from sqlalchemy import insert

    rng = random.Random(seed)
    db = Database.from_url(f"sqlite:///{path}")
    upgrade(db, backup=False)
    now = utcnow()
    with db.write() as s:
        s.execute(insert(PoliceZone), [{"code": f"{5300 + i}", "name": f"PZ {i}"} for i in range(NATIONAL["zones"])])
        nets, streets = [], []
        for i in range(NATIONAL["networks"]):
            town = rng.choice(TOWNS)
            name = f"BIN {town} {rng.choice(STREET_WORDS)}{rng.choice(STREET_TAILS)} {i}"
            nets.append(
                {
                    "id": i + 1,
                    "zone_id": 1 + i % NATIONAL["zones"],
                    "name": name,
                    "name_key": fold(name),
                    "kind": "BIN" if i % 7 else "ZBIN",
                    "municipality": town,
                    "status": "active",
                    "coordinator_name": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            seen = set()
            for _ in range(NATIONAL["streets_per"]):
                st = f"{rng.choice(STREET_WORDS)}{rng.choice(STREET_TAILS)}"
                if st in seen:
                    continue
                seen.add(st)
                streets.append(
                    {
                        "network_id": i + 1,
                        "street": st,
                        "street_key": fold(st),
                        "postcode": str(1000 + rng.randrange(8900)),
                        "municipality": town,
                    }
                )
        s.execute(insert(Network), nets)
        s.execute(insert(NetworkStreet), streets)
        rebuild_terms(s, range(1, NATIONAL["networks"] + 1))
    big = 1
    rest = NATIONAL["members"] - NATIONAL["big"]
    batch: list[dict] = []
    n = 0
    with db.write() as s:
        for k in range(NATIONAL["members"]):
            nid = big if k < NATIONAL["big"] else 2 + (k - NATIONAL["big"]) * (NATIONAL["networks"] - 1) // rest
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {k}"
            st = f"{rng.choice(STREET_WORDS)}{rng.choice(STREET_TAILS)}"
            batch.append(
                {
                    "network_id": nid,
                    "name": name,
                    "name_key": fold(name),
                    "mobile": f"+3247{k:07d}",
                    "street": st,
                    "street_key": fold(st),
                    "house_number": str(1 + k % 200),
                    "postcode": "9000",
                    "municipality": "Gent",
                    "language": "nl",
                    "role": "member",
                    "status": "active",
                    "sms_opt_out": False,
                    "email_opt_out": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            n += 1
            if len(batch) == 10_000:
                s.execute(insert(Member), batch)
                batch = []
        if batch:
            s.execute(insert(Member), batch)
    db.dispose()
    return big


# --- cold start -----------------------------------------------------------------------------------


def cold_start(db_path: Path, runs: int) -> list[float]:
    from bin_console.training.smsc_sim import SmscSim

    if not shutil.which("tmux"):
        print("cold start: tmux not installed, skipped")
        return []
    sim = SmscSim("127.0.0.1", 0)
    sim.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    cfg = tmp / "config.toml"
    cfg.write_text(f'[smpp]\nhost = "127.0.0.1"\nport = {sim.port}\nsystem_id = "training"\ntraining = true\n')
    exe = str(Path(sys.executable).with_name("bin-console"))
    times: list[float] = []
    try:
        for _ in range(runs):
            sock = f"bench-tui-{uuid.uuid4().hex[:8]}"
            env = f"env -i PATH={shlex.quote(os.environ['PATH'])} HOME={tmp} TERM=linux LANG=C.UTF-8"
            cmd = f"{env} {exe} --config {cfg} --db sqlite:///{db_path} console --no-blink; sleep 600"
            t0 = time.perf_counter()
            subprocess.run(
                ["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", cmd], check=True
            )
            try:
                deadline = t0 + 30
                while time.perf_counter() < deadline:
                    out = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p"], capture_output=True, text=True)
                    if "Type a network name" in out.stdout:
                        times.append(time.perf_counter() - t0)
                        break
                    time.sleep(0.005)
                else:
                    print("cold start: start screen never appeared")
            finally:
                subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return times


# --- keystroke latency (Pilot) --------------------------------------------------------------------


async def _type_and_time(app, pilot, text: str, expect) -> list[float]:
    """Post each character; time until the screen accepted the result for the text so far and the
    next frame was rendered. `expect(app, typed)` installs a one-shot hook returning an asyncio.Event."""
    from textual import events

    out = []
    typed = ""
    for ch in text:
        typed += ch
        done = expect(typed)
        t0 = time.perf_counter()
        app.post_message(events.Key(ch, ch))
        await asyncio.wait_for(done.wait(), 10)
        out.append(time.perf_counter() - t0)
    return out


def keystroke_latency(db_path: Path, big_id: int) -> tuple[list[float], list[float]]:
    from bin_console.data.engine import Database
    from bin_console.screens.members import MembersScreen
    from bin_console.screens.networks import NetworksScreen
    from bin_console.screens.target import NetworkRef

    from bin_console.app import BinConsoleApp
    from bin_console.config import Settings

    db = Database.from_url(f"sqlite:///{db_path}")
    settings = Settings(db_url=f"sqlite:///{db_path}")
    settings.cursor_blink = False
    waits: dict[str, asyncio.Event] = {}

    orig_net = NetworksScreen._show_result
    orig_mem = MembersScreen._show

    def net_hook(self, result):
        orig_net(self, result)
        ev = waits.get(("net", result.query))
        if ev is not None and getattr(self, "_shown", None) is result:
            self.call_after_refresh(ev.set)

    def mem_hook(self, result, keep_row=None):
        orig_mem(self, result, keep_row)
        ev = waits.get(("mem", result.request.text))
        if ev is not None and getattr(self, "_result", None) is result:
            self.call_after_refresh(ev.set)

    NetworksScreen._show_result = net_hook
    MembersScreen._show = mem_hook

    def expect(kind):
        def make(typed):
            ev = asyncio.Event()
            waits[(kind, typed)] = ev
            return ev

        return make

    async def run() -> tuple[list[float], list[float]]:
        app = BinConsoleApp(settings, db, training=True, poll_status=False)
        net: list[float] = []
        mem: list[float] = []
        async with app.run_test(size=(80, 24)) as pilot:
            while not isinstance(app.screen, NetworksScreen):
                await pilot.pause(0.02)
            await pilot.pause(0.2)
            for q in ["kerkstraat", "sint-pieters", "9000", "gent molen", "liege"]:
                net += await _type_and_time(app, pilot, q, expect("net"))
                await pilot.press(*["backspace"] * len(q))
                await pilot.pause(0.1)
            app.open_members(NetworkRef(big_id))
            while not isinstance(app.screen, MembersScreen):
                await pilot.pause(0.02)
            await pilot.pause(0.5)
            for q in ["jan", "peeters", "molenstraat", "0471"]:
                mem += await _type_and_time(app, pilot, q, expect("mem"))
                await pilot.press(*["backspace"] * len(q))
                await pilot.pause(0.1)
        return net, mem

    try:
        return asyncio.run(run())
    finally:
        NetworksScreen._show_result = orig_net
        MembersScreen._show = orig_mem
        db.dispose()


def query_only(db_path: Path, big_id: int) -> tuple[list[float], list[float]]:
    """The same prefixes straight through the data layer: how much of the latency is the query."""
    from bin_console.data.engine import Database
    from bin_console.data.members import page_members
    from bin_console.data.networks import search_networks

    db = Database.from_url(f"sqlite:///{db_path}")
    net: list[float] = []
    mem: list[float] = []
    try:
        for q in ["kerkstraat", "sint-pieters", "9000", "gent molen", "liege"]:
            for i in range(1, len(q) + 1):
                t = time.perf_counter()
                with db.read() as s:
                    search_networks(s, q[:i], limit=50)
                net.append(time.perf_counter() - t)
        for q in ["jan", "peeters", "molenstraat", "0471"]:
            for i in range(1, len(q) + 1):
                t = time.perf_counter()
                with db.read() as s:
                    page_members(s, big_id, text=q[:i], limit=100)
                mem.append(time.perf_counter() - t)
    finally:
        db.dispose()
    return net, mem


def describe(label: str, xs: list[float], target: float) -> None:
    if not xs:
        return
    xs_ms = sorted(x * 1000 for x in xs)
    p95 = xs_ms[min(len(xs_ms) - 1, int(round(0.95 * (len(xs_ms) - 1))))]
    verdict = "OK" if statistics.median(xs_ms) <= target * 1000 else "OVER TARGET"
    print(
        f"{label}: n={len(xs_ms)} median {statistics.median(xs_ms):.0f} ms, p95 {p95:.0f} ms, "
        f"max {xs_ms[-1]:.0f} ms (target {target * 1000:.0f} ms: {verdict})"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default="/tmp/bench_tui_national.db", help="national DB (built if missing)")
    p.add_argument("--runs", type=int, default=5, help="cold starts")
    a = p.parse_args()
    db_path = Path(a.db)
    if not db_path.exists():
        t = time.perf_counter()
        print(f"building national directory in {db_path} ...", flush=True)
        build_national(db_path)
        print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)
    big_id = 1
    starts = cold_start(db_path, a.runs)
    describe("cold start to first paint (tmux, TERM=linux, national DB)", starts, 1.0)
    net, mem = keystroke_latency(db_path, big_id)
    describe("network search keystroke-to-repaint (1,600 networks, 32k streets)", net, 0.050)
    describe("member filter keystroke-to-repaint (50,000-member network)", mem, 0.050)
    qn, qm = query_only(db_path, big_id)
    describe("  of which: search_networks query alone", qn, 0.050)
    describe("  of which: page_members query alone", qm, 0.050)
    print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
