"""The console gives an alert the SMS expiry (console.alert_expiry_minutes) only when it is urgent.
A normal alert goes by e-mail at the relay's pace: with the 60-minute SMS expiry, the last ~200 of
2,000 e-mails at 30/min expired unsent (the CLI and create_alert give a normal alert no expiry)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from alert_ui_helpers import make_app, open_compose, screen_text, seed, wait_for
from bin_console.data.models import Alert
from bin_console.screens.confirm import ConfirmSendModal
from sqlalchemy import select
from test_ui_email_compose import add_email_only


async def _send(app, pilot, nid: int, text: str, *, normal: bool) -> tuple[Alert, str]:
    compose = await open_compose(pilot, nid)
    if normal:
        await pilot.press("ctrl+u")
        await wait_for(pilot, lambda: compose.plan is not None and compose.plan.urgency == "normal")
    await pilot.press(*text)
    await pilot.press("f5")
    modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
    await wait_for(pilot, lambda: modal.armed, what="armed")
    shown = screen_text(app)
    await pilot.press("f5")
    await wait_for(pilot, lambda: compose.last_alert_id is not None, what="the alert to be written")
    with app.db.read() as s:
        alert = s.scalar(select(Alert).where(Alert.id == compose.last_alert_id))
    return alert, shown


async def test_a_long_e_mail_alert_from_the_tui_is_not_cut_off_by_the_sms_expiry(sqlite_db, settings):
    info = seed(sqlite_db)
    add_email_only(sqlite_db, info["network_id"], 1999)  # 2,000 e-mails at 30/min: about 1 h 7 min
    settings.smtp = dataclasses.replace(settings.smtp, max_per_minute=30)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        alert, shown = await _send(app, pilot, info["network_id"], "Vergadering maandag", normal=True)
    assert alert.urgency == "normal"
    assert alert.expires_at is None, f"expires after {(alert.expires_at - alert.created_at)} for a 67-minute send"
    assert "expired" not in shown  # the summary promises no deadline either


async def test_an_urgent_alert_keeps_the_sms_expiry(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        alert, shown = await _send(app, pilot, info["network_id"], "Inbraak Kerkstraat", normal=False)
    assert alert.urgency == "urgent"
    assert alert.expires_at - alert.created_at == timedelta(minutes=settings.alert_expiry_minutes)
    assert "expired, never sent late" in shown
