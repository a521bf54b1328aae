"""The console in Dutch and French at 80x24: SVG snapshots of the start and compose screens, every
footer key still on screen, and the language taken from LANG when the config says "auto".

French runs ~20% longer than English: a footer description that grows too long pushes keys off the
right edge at 80 columns, which the snapshots show and `test_footer_keeps_every_key_at_80_columns`
fails on. Update the SVGs after an intended change with
`pytest tests/test_ui_snapshots_i18n.py --snapshot-update`, then look at them (snapshot_report.html).
"""

from __future__ import annotations

import os

import pytest
from alert_ui_helpers import freeze_clock, wait_for
from bin_console.data.engine import Database
from bin_console.data.schema import upgrade
from bin_console.data.templates import seed_templates
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.help import HelpScreen
from bin_console.screens.members import MembersScreen
from bin_console.screens.network import NetworkScreen
from bin_console.screens.networks import NetworksScreen
from bin_console.widgets.result_list import ResultList
from bin_console.widgets.state_counts import ORDER as STATE_ORDER
from textual.widgets import Static, TextArea
from textual.widgets._footer import FooterKey
from ui_helpers import make_app, settle
from ui_seed import seed

from bin_console.config import Settings
from bin_console.i18n import _, activate, active_language, choose_language

SIZE = (80, 24)
LANGS = ["nl", "fr"]
STATE_LABEL_WIDTH = 13  # widgets/state_counts.py: f"{label:>13} "


@pytest.fixture
def seeded_db(tmp_path, monkeypatch):
    freeze_clock(monkeypatch)
    monkeypatch.setenv("TERM", "xterm-256color")
    db = Database.from_url(f"sqlite:///{tmp_path / 'snap.db'}")
    upgrade(db, backup=False)
    seed(db)
    with db.write() as s:
        seed_templates(s)
    yield db
    db.dispose()


@pytest.fixture(params=LANGS)
def lang(request):
    activate(request.param)
    yield request.param
    activate("en")  # the other tests read English


async def on_screen(pilot, cls):
    app = pilot.app
    screen = await wait_for(pilot, lambda: isinstance(app.screen, cls) and app.screen, what=cls.__name__)
    await settle(app, pilot)
    return screen


async def start_searching(pilot):
    await on_screen(pilot, NetworksScreen)
    await pilot.press(*"kerk")
    await settle(pilot.app, pilot)


async def open_network(pilot):
    await on_screen(pilot, NetworksScreen)
    await pilot.press(*"kerkwijk", "enter")
    return await on_screen(pilot, NetworkScreen)


async def open_members(pilot):
    await open_network(pilot)
    await pilot.press("f3")
    return await on_screen(pilot, MembersScreen)


async def open_compose(pilot):
    await open_network(pilot)
    await pilot.press("f4")
    screen = await on_screen(pilot, ComposeScreen)
    await wait_for(pilot, lambda: screen.plan is not None, what="recipient plan")
    screen.query_one("#body", TextArea).load_text("Inbraak Kerkstraat 12 om 14:05: blijf binnen, bel 101.")
    await settle(pilot.app, pilot)
    return screen


def test_start_screen(snap_compare, seeded_db, lang):
    assert snap_compare(make_app(seeded_db), run_before=start_searching, terminal_size=SIZE)


def test_compose_screen(snap_compare, seeded_db, lang):
    assert snap_compare(make_app(seeded_db), run_before=open_compose, terminal_size=SIZE)


# The screen's words in each language: the start screen's info line and the results' headings.
START_WORDS = {
    "en": ("Enter opens", "Municipality"),
    "nl": ("Enter opent", "Gemeente"),
    "fr": ("Entrée ouvre", "Commune"),
}


@pytest.mark.parametrize("opener", [start_searching, open_network, open_members, open_compose])
async def test_footer_keeps_every_key_at_80_columns(seeded_db, lang, opener):
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await opener(pilot)
        shown = [key for key, active in app.screen.active_bindings.items() if active.binding.show]
        footer = list(app.screen.query(FooterKey))
        assert [k.key for k in footer] == shown  # key names are the same in every language
        assert all(k.region.right <= SIZE[0] for k in footer), [(k.key, k.description, k.region) for k in footer]
        translated = {k.key: k.description for k in footer}
    activate("en")
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await opener(pilot)
        english = {k.key: k.description for k in app.screen.query(FooterKey)}
        assert english.keys() == translated.keys() and english != translated  # same keys, other words
    activate(lang)


