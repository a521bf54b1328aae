"""The console opens without a keyring: the status line says why SMS cannot be sent, F5 refuses a real send."""

from __future__ import annotations

import pytest
from alert_ui_helpers import make_app, seed, settle
from bin_console.data.models import Alert
from bin_console.screens.compose import ComposeScreen
from sqlalchemy import func, select
from test_ui_compose import open_compose
from textual.widgets import TextArea

from bin_console import app_main
from bin_console.config import Settings
from bin_console.credentials import Secret, set_secret
from bin_console.readiness import Readiness, smpp_password, sms_readiness


@pytest.fixture
def no_systemd(monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def _real(system_id: str = "bin01") -> Settings:
    s = Settings(db_url="sqlite://")
    s.smpp.system_id = system_id
    return s


def test_training_needs_nothing(no_systemd):
    s = Settings(db_url="sqlite://")
    s.smpp.training = True
    assert sms_readiness(s) == Readiness(ok=True)


def test_no_smpp_account(no_systemd, tmp_path):
    s = _real("")
    s.config_path = tmp_path / "config.toml"
    r = sms_readiness(s)
    assert not r.ok and r.reason == "no SMPP account configured"
    assert f"[smpp] host, port and system_id in {tmp_path / 'config.toml'}" in r.fix


def test_no_secure_store(no_systemd):
    """conftest pins the `fail` keyring: what a headless host without D-Bus has."""
    r = sms_readiness(_real())
    assert (r.ok, r.reason) == (False, "no secure credential store")
    assert "bin-console credentials check" in r.fix


def test_password_missing_then_stored(no_systemd, monkeypatch, mem_keyring):
    monkeypatch.setenv("BIN_CONSOLE_ALLOW_TEST_KEYRING", "1")
    s = _real()
    r = sms_readiness(s)
    assert (r.ok, r.reason, r.fix) == (False, "no SMPP password stored", "Run `bin-console credentials set smpp`.")
    set_secret("smpp", Secret("pw1234"), s)
    ready, password = smpp_password(s)
    assert ready.ok and password == Secret("pw1234")


def test_console_opens_without_a_keyring_with_sms_blocked(sqlite_db, no_systemd, monkeypatch, tmp_path, capsys):
    from bin_console.cli import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("BIN_CONSOLE_CONFIG", raising=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[smpp]\nsystem_id = "bin01"\n', encoding="utf-8")
    seen = {}

    def fake_run_console(settings, db, *, sender=None, sms_block=None, email_block=None):
        seen.update(sender=sender, sms_block=sms_block)
        return 0

    monkeypatch.setattr(app_main, "run_console", fake_run_console)
    assert main(["--config", str(cfg), "--db", str(sqlite_db.url), "console"]) == 0
    assert seen["sender"] is None
    assert seen["sms_block"].reason == "no secure credential store"


def _alerts(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Alert))


BLOCK = Readiness(False, "no SMPP password stored", "Run `bin-console credentials set smpp`.")


async def test_status_line_says_why_and_f5_refuses_before_anything_is_written(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db, training=False, sms_block=BLOCK)
    async with app.run_test(size=(160, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        line = str(screen.query_one("StatusLine").render())
        assert "SMS OFF: no SMPP password stored. Run `bin-console credentials set smpp`." in line
        screen.query_one("#body", TextArea).load_text("Inbraak Kerkstraat")
        await pilot.pause()
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)  # no confirmation dialog
        notes = "\n".join(str(n.message) for n in app._notifications)
        assert "SMS cannot be sent: no SMPP password stored. Run `bin-console credentials set smpp`." in notes
    assert _alerts(sqlite_db) == 0


async def test_with_sms_blocked_a_non_urgent_alert_still_goes_to_review(sqlite_db, settings):
    from bin_console.screens.confirm import ConfirmSendModal

    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db, training=False, sms_block=BLOCK)
    async with app.run_test(size=(160, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        screen.query_one("#body", TextArea).load_text("Preventietip: sluit uw ramen")
        await pilot.press("ctrl+u")  # non-urgent: e-mail
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmSendModal)


async def test_the_app_writes_no_urgent_alert_while_sms_is_blocked(sqlite_db, settings):
    """The gate is the App's use case, not only compose's F5: any screen that submits is refused."""
    from bin_console.screens.alert_draft import AlertDraft
    from bin_console.screens.target import NetworkRef

    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db, training=False, sms_block=BLOCK)
    async with app.run_test(size=(160, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        draft = AlertDraft("Inbraak Kerkstraat", (NetworkRef(info["network_id"]),), "urgent", None)
        app.submit_alert(draft, screen)
        await settle(pilot)
        notes = "\n".join(str(n.message) for n in app._notifications)
        assert "SMS cannot be sent: no SMPP password stored." in notes
        assert not app.pending_creates
    assert _alerts(sqlite_db) == 0
