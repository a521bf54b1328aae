"""Confirm-send modal: states what will happen, opens on Cancel, sends only on a deliberate key."""

from __future__ import annotations

import pytest
from alert_ui_helpers import freeze_clock, make_app, seed, settle, show_network, wait_for
from bin_console.data.models import Alert, Delivery
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmSendModal, SendSummary
from bin_console.screens.monitor import MonitorScreen
from sqlalchemy import func, select
from textual.widgets import Button, Static, TextArea
from ui_helpers import burst


def n_alerts(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Alert))


async def open_compose_with_text(pilot, nid: int, text: str = "Inbraak Kerkstraat, blijf binnen") -> ComposeScreen:
    app = pilot.app
    await show_network(pilot, nid)
    await pilot.press("f4")
    screen = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
    await wait_for(pilot, lambda: screen.plan is not None)
    screen.query_one("#body", TextArea).load_text(text)
    await settle(pilot)
    return screen


async def open_modal(pilot, nid: int, text: str = "Inbraak Kerkstraat, blijf binnen") -> ConfirmSendModal:
    app = pilot.app
    await open_compose_with_text(pilot, nid, text)
    await pilot.press("f5")
    return await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen, what="modal")


async def test_modal_states_exactly_what_happens_and_enter_cancels(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db, training=True)
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await open_modal(pilot, info["network_id"], "x" * 200)
        headline = str(modal.query_one("#headline").render())
        assert headline == "SMS to 12 members of BIN Kerkwijk, 2 parts each, 24 parts"
        assert "GSM-7" in str(modal.query_one("#details").render())
        assert "expired, never sent late" in str(modal.query_one("#details").render())
        assert "TRAINING" in str(modal.query_one("#training").render())
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        await wait_for(pilot, lambda: modal.armed)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert n_alerts(sqlite_db) == 0


async def test_escape_and_n_cancel(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await open_modal(pilot, info["network_id"])
        await wait_for(pilot, lambda: modal.armed)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("f5")
        modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
        await wait_for(pilot, lambda: modal.armed)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert n_alerts(sqlite_db) == 0


async def test_y_after_arming_sends_and_opens_monitor(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await open_modal(pilot, info["network_id"])
        await wait_for(pilot, lambda: modal.armed)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        assert n_alerts(sqlite_db) == 1
        assert app.sending is True
        with sqlite_db.read() as s:
            assert s.scalar(select(func.count()).select_from(Delivery)) == 12
        monitor = app.screen
        await wait_for(pilot, lambda: monitor.progress is not None)
        assert monitor.progress.counts.get("queued") == 12


async def test_f5_again_sends(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await open_modal(pilot, info["network_id"])
        await wait_for(pilot, lambda: modal.armed)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        assert n_alerts(sqlite_db) == 1


async def test_typed_ahead_letters_never_confirm(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        compose = await open_compose_with_text(pilot, info["network_id"])
        # One burst, as over a laggy SSH link: F5 opens the window, the keys behind it arrived
        # before it was painted.
        burst(app, ["f5", "y", "f5", "y", "f5"])
        modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
        await wait_for(pilot, lambda: modal.typed_ahead and modal.armed, what="type-ahead seen, then painted")
        await settle(pilot)
        assert n_alerts(sqlite_db) == 0
        assert app.screen is modal and compose.is_attached
        # Enter presses Cancel (the default focus): back in compose, nothing sent
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert n_alerts(sqlite_db) == 0


async def test_after_type_ahead_only_f5_sends(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await open_modal(pilot, info["network_id"])
        modal.typed_ahead = True  # as if a `y` had arrived in the same burst as F5
        await wait_for(pilot, lambda: modal.armed)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is modal and n_alerts(sqlite_db) == 0
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert n_alerts(sqlite_db) == 1


def test_snapshot_confirm_modal(snap_compare, sqlite_db, settings, monkeypatch):
    freeze_clock(monkeypatch)
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db, training=True)

    async def run_before(pilot):
        modal = await open_modal(pilot, info["network_id"], "x" * 200)
        await wait_for(pilot, lambda: modal.armed)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))


async def test_f5_as_soon_as_the_window_is_painted_sends(sqlite_db, settings):
    """Issue 7, item 5: no reading delay any more; painted means armed."""
    from ui_helpers import screen_text

    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_compose_with_text(pilot, info["network_id"])
        await pilot.press("f5")
        await wait_for(pilot, lambda: "Send this alert?" in screen_text(app), what="the window painted")
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="sent: monitor")
        assert n_alerts(sqlite_db) == 1


async def test_a_key_from_before_the_paint_is_dropped_even_when_handled_after(sqlite_db, settings):
    from ui_helpers import key_event

    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        early = key_event("f5")  # stamped now, before the window exists
        modal = await open_modal(pilot, info["network_id"])
        await wait_for(pilot, lambda: modal.armed, what="painted")
        assert early.time < modal.armed_at
        app.post_message(early)  # reaches the window only now
        await settle(pilot)
        assert app.screen is modal and modal.typed_ahead and n_alerts(sqlite_db) == 0
        await pilot.press("f5")  # a fresh F5 still sends
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="sent: monitor")
        assert n_alerts(sqlite_db) == 1


NAMES_OF_A_ZONE = [f"BIN Sint-Amands-Demer Wijk {i:02d}" for i in range(40)]


@pytest.mark.parametrize(("names", "left_out"), [(NAMES_OF_A_ZONE[:2], 0), (NAMES_OF_A_ZONE, 36)])
async def test_a_whole_zone_of_networks_still_fits_the_window_with_its_text_and_keys(
    sqlite_db, settings, names, left_out
):
    """40 networks (every BIN of a zone): the headline listed every name, 21 lines, and pushed the
    alert text, the buttons and the key hint below the bottom of an 80x24 terminal. The names now
    take at most three lines and say how many more there are."""
    seed(sqlite_db)
    app = make_app(settings, sqlite_db, training=True)
    summary = SendSummary(
        channel="sms",
        recipients=4120,
        network_names=names,
        parts_each=1,
        encoding="gsm7",
        expires_at=None,
        training=True,
        text="Politie: verdachte wagen",
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ConfirmSendModal(summary))
        modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
        await settle(pilot)
        headline = str(modal.query_one("#headline", Static).render())
        for widget_id in ("#preview", "#send", "#hint"):
            assert modal.query_one(widget_id).region.bottom <= 24, widget_id
        assert modal.query_one("#headline").region.height <= 4
        if left_out:
            assert f"and {left_out} more networks (40)" in headline and names[0] in headline
        else:
            assert all(name in headline for name in names) and "more" not in headline