@pytest.mark.parametrize(("locale", "expected"), [("fr_BE.UTF-8", "fr"), ("nl_BE.UTF-8", "nl"), ("C", "en")])
async def test_lang_starts_the_console_in_that_language(seeded_db, monkeypatch, locale, expected):
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", locale)
    chosen = choose_language(Settings(), os.environ)  # [console] ui_language = "auto"
    assert chosen == expected
    activate(chosen)
    try:
        app = make_app(seeded_db)
        async with app.run_test(size=SIZE) as pilot:
            await start_searching(pilot)
            info = app.screen.query_one("#search-info", Static).content
            headings = [column.label.plain for column in app.screen.query_one(ResultList).columns.values()]
            text = "\n".join([info.plain, *headings])
        assert active_language() == expected
        for lang, words in START_WORDS.items():
            for word in words:
                assert (word in text) == (lang == expected), (word, lang)
    finally:
        activate("en")


# What the palette and F1 say for F4 (Compose) and for the whole help screen, per language.
PALETTE_WORDS = {"nl": ("Opstellen", "een bericht opstellen"), "fr": ("Rédiger", "rédiger une alerte")}
HELP_WORDS = {"nl": ("Toetsen op Netwerken", "Overal"), "fr": ("Touches de Réseaux", "Partout")}


async def test_palette_and_help_speak_the_active_language(seeded_db, lang):
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await start_searching(pilot)
        commands = {cmd.title: cmd.help for cmd in app.get_system_commands(app.screen)}
        title, help_word = PALETTE_WORDS[lang]
        assert title in commands and help_word in commands[title] and "(F4)" in commands[title]
        assert "Compose" not in commands
        await pilot.press("f1")
        help_screen = await on_screen(pilot, HelpScreen)
        shown = "\n".join(str(s.content) for s in help_screen.query(Static))
        assert all(word in shown for word in HELP_WORDS[lang]), shown
        assert "F4" in shown and "Everywhere" not in shown  # key names stay, the words change


def test_delivery_state_labels_fit_their_cells(lang):
    # the monitor's grid right-aligns each label in 13 columns: a longer one would push the counts out
    assert [_(label) for _key, label in STATE_ORDER if len(_(label)) > STATE_LABEL_WIDTH] == []


# Issue 9: the confirm window and the monitor that follows it, in the active language (key names stay).
CONFIRM_WORDS = {
    "nl": ("Dit bericht versturen?", "Sms aan 9 leden van", "Annuleren", "Versturen (F5)", "Bericht #", "versturen"),
    "fr": ("Envoyer cette alerte ?", "SMS à 9 membres de", "Annuler", "Envoyer (F5)", "Alerte #", "envoi"),
}


async def test_confirm_and_monitor_speak_the_active_language(seeded_db, lang):
    from bin_console.screens.confirm import ConfirmSendModal
    from bin_console.screens.monitor import MonitorScreen
    from textual.widgets import Button

    title, headline, cancel, send, alert, sending = CONFIRM_WORDS[lang]
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(pilot)
        await pilot.press("f5")
        modal = await on_screen(pilot, ConfirmSendModal)
        assert str(modal.query_one("#title", Static).render()) == title
        assert str(modal.query_one("#headline", Static).render()).startswith(headline)
        assert str(modal.query_one("#cancel", Button).label) == cancel
        assert str(modal.query_one("#send", Button).label) == send
        await wait_for(pilot, lambda: modal.armed, what="armed")
        await pilot.press("f5")
        monitor = await on_screen(pilot, MonitorScreen)
        await wait_for(pilot, lambda: monitor.progress is not None, what="progress")
        assert str(monitor.query_one("#title", Static).render()).startswith(alert)
        rate = str(monitor.query_one("#rate", Static).render())
        assert rate.startswith(sending) and "sending" not in rate and "complete" not in rate
