"""Pilot helpers for the TUI tests: wait for workers (not for idle), read the screen as text."""

from __future__ import annotations

import asyncio
import contextlib
import time

from textual.worker import WorkerCancelled

NEVER_ENDING = {"status-poller"}


async def typing_paused(app, pilot, timeout: float = 10.0) -> None:
    """Wait until no typed search waits for typing to pause (the search screen's debounce): the
    search has then started, and the workers below include it."""
    from bin_console.screens.networks import NetworksScreen

    deadline = time.monotonic() + timeout
    while any(isinstance(s, NetworksScreen) and s.search_pending for s in app.screen_stack):
        if time.monotonic() > deadline:
            raise AssertionError("the typed search did not start")
        await pilot.pause(0.02)


async def settle(app, pilot, rounds: int = 3) -> None:
    """Wait for every finite worker (pollers excluded), then let posted messages be handled."""
    await typing_paused(app, pilot)
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


def target_ids(app) -> list[int]:
    """The network ids F3/F4 would act on now (what the top screen shows)."""
    return [ref.id for ref in app.screen_target()]


def make_app(db, *, training: bool = False, **settings_kw):
    from bin_console.app import BinConsoleApp
    from bin_console.config import Settings

    settings = Settings(db_url=str(db.url), cursor_blink=False, **settings_kw)
    return BinConsoleApp(settings, db, training=training, poll_status=False)


def key_event(key: str):
    """An events.Key as the driver would make it (printable keys carry their character)."""
    from textual import events

    named = {"enter": "\r", "space": " ", "tab": "\t"}
    if len(key) == 1:
        return events.Key(key, key)
    return events.Key(key, named.get(key))


def burst(app, keys) -> None:
    """Post key events back-to-back with no await in between: a paste / laggy SSH link."""
    for key in keys:
        app.post_message(key_event(key))
