"""A network's language (what most of its active members read) picks the templates first offered:
in the console's template picker (F9 switches) and for `bin-console send --template`."""

from __future__ import annotations

from alert_ui_helpers import make_app, wait_for
from bin_console.data.models import MessageTemplate
from bin_console.data.networks import network_language
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.target import NetworkRef
from bin_console.screens.template_picker import TemplatePickerModal
from test_alerts import add_members, make_network

from bin_console.cli import main

NL_BODY = "Inbraak in de {street}. Bel 101."
FR_BODY = "Cambriolage dans la rue {street}. Appelez le 101."


def _seed(db) -> tuple[int, int]:
    fr = make_network(db, "Quartier Gare")
    nl = make_network(db, "Kerkwijk")
    add_members(
        db,
        fr,
        [
            {"name": "Alice", "mobile": "+32470000001", "language": "fr"},
            {"name": "Benoît", "mobile": "+32470000002", "language": "fr"},
            {"name": "Jan", "mobile": "+32470000003", "language": "nl"},
            # members who left do not count: without this rule the network would read Dutch
            {"name": "Piet", "mobile": "+32470000004", "language": "nl", "status": "left"},
            {"name": "Mieke", "mobile": "+32470000005", "language": "nl", "status": "left"},
        ],
    )
    add_members(db, nl, [{"name": "Els", "mobile": "+32470000006", "language": "nl"}])
    with db.write() as s:
        s.add(MessageTemplate(key="burglary", language="nl", title="Inbraak", body=NL_BODY))
        s.add(MessageTemplate(key="burglary", language="fr", title="Cambriolage", body=FR_BODY))
    return fr, nl


def test_network_language_is_the_active_members_majority(db):
    fr, nl = _seed(db)
    empty = make_network(db, "Nieuw")
    with db.read() as s:
        assert network_language(s, fr) == "fr"
        assert network_language(s, nl) == "nl"
        assert network_language(s, empty) == ""


def test_send_template_defaults_to_the_network_language(sqlite_db, capsys):
    _seed(sqlite_db)
    url = str(sqlite_db.engine.url)
    args = ["--db", url, "send", "--template", "burglary", "--set", "street=Rue Haute"]
    main([*args, "--network", "Quartier Gare"])
    assert f"{len(FR_BODY.format(street='Rue Haute'))} characters" in capsys.readouterr().out
    main([*args, "--network", "Kerkwijk"])
    assert f"{len(NL_BODY.format(street='Rue Haute'))} characters" in capsys.readouterr().out
    main([*args, "--network", "Quartier Gare", "--lang", "nl"])  # an explicit --lang wins
    assert f"{len(NL_BODY.format(street='Rue Haute'))} characters" in capsys.readouterr().out


async def test_template_picker_opens_in_the_network_language_and_f9_switches(sqlite_db, settings):
    fr, _ = _seed(sqlite_db)
    settings.language = "nl"  # the dispatcher's own language: the network's comes first
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_compose((NetworkRef(fr),))
        compose = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
        await wait_for(pilot, lambda: compose.plan is not None, what="plan")
        await pilot.press("ctrl+l")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, TemplatePickerModal) and app.screen)
        await wait_for(pilot, lambda: picker.templates, what="templates")
        assert picker.language == "fr" and [t.body for t in picker.templates] == [FR_BODY]
        await pilot.press("f9")
        assert picker.language == "nl" and [t.body for t in picker.templates] == [NL_BODY]
