"""Pilot helpers for the TUI tests: wait for workers (not for idle), read the screen as text."""

from __future__ import annotations

import asyncio
import contextlib
import time

from textual.worker import WorkerCancelled

NEVER_ENDING = {"status-poller"}


async def settle(app, pilot, rounds: int = 3) -> None:
    """Wait for every finite worker (pollers excluded), then let posted messages be handled."""
    for _ in range(rounds):
        workers = [w for w in app.workers if w.group not in NEVER_ENDING and not w.is_finished]
        if workers:
            with contextlib.suppress(WorkerCancelled):
                await app.workers.wait_for_complete(workers)
        await pilot.pause()


async def wait_until(pilot, predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
        await asyncio.sleep(0)


def screen_text(app) -> str:
    """What the terminal shows, as plain text lines (the compositor's strips)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)
