"""The network screen's header."""

from __future__ import annotations

from alert_ui_helpers import (
    make_app,
    seed,
    settle,
    wait_for,
)
from bin_console.screens.network import NetworkScreen, build_view
from bin_console.screens.target import NetworkRef
from textual.widgets import Static


async def test_network_header_does_not_repeat_the_kind(sqlite_db, settings):
    info = seed(sqlite_db, network_name="BIN Bruggeveld-Dorp", extra_network="Molenwijk")
    kerk, molen = info["network_ids"]
    assert build_view(sqlite_db, kerk).title.plain.startswith("BIN Bruggeveld-Dorp  ")
    assert build_view(sqlite_db, molen).title.plain.startswith("BIN Molenwijk  ")
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_network(NetworkRef(kerk))
        screen = await wait_for(pilot, lambda: isinstance(app.screen, NetworkScreen) and app.screen)

        def header() -> str:
            return str(screen.query_one("#network-title", Static).render())

        await wait_for(pilot, lambda: "Bruggeveld" in header(), what="header")
        assert header().startswith("BIN Bruggeveld-Dorp")
