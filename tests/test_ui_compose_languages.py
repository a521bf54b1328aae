"""Compose in several languages (issue 9), driven by keys only on a real SQLite database: the text
held per language (F9 moves to the next version, the network's language first), one combined nl+fr
text (Ctrl+N), a template filling every version; the meter's parts per version, the confirm
window's members per version, and the delivery rows: each member gets their language, else the
network's, else the console's."""

from __future__ import annotations

import pytest
from alert_ui_helpers import freeze_clock, make_app, settle, wait_for
from bin_console.data.models import Alert, AlertText, Delivery, Member, Network
from bin_console.data.templates import seed_templates
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmSendModal
from bin_console.screens.target import NetworkRef
from bin_console.screens.template_picker import TemplatePickerModal
from sqlalchemy import select, update
from test_alerts import add_members, make_network
from textual.widgets import TextArea

NL = "Inbraak Kerkstraat, blijf binnen"
FR = "Cambriolage rue de l'Eglise"


def bilingual(db, *, language: str = "nl") -> int:
    """A Brussels network (its language `language`): Dutch, French, a German and a member of no known language."""
    nid = make_network(db, "Brussel Centrum")
    with db.write() as s:
        s.execute(update(Network).where(Network.id == nid).values(language=language))
    add_members(
        db,
        nid,
        [
            {"name": "Jan", "mobile": "+32470000001", "language": "nl"},
            {"name": "Els", "mobile": "+32470000002", "language": "nl"},
            {"name": "Alice", "mobile": "+32470000003", "language": "fr"},
            {"name": "Benoit", "mobile": "+32470000004", "language": "fr"},
            {"name": "Claire", "mobile": "+32470000005", "language": "fr"},
            {"name": "Hans", "mobile": "+32470000006", "language": "de"},
        ],
    )
    with db.write() as s:
        seed_templates(s)
    return nid


async def compose_to(pilot, nid: int) -> ComposeScreen:
    app = pilot.app
    app.open_compose((NetworkRef(nid),))
    screen = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
    await wait_for(pilot, lambda: screen.plan is not None and screen.network_language, what="plan")
    return screen


async def type_long(pilot, screen, text: str) -> None:
    """All but the last key loaded at once (Pilot types ~60 ms a key: 161 keys took 10 s of the
    suite), the last one typed: the meter still follows a real key press."""
    body = screen.query_one("#body", TextArea)
    body.load_text(text[:-1])
    body.move_cursor(body.document.end)
    await pilot.press(text[-1])


def meter(screen) -> str:
    return screen.query_one("#meter").summary


def bar(screen) -> str:
    return screen.query_one("#languages").render().plain


async def counted(pilot, screen) -> None:
    await wait_for(pilot, lambda: screen._plan_current() and "?" not in meter(screen), what="per-version counts")


async def type_nl_and_fr(pilot, screen) -> None:
    await type_long(pilot, screen, NL)
    await pilot.press("f9")
    assert screen.editing == "fr"
    await type_long(pilot, screen, FR)
    await counted(pilot, screen)


async def review(pilot) -> ConfirmSendModal:
    app = pilot.app
    await pilot.press("f5")
    modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen, what="confirm")
    await wait_for(pilot, lambda: modal.armed, what="armed")
    return modal


def delivered(db, alert_id: int) -> dict[str, tuple[str, str]]:
    """member name -> (delivery language, the text that language gets)."""
    with db.read() as s:
        texts = dict(s.execute(select(AlertText.language, AlertText.text).where(AlertText.alert_id == alert_id)).all())
        alert = s.get(Alert, alert_id)
        rows = s.execute(
            select(Member.name, Delivery.language)
            .join(Member, Member.id == Delivery.member_id)
            .where(Delivery.alert_id == alert_id)
        ).all()
    return {name: (lang, texts.get(lang, alert.text)) for name, lang in rows}


