"""Under a modal (a question, a form) global navigation is off: F2-F8, Ctrl+P and Ctrl+Q never push a
screen over a question that waits for its answer (issue 7, item 6). Escape and F1 still work."""

from __future__ import annotations

import pytest
from bin_console.screens.help import HelpScreen
from bin_console.screens.networks import NetworksScreen
from bin_console.screens.quit_confirm import QuitConfirmModal
from ui_helpers import make_app, settle, wait_until
from ui_seed import seed


@pytest.fixture
def seeded(sqlite_db):
    seed(sqlite_db)
    return sqlite_db


async def ask_quit(app, pilot) -> QuitConfirmModal:
    await settle(app, pilot)
    app.mark_sending()
    await pilot.press("ctrl+q")
    await wait_until(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="quit question")
    await settle(app, pilot)
    return app.screen


@pytest.mark.parametrize("key", ["f2", "f3", "f4", "f6", "f7", "f8", "ctrl+p", "ctrl+q"])
async def test_global_keys_do_nothing_under_the_quit_question(seeded, key):
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await ask_quit(app, pilot)
        stack = list(app.screen_stack)
        await pilot.press(key)
        await settle(app, pilot)
        assert app.screen is modal and app.screen_stack == stack and app.is_running
        await pilot.press("escape")  # the question still answers
        await wait_until(pilot, lambda: isinstance(app.screen, NetworksScreen), what="stayed")


async def test_help_still_opens_over_a_question_and_escape_comes_back(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await ask_quit(app, pilot)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is modal, what="back to the question")
