"""Write the README's screenshots (docs/screenshots/*.svg) from the console itself, at 80x24.

It builds the demo database, starts the training SMSC on loopback and the embedded sender, as
`bin-console demo` does, then drives the console headless with the keyboard: the start screen
with a street typed, the compose screen with an alert written, and the delivery monitor once the
training SMSC has answered. Nothing leaves the machine.

    .venv/bin/python scripts/readme_screenshots.py [--out docs/screenshots]

Run it after a change to a screen, and commit the SVGs with the change.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bin_console.data.engine import Database
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmSendModal
from bin_console.screens.monitor import MonitorScreen
from bin_console.screens.network import NetworkScreen
from bin_console.screens.networks import NetworksScreen
from textual.pilot import Pilot
from textual.widgets import TextArea

from bin_console.app import BinConsoleApp
from bin_console.config import Settings
from bin_console.demo import SIM_UNDELIVERABLE, create_demo_db
from bin_console.sender import SenderRunner
from bin_console.smsc_sim import SmscSim

SIZE = (80, 24)
STREET = "kerkstraat"
ALERT = (
    "POLITIE: inbraak bezig in de Kerkstraat ter hoogte van nr 12. Blijf binnen, doe de deur niet "
    "open en bel 101 als u iets ziet."
)
DEADLINE_S = 60.0


async def wait_for(pilot: Pilot, what: str, ready: Callable[[], object]) -> None:
    """Poll (the sender and the searches run in threads) until ``ready()`` or the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"readme_screenshots: timed out waiting for {what}")
        await pilot.pause(0.05)


async def drive(app: BinConsoleApp, out: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, "the start screen", lambda: isinstance(app.screen, NetworksScreen))
        await pilot.press(*STREET)
        await wait_for(pilot, "search results", lambda: app.screen.query_one("#results").row_count > 0)
        await pilot.pause()
        app.save_screenshot("start.svg", str(out))

        await pilot.press("enter")
        await wait_for(pilot, "the network", lambda: isinstance(app.screen, NetworkScreen))
        await pilot.press("f4")
        await wait_for(pilot, "compose", lambda: isinstance(app.screen, ComposeScreen))
        compose = app.screen
        compose.query_one("#body", TextArea).load_text(ALERT)
        await wait_for(pilot, "the recipient plan", lambda: compose.plan is not None)
        await pilot.pause()
        app.save_screenshot("compose.svg", str(out))

        await pilot.press("f5")
        await wait_for(pilot, "the confirm window", lambda: isinstance(app.screen, ConfirmSendModal))
        modal = app.screen
        await wait_for(pilot, "the confirm window to arm", lambda: modal.armed)
        await pilot.press("f5")
        await wait_for(pilot, "the monitor", lambda: isinstance(app.screen, MonitorScreen))
        monitor = app.screen
        await wait_for(pilot, "every message sent", lambda: monitor.progress is not None and monitor.progress.done)
        await wait_for(pilot, "the receipts", lambda: monitor.progress.counts.get("submitted", 0) == 0)
        await pilot.pause()
        app.save_screenshot("monitor.svg", str(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bin-console-shots-") as folder:
        url, _counts = create_demo_db(folder)
        sim = SmscSim(port=0, undeliverable=SIM_UNDELIVERABLE)
        sim.start()
        db = Database.from_url(url)
        sender = None
        try:
            settings = Settings(db_url=url, cursor_blink=False, ui_theme="textual-dark")
            settings.smpp = dataclasses.replace(
                settings.smpp, host="127.0.0.1", port=sim.port, system_id="training", training=True, sender="POLITIE"
            )
            sender = SenderRunner(db, settings.smpp, password=None)
            app = BinConsoleApp(settings, db, sender=sender, training=True)
            asyncio.run(drive(app, args.out))
        finally:
            if sender is not None:
                sender.stop()
            sim.stop()
            db.dispose()
    for name in ("start.svg", "compose.svg", "monitor.svg"):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
