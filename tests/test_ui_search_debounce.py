"""The search runs once typing pauses, not per key (issue 7: over a slow SSH link each result list
repaint costs 2-4 KB), and that never makes Enter, F3 or F4 act on results of older text.

Keys are posted back-to-back (``burst``), faster than the pause, so the tests do not depend on how
fast this machine handles a Pilot key press. Real SQLite, real search; only counted.
"""

from __future__ import annotations

import pytest
from bin_console.screens import networks
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.network import NetworkScreen
from bin_console.screens.networks import NetworksScreen
from ui_helpers import burst, make_app, settle, target_ids, wait_until
from ui_seed import seed

from bin_console.app import NOTHING_SELECTED


@pytest.fixture
def seeded(sqlite_db):
    return sqlite_db, seed(sqlite_db)


@pytest.fixture
def searched(monkeypatch) -> list[str]:
    """The texts the search screen searched for, in order (the real search runs)."""
    texts: list[str] = []
    real = networks.run_search

    def counting(db, query, zone_id):
        texts.append(query)
        return real(db, query, zone_id)

    monkeypatch.setattr(networks, "run_search", counting)
    return texts


def notes(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def type_and_wait(app, pilot, text: str) -> None:
    burst(app, list(text))
    await wait_until(pilot, lambda: app.screen.query_one("#search").value == text, what=f"{text!r} typed")
    await settle(app, pilot)


async def test_keys_typed_quickly_run_one_search_for_the_whole_text(seeded, searched):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await type_and_wait(app, pilot, "kerkwijk")
        assert searched == ["kerkwijk"], "one search once typing paused, not one per key"
        assert target_ids(app) == [ids["Kerkwijk"]]
        burst(app, ["backspace"] * 4)
        await wait_until(pilot, lambda: app.screen.query_one("#search").value == "kerk", what="4 keys erased")
        await settle(app, pilot)
        assert searched == ["kerkwijk", "kerk"]


async def test_results_wait_for_the_pause_and_select_nothing_meanwhile(seeded, searched):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await type_and_wait(app, pilot, "zuid")
        assert target_ids(app) == [ids["Zuid Industrie"]]
        burst(app, [*["backspace"] * 4, *"kerkwijk"])
        await wait_until(pilot, lambda: app.screen.query_one("#search").value == "kerkwijk", what="typed")
        screen = app.screen
        assert isinstance(screen, NetworksScreen)
        if screen.search_pending:  # the usual case: the pause has not passed yet
            assert target_ids(app) == [], "the results on screen are those of 'zuid', not of the typed text"
        await settle(app, pilot)
        assert target_ids(app) == [ids["Kerkwijk"]]
        assert searched == ["zuid", "kerkwijk"]


async def test_enter_right_after_typing_opens_the_typed_text_not_the_old_results(seeded, searched):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await type_and_wait(app, pilot, "zuid")
        assert target_ids(app) == [ids["Zuid Industrie"]]
        burst(app, [*["backspace"] * 4, *"kerkwijk", "enter"])
        await wait_until(pilot, lambda: isinstance(app.screen, NetworkScreen), what="a network opened")
        await settle(app, pilot)
        assert target_ids(app) == [ids["Kerkwijk"]]
        # Enter started the search for the typed text at once (no search for the texts in between)
        assert searched == ["zuid", "kerkwijk"]


@pytest.mark.parametrize("key", ["f4", "f3"])
async def test_f3_f4_before_the_pause_say_nothing_selected_then_act_on_the_typed_text(seeded, searched, key):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(app, pilot)
        await type_and_wait(app, pilot, "zuid")
        burst(app, [*["backspace"] * 4, *"kerkwijk", key])
        await wait_until(pilot, lambda: NOTHING_SELECTED in notes(app), what="nothing selected")
        assert isinstance(app.screen, NetworksScreen), f"{key} acted on the results of 'zuid'"
        await settle(app, pilot)
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen), what="compose")
        await settle(app, pilot)
        assert target_ids(app) == [ids["Kerkwijk"]]


async def test_enter_after_a_failed_search_searches_again_at_once_and_opens_the_match(seeded, monkeypatch):
    """The search for "kerkwijk" failed (a locked database): Enter did nothing useful before, the
    screen kept saying "Search failed" until the next key. Now Enter searches at once and opens the
    top match of that text."""
    db, ids = seeded
    real = networks.run_search
    failures = {"left": 1}

    def failing_once(db_, query, zone_id):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database is locked")
        return real(db_, query, zone_id)

    monkeypatch.setattr(networks, "run_search", failing_once)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await type_and_wait(app, pilot, "kerkwijk")
        info = app.screen.query_one("#search-info")
        await wait_until(pilot, lambda: "Search failed" in str(info.render()), what="the failure shown")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, NetworkScreen), what="the match opened")
        assert target_ids(app) == [ids["Kerkwijk"]]
