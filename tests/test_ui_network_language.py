"""The network screen changes the network's language by keyboard (Ctrl+L, a list, Enter): written by
directory.service.set_network_language, audited, off the event loop; Escape changes nothing."""

from __future__ import annotations

import json

import pytest
from alert_ui_helpers import make_app, seed, show_network, wait_for
from bin_console.data.models import AuditEntry, Network
from bin_console.screens.network import NetworkLanguageModal, NetworkScreen
from sqlalchemy import select

from bin_console.directory.service import set_network_language
from bin_console.directory.validation import ValidationError
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101")


def language(db, nid: int) -> str:
    with db.read() as s:
        return s.scalar(select(Network.language).where(Network.id == nid))


def language_audits(db, nid: int) -> list[dict]:
    with db.read() as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "network.update", AuditEntry.object_ref == f"network:{nid}")
        ).all()
        return [json.loads(e.detail) for e in entries]


def title(screen: NetworkScreen) -> str:
    return screen.query_one("#network-title").render().plain


async def test_ctrl_l_sets_the_network_language(sqlite_db, settings):
    nid = seed(sqlite_db)["network_id"]
    assert language(sqlite_db, nid) == ""
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_network(pilot, nid)
        await wait_for(pilot, lambda: screen.view is not None, what="summary")
        assert "lang -" in title(screen)

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, NetworkLanguageModal), what="language list")
        await pilot.press("escape")  # nothing changes
        await wait_for(pilot, lambda: app.screen is screen, what="back on the network")
        assert language(sqlite_db, nid) == ""

        await pilot.press("ctrl+l")
        modal = await wait_for(pilot, lambda: isinstance(app.screen, NetworkLanguageModal) and app.screen)
        assert modal.query_one("#languages").highlighted == 4  # the current one: the console's default
        await pilot.press("up", "up", "up", "enter")  # nl fr de en, default: up to fr
        await wait_for(pilot, lambda: "lang fr" in title(screen), what="title in fr")
        assert language(sqlite_db, nid) == "fr"

        await pilot.press("ctrl+l")
        modal = await wait_for(pilot, lambda: isinstance(app.screen, NetworkLanguageModal) and app.screen)
        assert modal.current == "fr"
        await pilot.press("down", "down", "enter")  # from fr: de, en
        await wait_for(pilot, lambda: "lang en" in title(screen), what="title in en")
    assert language(sqlite_db, nid) == "en"
    changes = [d for d in language_audits(sqlite_db, nid) if d.get("fields") == ["language"]]
    assert [d["language"] for d in changes] == [["", "fr"], ["fr", "en"]]


def test_set_network_language_refuses_what_it_does_not_know(sqlite_db):
    nid = seed(sqlite_db)["network_id"]
    with pytest.raises(ValidationError):
        set_network_language(sqlite_db, nid, "es", ACTOR)
    with pytest.raises(ValidationError):
        set_network_language(sqlite_db, nid + 99, "fr", ACTOR)
    assert set_network_language(sqlite_db, nid, "de", ACTOR) is True
    assert set_network_language(sqlite_db, nid, "de", ACTOR) is False  # no change, no audit entry
    assert set_network_language(sqlite_db, nid, "", ACTOR) is True  # back to the console's default
    assert [d["language"] for d in language_audits(sqlite_db, nid)] == [["", "de"], ["de", ""]]