async def test_bilingual_alert_reaches_each_member_in_their_language(sqlite_db, settings):
    nid = bilingual(sqlite_db)
    settings.language = "en"  # the console's default: never chosen while nl or the network's exists
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_to(pilot, nid)
        assert screen.editing == "nl"  # the network's language first
        assert bar(screen).split()[0] == "NL"
        await type_nl_and_fr(pilot, screen)
        assert "NL*" in bar(screen) and "FR*" in bar(screen) and "DE*" not in bar(screen)
        # nl: Jan, Els and Hans (German: no de version, the network's nl); fr: three
        m = meter(screen)
        assert "nl GSM-7 1 part x 3" in m and "fr GSM-7 1 part x 3" in m and "total 6 SMS parts" in m
        modal = await review(pilot)
        versions = modal.query_one("#versions").render().plain
        assert "nl: 3 members" in versions and "fr: 3 members" in versions
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.last_alert_id, what="alert created")
    got = delivered(sqlite_db, screen.last_alert_id)
    assert got == {
        "Jan": ("nl", NL),
        "Els": ("nl", NL),
        "Hans": ("nl", NL),
        "Alice": ("fr", FR),
        "Benoit": ("fr", FR),
        "Claire": ("fr", FR),
    }


async def test_a_german_member_falls_back_to_a_french_network(sqlite_db, settings):
    nid = bilingual(sqlite_db, language="fr")
    settings.language = "nl"
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_to(pilot, nid)
        assert screen.editing == "fr" and bar(screen).split()[0] == "FR"
        await type_long(pilot, screen, FR)
        await pilot.press("f9")  # fr, then nl
        assert screen.editing == "nl"
        await type_long(pilot, screen, NL)
        await counted(pilot, screen)
        assert "fr GSM-7 1 part x 4" in meter(screen) and "nl GSM-7 1 part x 2" in meter(screen)
        await review(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.last_alert_id, what="alert created")
    assert delivered(sqlite_db, screen.last_alert_id)["Hans"] == ("fr", FR)


