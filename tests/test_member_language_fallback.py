"""A member whose language is not known is stored as "" (model, importer, service, member form), so
an alert gives them their network's language, then the console's default (alerts.choose_version).
Before, every path defaulted to "nl" and a French-speaking network's members got the Dutch text."""

from __future__ import annotations

from bin_console.data.keys import fold
from bin_console.data.models import Member, Network, utcnow
from bin_console.screens.member_form import MemberFormModal, hint
from bin_console.screens.members import MembersScreen
from sqlalchemy import select, update
from test_alerts import ACTOR, make_network
from test_ui_members import member_by_name, open_members
from ui_helpers import make_app, settle, wait_until
from ui_seed import seed

from bin_console.alerts import service as alerts
from bin_console.directory import service as directory
from bin_console.directory.importer import import_members

TEXTS = {"nl": "Inbraak", "fr": "Cambriolage"}


def _french_network(db, name="Quartier Saint-Léonard"):
    nid = make_network(db, name)
    with db.write() as s:
        s.execute(update(Network).where(Network.id == nid).values(language="fr"))
    return nid


def _by_language(db, nid, **kw):
    vp = alerts.plan_versions(db, [nid], TEXTS, **kw)
    return {v.language: v.members for v in vp.versions}


def test_a_french_network_s_members_get_the_french_text_when_their_own_language_is_not_known(db):
    """Members stored without a language (as the model's default leaves them)."""
    nid = _french_network(db)
    with db.write() as s:
        now = utcnow()
        for i in range(3):
            s.add(
                Member(
                    network_id=nid,
                    name=f"M{i}",
                    name_key=fold(f"M{i}"),
                    mobile=f"+3247100000{i}",
                    created_at=now,
                    updated_at=now,
                )
            )
    assert _by_language(db, nid) == {"nl": 0, "fr": 3}


def test_imported_without_a_language_column_they_follow_the_network(db, tmp_path):
    nid = _french_network(db)
    path = tmp_path / "membres.csv"
    path.write_text("Nom;GSM\nJean Dupont;0471 00 00 01\nMarie Leroy;0471 00 00 02\n", encoding="utf-8")
    report = import_members(db, path, nid)
    assert report.imported == 2, report
    with db.read() as s:
        assert set(s.scalars(select(Member.language).where(Member.network_id == nid))) == {""}
    assert _by_language(db, nid) == {"nl": 0, "fr": 2}


def test_a_known_language_still_wins_and_without_a_network_language_the_console_default_applies(db):
    fr_net = _french_network(db)
    directory.add_member(db, fr_net, {"name": "Jan", "mobile": "0470000001", "language": "nl"}, ACTOR)
    directory.add_member(db, fr_net, {"name": "Luc", "mobile": "0470000002"}, ACTOR)
    assert _by_language(db, fr_net) == {"nl": 1, "fr": 1}
    plain = make_network(db, "Kouter")  # no language of its own, no member with one
    directory.add_member(db, plain, {"name": "Piet", "mobile": "0470000003"}, ACTOR)
    assert _by_language(db, plain, default_language="fr") == {"nl": 0, "fr": 1}
    assert _by_language(db, plain, default_language="nl") == {"nl": 1, "fr": 0}


def test_the_form_s_empty_language_means_the_network_s(db):
    assert "network" in hint("language")
    nid = make_network(db, "Kouter")
    mid = directory.add_member(db, nid, {"name": "Els", "mobile": "0470000004"}, ACTOR)
    with db.read() as s:
        assert s.get(Member, mid).language == ""


async def test_member_form_sets_and_clears_a_language(sqlite_db):
    """Keys only: a new member with the language left empty is stored as not known; typing fr sets
    it; emptying the field again makes it not known (before, an empty field kept the old value)."""
    db = sqlite_db
    seed(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_members(app, pilot)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, MemberFormModal), what="form")
        await settle(app, pilot)
        await pilot.press(*"Greta Vos", "tab", *"0470 12 34 56", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="form closed")
        await wait_until(pilot, lambda: member_by_name(db, "Greta Vos") is not None, what="saved")
        assert member_by_name(db, "Greta Vos").language == ""
        await settle(app, pilot)
        await pilot.press(*"greta")
        await settle(app, pilot)
        for typed, stored in (("fr", "fr"), ("", "")):
            await pilot.press("ctrl+e")
            await wait_until(pilot, lambda: isinstance(app.screen, MemberFormModal), what="edit form")
            await settle(app, pilot)
            for _ in range(8):  # name -> ... -> language
                await pilot.press("tab")
            assert app.focused.id == "f-language"
            await pilot.press("ctrl+u" if not typed else "end", *typed, "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, MembersScreen), what="edit saved")
            await wait_until(pilot, lambda s=stored: member_by_name(db, "Greta Vos").language == s, what=stored)
            await settle(app, pilot)
