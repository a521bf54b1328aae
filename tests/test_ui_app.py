"""The App shell: quit guard, palette, help, status line, themes, footer at 80x24, console entry point."""

from __future__ import annotations

import pytest
from bin_console.data.models import SenderStatus
from bin_console.screens.help import HelpScreen
from bin_console.screens.members import MembersScreen
from bin_console.screens.networks import NetworksScreen
from bin_console.screens.quit_confirm import QuitConfirmModal
from ui_helpers import make_app, screen_text, settle, wait_until
from ui_seed import seed

from bin_console.app import BinConsoleApp, pick_theme
from bin_console.config import Settings


@pytest.fixture
def seeded(sqlite_db):
    seed(sqlite_db)
    return sqlite_db


async def test_ctrl_q_quits_at_once_when_nothing_is_sending(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running


async def test_ctrl_q_asks_when_sends_are_in_flight(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.mark_sending()
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="quit confirm")
        await settle(app, pilot)
        assert app.focused.id == "no"  # Stay
        assert "still being sent" in screen_text(app)
        await pilot.press("enter")  # Enter presses the focused Stay
        await settle(app, pilot)
        assert isinstance(app.screen, NetworksScreen) and app.is_running
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="quit confirm")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.is_running
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="quit confirm")
        await wait_until(pilot, lambda: app.screen.armed, what="armed")
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running


async def test_palette_has_a_command_per_binding_and_no_screenshot(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("screenshot" in t.lower() for t in titles)
        for wanted in ("Networks", "Members", "Compose", "Monitor", "Inbox", "History", "Help"):
            assert wanted in titles
        assert "Zone" in titles  # the screen's own bindings too
        assert titles.count("Quit") == 1  # ours, guarded; Textual's unguarded one is gone


async def test_quit_from_the_palette_asks_while_sending(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.mark_sending()
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: app.screen.query("CommandInput"), what="palette")
        await pilot.press(*"Quit")
        await settle(app, pilot)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="quit question")
        assert app.is_running


async def test_f1_help_lists_screen_and_global_keys(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"kerkwijk", "enter")
        await settle(app, pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="members")
        await settle(app, pilot)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await settle(app, pilot)
        help_text = str(app.screen.query_one("#help-screen-keys").render()) + str(
            app.screen.query_one("#help-global-keys").render()
        )
        help_text = " ".join(help_text.split())  # long help lines wrap under their own text at 80 columns
        for key, what in MembersScreen.KEY_NOTES:
            assert key in help_text and what in help_text
        for binding in MembersScreen.BINDINGS:
            assert binding.tooltip in help_text
        for key in ("F2", "F3", "F4", "F6", "F7", "F8", "Ctrl+Q", "Ctrl+P", "Escape"):
            assert key in help_text
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, MembersScreen)


async def test_footer_shows_at_most_five_keys_global_first(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"kerkwijk", "enter")
        await settle(app, pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="members")
        await settle(app, pilot)
        footer_line = screen_text(app).splitlines()[-1]
        shown = [b for b in app.screen.active_bindings.values() if b.binding.show]
        assert len(shown) <= 5
        assert footer_line.strip().startswith("f1 Help")
        assert "^n New" in footer_line


async def test_status_line_polls_link_state_and_shows_training(seeded):
    with seeded.write() as s:
        s.add(SenderStatus(account="default", state="reconnecting", detail="\x1b[31mlink down", training=True))
    app = BinConsoleApp(Settings(db_url=str(seeded.url), cursor_blink=False), seeded, training=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.status.link == "reconnecting", what="status polled")
        await pilot.pause()
        line = screen_text(app).splitlines()[-2]
        assert "TRAINING" in line and "SMSC reconnecting" in line and "queue 0" in line
        assert "\x1b" not in app.export_screenshot()


def test_theme_choice():
    assert pick_theme("auto", "linux") == "ansi-dark"
    assert pick_theme("auto", "xterm-256color") == "textual-dark"
    assert pick_theme("high-contrast", "linux") == "high-contrast"
    assert pick_theme(None, "linux") == "ansi-dark"


async def test_high_contrast_theme_is_registered_and_blink_off(seeded):
    app = make_app(seeded, ui_theme="high-contrast")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.theme == "high-contrast"
        assert app.focused.cursor_blink is False


def test_console_refuses_an_old_schema_with_exit_78(tmp_path, capsys):
    from bin_console.cli import main

    (tmp_path / "empty.db").touch()  # exists, no schema (a missing file would be created at head)
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["--db", url, "console"]) == 78
    assert "bin-console:" in capsys.readouterr().err


def test_console_without_secure_keyring_still_opens_with_sms_blocked(sqlite_db, capsys, monkeypatch):
    """No keyring is no reason to refuse directory work: the App gets the reason (tests/test_readiness.py)."""
    from bin_console import app_main

    started = []
    monkeypatch.setattr(app_main, "run_console", lambda *a, **k: started.append(k["sms_block"]) or 0)
    from bin_console.cli import main

    assert main(["--db", str(sqlite_db.url), "console"]) == 0
    assert started and started[0] is not None and not started[0].ok


async def test_poller_clears_sending_once_nothing_is_queued(seeded):
    app = BinConsoleApp(Settings(db_url=str(seeded.url), cursor_blink=False), seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.status.link != "unknown", what="first poll")
        app.mark_sending()
        await wait_until(pilot, lambda: not app.sending, what="sending cleared by the poller")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_p_opens_the_palette(seeded):
    from textual.command import CommandPalette

    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, NetworksScreen), what="palette closed")


async def test_embedded_sender_binds_to_the_training_smsc_and_stops_on_exit(seeded, smsc):
    from bin_console.config import SmppSettings
    from bin_console.sender import SenderRunner

    smpp = SmppSettings(host="127.0.0.1", port=smsc.port, training=True)
    sender = SenderRunner(seeded, smpp, password=None)
    app = BinConsoleApp(
        Settings(db_url=str(seeded.url), cursor_blink=False, smpp=smpp), seeded, sender=sender, training=True
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.status.link == "bound", timeout=20, what="sender bound")
        line = screen_text(app).splitlines()[-2]
        assert "TRAINING" in line and "SMSC bound" in line
    await wait_until_stopped(seeded)


async def wait_until_stopped(db):
    import asyncio
    import time

    from sqlalchemy import select

    deadline = time.monotonic() + 10
    while True:
        with db.read() as s:
            states = list(s.scalars(select(SenderStatus.state)))
        if states and all(st == "stopped" for st in states):
            return
        assert time.monotonic() < deadline, f"sender still {states}"
        await asyncio.sleep(0.05)


VT_MISSING = set("▔▁▊▎▏▂▃▄▅▆▇⭘⏎🔎")


async def test_linux_console_gets_ansi_dark_and_only_glyphs_its_fonts_have(sqlite_db, monkeypatch):
    monkeypatch.setenv("TERM", "linux")
    seed(sqlite_db, big=150)
    app = make_app(sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.theme == "ansi-dark" and app.has_class("-vt")
        await pilot.press(*"kerkwijk")
        await settle(app, pilot)
        seen = [screen_text(app)]
        await pilot.press("enter")
        await settle(app, pilot)
        seen.append(screen_text(app))
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="members")
        await settle(app, pilot)
        seen.append(screen_text(app))
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        seen.append(screen_text(app))
        for text in seen:
            assert not (set(text) & VT_MISSING), sorted(set(text) & VT_MISSING)
