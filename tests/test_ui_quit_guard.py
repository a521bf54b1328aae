"""Ctrl+Q asks while an alert may still be in flight: while its rows are being written, from a fresh read
of the queue, never cleared by the monitor, and a typed-ahead `y` never quits."""

from __future__ import annotations

import threading

from alert_ui_helpers import (
    ACTOR,
    make_app,
    notes,
    open_compose,
    seed,
    settle,
    wait_for,
)
from bin_console.screens.confirm import ConfirmSendModal
from bin_console.screens.monitor import MonitorScreen
from bin_console.screens.quit_confirm import QuitConfirmModal
from ui_helpers import burst

from bin_console.alerts import service as alerts


async def test_ctrl_q_asks_while_the_confirmed_alert_is_still_being_written(sqlite_db, settings, monkeypatch):
    info = seed(sqlite_db)
    gate, entered = threading.Event(), threading.Event()
    real = alerts.create_alert

    def slow_create(*args, **kwargs):
        entered.set()
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(alerts, "create_alert", slow_create)
    app = make_app(settings, sqlite_db)
    try:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await open_compose(pilot, info["network_id"])
            await pilot.press(*"Brand Kerkstraat", "f5")
            modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
            await wait_for(pilot, lambda: modal.armed, what="armed")
            await pilot.press("f5")
            await wait_for(pilot, entered.is_set, what="create_alert running")
            assert app.sending is False and app.pending_creates == 1
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="quit question")
            assert app.is_running
            await pilot.press("escape")  # stay
            gate.set()
            await wait_for(pilot, lambda: app.sending and app.pending_creates == 0, what="alert created")
            assert "queued" in notes(app)
    finally:
        gate.set()


async def test_the_monitor_leaves_the_quit_guard_to_the_status_poller(sqlite_db, settings):
    seed(sqlite_db)
    app = make_app(settings, sqlite_db)  # no status poller: nothing may clear `sending` here
    async with app.run_test(size=(80, 24)) as pilot:
        app.mark_sending()
        await pilot.press("f6")
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.polls >= 2, what="two polls with an empty queue")
        assert app.sending is True


async def test_ctrl_q_decides_on_a_fresh_read_of_the_queue(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        aid = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Een", actor=ACTOR, training=True)
        app.mark_sending()  # as compose sets it; the poller has not looked since
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="asks: SMS still queued")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, QuitConfirmModal), what="stayed")
        alerts.cancel_alert(sqlite_db, aid, ACTOR)  # nothing in flight any more
        app.mark_sending()  # and the flag not yet cleared by the poller
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="quits without asking")


async def test_a_typed_ahead_y_never_quits(sqlite_db, settings):
    seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.mark_sending()
        burst(app, ["ctrl+q", "y"])
        modal = await wait_for(pilot, lambda: isinstance(app.screen, QuitConfirmModal) and app.screen)
        await wait_for(pilot, lambda: modal.armed, what="armed")
        await settle(pilot)
        assert app.is_running and app.screen is modal
        await pilot.press("y")  # deliberate, after the question showed
        await pilot.pause()
        assert not app.is_running
