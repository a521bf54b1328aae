"""Compose and confirm with e-mail (issue 8), keys only, on a real database: the per-alert e-mail
copy for members without a mobile (counted, kept in the draft, written by create_alert), the
confirm window's counts per channel and the e-mail time to finish at the relay's rate; one send
goes through the training SMSC (the copies wait for the e-mail sender in the outbox)."""

from __future__ import annotations

import dataclasses

import pytest
from alert_ui_helpers import (
    ACTOR,
    _member,
    fix_alert_times,
    freeze_clock,
    make_app,
    open_compose,
    seed,
    settle,
    wait_for,
)
from bin_console.data.models import Delivery, Member, utcnow
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmSendModal
from bin_console.screens.monitor import MonitorScreen
from sqlalchemy import func, insert, select

from bin_console.alerts import service as alerts
from bin_console.channels.smpp.sender import SenderRunner


def recipients_line(screen) -> str:
    return str(screen.query_one("#recipients").render())


def add_email_only(db, nid: int, n: int) -> None:
    """n members with an e-mail address and no mobile (the e-mail copy's audience)."""
    now = utcnow()
    rows = [_member(nid, f"Mail {i:04d}", mobile=None, now=now, email=f"m{i}@example.be") for i in range(n)]
    with db.write() as s:
        s.execute(insert(Member), rows)


def deliveries_by_channel(db) -> dict[str, int]:
    with db.read() as s:
        return dict(s.execute(select(Delivery.channel, func.count()).group_by(Delivery.channel)).all())


async def confirm(pilot) -> ConfirmSendModal:
    await pilot.press("f5")
    app = pilot.app
    modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen, what="confirm")
    await wait_for(pilot, lambda: modal.armed, what="armed")
    return modal


async def test_email_copy_is_counted_confirmed_per_channel_and_sent_with_the_sms(sqlite_db, settings, smsc):
    info = seed(sqlite_db)  # 12 with a mobile, 1 opted out, 1 without a mobile but with an address
    settings.smpp = dataclasses.replace(
        settings.smpp, host="127.0.0.1", port=smsc.port, system_id="training", training=True, sender="POLITIE"
    )
    sender = SenderRunner(sqlite_db, settings.smpp, password=None, poll_interval=0.1)
    app = make_app(settings, sqlite_db, sender=sender, training=True, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        compose = await open_compose(pilot, info["network_id"])
        assert "Ctrl+O: e-mail copy to the 1 member without a mobile" in recipients_line(compose)
        await pilot.press(*"Brand Kerkstraat", "ctrl+o")
        assert compose.email_copy is True
        assert "+ e-mail copy to 1 member without a mobile (Ctrl+O: off)" in recipients_line(compose)
        assert "+ e-mail copy" in str(compose.query_one("#targets").render())
        modal = await confirm(pilot)
        assert str(modal.query_one("#channels").render()) == "SMS 12 · e-mail 0 · e-mail copies 1"
        assert str(modal.query_one("#email-time").render()) == "1 e-mail (no rate limit set): under a minute"
        await pilot.press("f5")
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(
            pilot,
            lambda: monitor.progress and monitor.progress.by_channel.get("sms", {}).get("delivered") == 12,
            timeout=30,
            what="12 SMS delivered",
        )
        assert deliveries_by_channel(sqlite_db) == {"sms": 12, "email": 1}
        assert smsc.messages_for("+32470000000") == ["Brand Kerkstraat"]


async def test_without_the_copy_no_email_is_written_and_the_toggle_comes_back_off(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        compose = await open_compose(pilot, info["network_id"])
        await pilot.press(*"Brand", "ctrl+o", "ctrl+o")  # on, then off again
        modal = await confirm(pilot)
        assert str(modal.query_one("#channels").render()) == "SMS 12 · e-mail 0 · e-mail copies 0"
        assert not modal.query("#email-time")
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        assert deliveries_by_channel(sqlite_db) == {"sms": 12}
        assert compose.email_copy is False


async def test_the_copy_choice_survives_escape_in_the_draft(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_compose(pilot, info["network_id"])
        await pilot.press(*"Brand", "ctrl+o", "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposeScreen), what="left compose")
        compose = await open_compose(pilot, info["network_id"])
        assert compose.text == "Brand" and compose.email_copy is True
        assert "+ e-mail copy to 1 member" in recipients_line(compose)


async def test_a_non_urgent_alert_has_no_copy_to_add(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        compose = await open_compose(pilot, info["network_id"])
        await pilot.press("ctrl+u")
        await wait_for(pilot, lambda: compose.plan is not None and compose.plan.urgency == "normal")
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert compose.email_copy is False and "copy" not in recipients_line(compose)
        assert any("no copy to add" in str(n.message) for n in app._notifications)


async def test_confirm_shows_the_long_email_time_at_the_relay_rate(sqlite_db, settings):
    info = seed(sqlite_db)
    add_email_only(sqlite_db, info["network_id"], 1999)  # + the seed's one: 2,000 e-mail recipients
    settings.smtp = dataclasses.replace(settings.smtp, max_per_minute=30)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        compose = await open_compose(pilot, info["network_id"])
        await pilot.press("ctrl+u")
        await wait_for(pilot, lambda: compose.plan is not None and compose.plan.urgency == "normal")
        await pilot.press(*"Vergadering maandag")
        modal = await confirm(pilot)
        assert str(modal.query_one("#channels").render()) == "SMS 0 · e-mail 2,000 · e-mail copies 0"
        assert str(modal.query_one("#email-time").render()) == "2,000 e-mails at 30/min: about 1 h 7 min"
        assert "reverse" in str(modal.summary.email_time().style)  # over ten minutes: it stands out
        assert modal.query_one("#send").region.bottom <= 24  # the Send button still on screen at 80x24
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is compose, what="cancelled")
        await pilot.press("ctrl+u", "ctrl+o")  # urgent with the copy: the same 2,000 by e-mail
        await wait_for(pilot, lambda: compose.plan is not None and compose.plan.urgency == "urgent")
        modal = await confirm(pilot)
        assert str(modal.query_one("#channels").render()) == "SMS 12 · e-mail 0 · e-mail copies 2,000"
        assert str(modal.query_one("#email-time").render()) == "2,000 e-mails at 30/min: about 1 h 7 min"


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
def test_snapshot_confirm_with_email_copies_and_a_long_time(snap_compare, sqlite_db, settings, monkeypatch, theme):
    freeze_clock(monkeypatch)
    info = seed(sqlite_db)
    add_email_only(sqlite_db, info["network_id"], 1999)
    settings.smtp = dataclasses.replace(settings.smtp, max_per_minute=30)
    settings.ui_theme = theme
    app = make_app(settings, sqlite_db)

    async def run_before(pilot):
        await open_compose(pilot, info["network_id"])
        await pilot.press(*"Brand Kerkstraat, blijf binnen", "ctrl+o")
        await confirm(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
def test_snapshot_monitor_with_email_queued(snap_compare, sqlite_db, settings, monkeypatch, theme):
    freeze_clock(monkeypatch)
    info = seed(sqlite_db)
    add_email_only(sqlite_db, info["network_id"], 59)
    aid = alerts.create_alert(
        sqlite_db, network_ids=[info["network_id"]], text="Brand", actor=ACTOR, training=True, email_copy=True
    )
    fix_alert_times(sqlite_db)
    settings.smtp = dataclasses.replace(settings.smtp, max_per_minute=30)
    settings.ui_theme = theme
    app = make_app(settings, sqlite_db)

    async def run_before(pilot):
        app.open_monitor(aid)
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.progress is not None, what="progress")

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))
