"""Blocking calls stay off the event loop: the embedded sender's start/stop, the import's file check."""

from __future__ import annotations

import threading

from alert_ui_helpers import (
    make_app,
    open_members,
    seed,
    wait_for,
)
from bin_console.screens.networks import NetworksScreen
from textual.widgets import Input, Static
from ui_helpers import wait_until


class SlowSender:
    """Stands in for SenderRunner: start() blocks like an outbox recovery waiting on a lock."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.threads: dict[str, str] = {}

    def start(self) -> None:
        self.threads["start"] = threading.current_thread().name
        self.started.set()
        self.release.wait(30)  # the test sets it (its finally too): a bound, not a delay

    def stop(self, timeout: float = 5.0) -> None:
        self.threads["stop"] = threading.current_thread().name

    def wake(self) -> None:
        pass


async def test_sender_start_and_stop_never_run_on_the_event_loop(sqlite_db, settings):
    seed(sqlite_db)
    sender = SlowSender()
    app = make_app(settings, sqlite_db, sender=sender)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            # not wait_for: its settle() would wait for the blocked start() worker to finish
            await wait_until(pilot, lambda: isinstance(app.screen, NetworksScreen), what="networks")
            # start() runs in a worker thread that on_mount only schedules: wait for it to be inside
            await wait_until(pilot, sender.started.is_set, what="start() under way")
            assert not sender.release.is_set()
            await pilot.press(*"kerk")  # answered while start() is still blocked
            assert app.screen.query_one("#search", Input).value == "kerk"
            sender.release.set()
    finally:
        sender.release.set()
    assert app.join_sender(5)
    assert sender.threads["start"] != "MainThread" and sender.threads["stop"] != "MainThread"


async def test_import_path_is_checked_in_the_worker(sqlite_db, settings, monkeypatch, tmp_path):
    import pathlib

    info = seed(sqlite_db)
    missing = str(tmp_path / "nope.csv")
    seen: list[str] = []
    real = pathlib.Path.is_file

    def is_file(self):
        if str(self) == missing:
            seen.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(pathlib.Path, "is_file", is_file)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_members(pilot, info["network_id"])
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: app.screen.query_one("#import-path", Input), what="path prompt")
        await pilot.press(*missing, "enter")
        status = app.screen.query_one("#import-status", Static)
        await wait_for(pilot, lambda: "No such file" in str(status.render()), what="missing file reported")
    assert seen and "MainThread" not in seen
