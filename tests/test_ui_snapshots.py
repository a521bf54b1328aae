"""SVG snapshots of the directory screens at 80x24, in textual-dark and ansi-dark (the Linux VT theme).

Deterministic: a small seeded SQLite DB built per test, cursor blink off, workers awaited before the shot.
Update after an intended change with `pytest tests/test_ui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest
from bin_console.data.engine import Database
from bin_console.data.schema import upgrade
from bin_console.screens.members import MembersScreen
from bin_console.screens.network import NetworkScreen
from ui_helpers import make_app, settle, wait_until
from ui_seed import seed

THEMES = ["textual-dark", "ansi-dark"]


@pytest.fixture
def seeded_db(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'snap.db'}")
    upgrade(db, backup=False)
    seed(db)
    yield db
    db.dispose()


def _app(db, theme):
    return make_app(db, ui_theme=theme)


@pytest.mark.parametrize("theme", THEMES)
def test_networks_screen(snap_compare, seeded_db, theme):
    async def run_before(pilot):
        app = pilot.app
        await settle(app, pilot)
        await pilot.press(*"kerk")
        await settle(app, pilot)

    assert snap_compare(_app(seeded_db, theme), run_before=run_before, terminal_size=(80, 24))


@pytest.mark.parametrize("theme", THEMES)
def test_network_screen(snap_compare, seeded_db, theme):
    async def run_before(pilot):
        app = pilot.app
        await settle(app, pilot)
        await pilot.press(*"kerkwijk", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, NetworkScreen), what="network")
        await settle(app, pilot)

    assert snap_compare(_app(seeded_db, theme), run_before=run_before, terminal_size=(80, 24))


@pytest.mark.parametrize("theme", THEMES)
def test_members_screen(snap_compare, seeded_db, theme):
    async def run_before(pilot):
        app = pilot.app
        await settle(app, pilot)
        await pilot.press(*"kerkwijk", "enter")
        await settle(app, pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="members")
        await settle(app, pilot)

    assert snap_compare(_app(seeded_db, theme), run_before=run_before, terminal_size=(80, 24))