async def test_meter_shows_encoding_and_parts_per_version(sqlite_db, settings):
    nid = bilingual(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_to(pilot, nid)
        await type_long(pilot, screen, "x" * 161)  # nl: two GSM-7 parts
        assert "2 parts per SMS (153/part)" in meter(screen)
        assert "6 recipients" in meter(screen)  # one text for all so far
        await pilot.press("f9", *"Fenêtre")  # fr: ê forces UCS-2
        await counted(pilot, screen)
        m = meter(screen)
        assert m.startswith("FR: 7 chars")
        assert "nl GSM-7 2 parts x 3" in m and "fr UCS-2 1 part x 3" in m
        assert "total 9 SMS parts" in m  # 3 x 2 + 3 x 1
        # every version is kept: back to nl (de and en are empty on the way)
        await pilot.press("f9", "f9", "f9")
        assert screen.editing == "nl" and screen.text == "x" * 161
        await pilot.press("f9")
        assert screen.text == "Fenêtre"


async def test_confirm_shows_members_per_version_and_the_total(sqlite_db, settings):
    nid = bilingual(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_to(pilot, nid)
        await type_nl_and_fr(pilot, screen)
        modal = await review(pilot)
        assert "6 members" in modal.query_one("#headline").render().plain
        versions = modal.query_one("#versions").render().plain
        assert versions.splitlines() == [
            "Versions: nl: 3 members, GSM-7, 1 part each",
            "          fr: 3 members, GSM-7, 1 part each",
        ]
        preview = modal.query_one("#preview").render().plain
        assert f"NL: {NL}" in preview and f"FR: {FR}" in preview
        await pilot.press("escape")  # nothing sent
        await wait_for(pilot, lambda: app.screen is screen, what="back in compose")
    with sqlite_db.read() as s:
        assert s.scalar(select(Alert.id)) is None


async def test_combined_nl_fr_text_for_everyone(sqlite_db, settings):
    nid = bilingual(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_to(pilot, nid)
        await pilot.press("f9", "f9")  # to de
        await pilot.press("ctrl+n")  # combined: back to a Dutch or French version
        assert screen.combined and screen.editing == "nl"
        assert "one nl+fr text (on)" in bar(screen)
        await type_nl_and_fr(pilot, screen)
        assert "nl+fr GSM-7 1 part x 6" in meter(screen)
        modal = await review(pilot)
        assert "nl+fr: 6 members" in modal.query_one("#versions").render().plain
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.last_alert_id, what="alert created")
    got = delivered(sqlite_db, screen.last_alert_id)
    assert set(got.values()) == {("", f"{NL} / {FR}")} and len(got) == 6


async def test_combined_needs_exactly_nl_and_fr(sqlite_db, settings):
    nid = bilingual(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_to(pilot, nid)
        await pilot.press("ctrl+n", *NL, "f5")  # no French text
        await settle(pilot)
        assert app.screen is screen
        assert any("joins a Dutch and a French text" in str(n.message) for n in app._notifications)


async def test_a_template_fills_every_language_version(sqlite_db, settings, monkeypatch):
    freeze_clock(monkeypatch)
    nid = bilingual(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_to(pilot, nid)
        await pilot.press(*"old text", "f9", "f9", *"alter Text")  # to be replaced, de too
        await pilot.press("ctrl+l")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, TemplatePickerModal) and app.screen)
        await wait_for(pilot, lambda: picker.templates, what="templates")
        assert picker.language == "nl"
        keys = [t.key for t in picker.templates]
        await pilot.press(*["down"] * keys.index("all_clear"), "enter")
        await wait_for(pilot, lambda: picker.fields, what="placeholder form")
        await pilot.press("enter", *"Kerkstraat", "enter", *"Brussel", "enter")
        await wait_for(pilot, lambda: app.screen is screen, what="back in compose")
        assert screen.editing == "nl" and "einde alarm in Kerkstraat, Brussel" in screen.text
        versions = screen.filled()
        assert set(versions) == {"nl", "fr", "de", "en"}
        assert "fin de l'alerte, Kerkstraat, Brussel" in versions["fr"]
        assert "Entwarnung in Kerkstraat, Brussel" in versions["de"]
        assert all("{" not in t for t in versions.values())
        assert all(f"{lang.upper()}*" in bar(screen) for lang in versions)
        await counted(pilot, screen)
        await review(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.last_alert_id, what="alert created")
    got = delivered(sqlite_db, screen.last_alert_id)
    assert got["Hans"][0] == "de" and "Entwarnung" in got["Hans"][1]  # the template has German
    assert got["Alice"][0] == "fr" and got["Jan"][0] == "nl"


async def test_escape_keeps_every_version(sqlite_db, settings):
    nid = bilingual(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_to(pilot, nid)
        await type_long(pilot, screen, NL)
        await pilot.press("f9")
        await type_long(pilot, screen, FR)
        await pilot.press("ctrl+n", "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposeScreen), what="compose left")
        again = await compose_to(pilot, nid)
        assert again is not screen
        assert again.filled() == {"nl": NL, "fr": FR} and again.combined and again.editing == "fr"


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
def test_snapshot_compose_two_versions(snap_compare, sqlite_db, settings, monkeypatch, theme):
    freeze_clock(monkeypatch)
    nid = bilingual(sqlite_db)
    settings.ui_theme = theme
    monkeypatch.setenv("TERM", "linux" if theme == "ansi-dark" else "xterm-256color")
    app = make_app(settings, sqlite_db)

    async def run_before(pilot):
        screen = await compose_to(pilot, nid)
        await type_nl_and_fr(pilot, screen)
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
def test_snapshot_confirm_per_version_counts(snap_compare, sqlite_db, settings, monkeypatch, theme):
    freeze_clock(monkeypatch)
    nid = bilingual(sqlite_db)
    settings.ui_theme = theme
    monkeypatch.setenv("TERM", "linux" if theme == "ansi-dark" else "xterm-256color")
    app = make_app(settings, sqlite_db)

    async def run_before(pilot):
        screen = await compose_to(pilot, nid)
        await type_long(pilot, screen, "x" * 161)
        await pilot.press("f9", *"Fenêtre ouverte rue Haute")
        await counted(pilot, screen)
        await review(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))
