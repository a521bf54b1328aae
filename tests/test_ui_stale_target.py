"""F3/F4 act on the network(s) on screen, never on one left behind (issue 7, item 1).

The reported sequence: open BIN Kerkwijk, Escape, clear the search, type a street that matches
nothing, Enter, F4 - compose opened "to BIN Kerkwijk" with all its recipients. Keys only."""

from __future__ import annotations

import pytest
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.members import MembersScreen
from bin_console.screens.network import NetworkScreen
from bin_console.screens.networks import NetworksScreen
from ui_helpers import make_app, screen_text, settle, target_ids, wait_until
from ui_seed import seed

from bin_console.app import NOTHING_SELECTED

NO_MATCH = "Chausee de Namur"


@pytest.fixture
def seeded(sqlite_db):
    return sqlite_db, seed(sqlite_db)


def opened(app, cls) -> bool:
    return any(isinstance(s, cls) for s in app.screen_stack)


def notes(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def search_for_nothing_after_opening_kerkwijk(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press(*"kerkwijk", "enter")
    await wait_until(pilot, lambda: isinstance(app.screen, NetworkScreen), what="BIN Kerkwijk open")
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, NetworksScreen), what="back on the search")
    await pilot.press(*["backspace"] * len("kerkwijk"))
    await pilot.press(*NO_MATCH, "enter")
    await settle(app, pilot)
    assert "No match for" in screen_text(app)


@pytest.mark.parametrize("key, cls", [("f4", ComposeScreen), ("f3", MembersScreen)])
async def test_no_result_means_nothing_selected_not_the_network_left_behind(seeded, key, cls):
    db, _ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await search_for_nothing_after_opening_kerkwijk(app, pilot)
        await pilot.press(key)
        await settle(app, pilot)
        assert not opened(app, cls), f"{key} opened {cls.__name__} for a network no longer on screen"
        assert isinstance(app.screen, NetworksScreen)
        assert NOTHING_SELECTED in notes(app)
        assert target_ids(app) == []


async def test_f4_on_the_search_acts_on_the_highlighted_result(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"gent")  # municipality: several networks match
        await settle(app, pilot)
        results = app.screen.query_one("#results")
        assert results.row_count >= 2
        await pilot.press("down")
        highlighted = results.selected_key
        assert target_ids(app) == [highlighted]
        await pilot.press("f4")
        compose = await wait_until_screen(app, pilot, ComposeScreen)
        assert compose.network_ids == [highlighted]
        name = next(n for n, i in ids.items() if i == highlighted)
        await wait_until(pilot, lambda: name in str(compose.query_one("#targets").render()), what="target in title")


async def test_members_and_compose_name_their_network_in_the_title(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"kerkwijk", "enter", "f3")
        members = await wait_until_screen(app, pilot, MembersScreen)
        assert members.network_id == ids["Kerkwijk"]
        await wait_until(pilot, lambda: "Members of Kerkwijk" in screen_text(app), what="members title")
        await pilot.press("f4")  # from the members screen: its network
        compose = await wait_until_screen(app, pilot, ComposeScreen)
        assert compose.network_ids == [ids["Kerkwijk"]]
        await wait_until(pilot, lambda: "to Kerkwijk" in screen_text(app), what="compose title")


async def test_typing_a_new_search_drops_the_old_highlight_at_once(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press(*"kerkwijk")
        await settle(app, pilot)
        assert target_ids(app) == [ids["Kerkwijk"]]
        # Its answer not in yet: the results on screen are the old text's, so nothing is selected.
        app.screen.query_one("#search").insert_text_at_cursor("x")
        assert target_ids(app) == []


async def wait_until_screen(app, pilot, cls):
    await wait_until(pilot, lambda: isinstance(app.screen, cls), what=cls.__name__)
    await settle(app, pilot)
    return app.screen
