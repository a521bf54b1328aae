"""Compose screen, driven by keys only: live meter, GSM-safe rewrite, template fill, recipients."""

from __future__ import annotations

import pytest
from alert_ui_helpers import freeze_clock, make_app, seed, settle, show_network, wait_for
from bin_console.screens.compose import ComposeScreen
from textual.widgets import TextArea


async def open_compose(pilot, nid: int) -> ComposeScreen:
    await show_network(pilot, nid)
    await pilot.press("f4")
    screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen) and pilot.app.screen)
    await wait_for(pilot, lambda: screen.plan is not None, what="recipient plan")
    return screen


def meter(screen) -> str:
    return screen.query_one("#meter").summary


async def test_meter_gsm_then_ucs2_names_the_character(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        assert isinstance(app.focused, TextArea)  # typing goes straight into the text
        await pilot.press(*"Inbraak in Belgi")
        assert screen.text == "Inbraak in Belgi"
        assert "16 chars" in meter(screen) and "GSM-7" in meter(screen)
        assert "1 part per SMS" in meter(screen)
        await pilot.press("ë")
        assert screen.text.endswith("België")
        m = meter(screen)
        assert "UCS-2" in m and "ë" in m and "U+00EB" in m
        # 12 SMS recipients x 1 part
        assert "12 parts for 12 recipients" in m


async def test_meter_counts_parts(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        body = screen.query_one("#body", TextArea)
        body.load_text("x" * 160)
        await pilot.pause()
        assert "1 part per SMS" in meter(screen)
        await pilot.press("y")  # 161 GSM-7 characters: two parts of 153
        assert "2 parts per SMS (153/part)" in meter(screen)
        assert "24 parts for 12 recipients" in meter(screen)
        body.load_text("ë" * 71)  # 71 UCS-2 characters: two parts of 67
        await pilot.pause()
        assert "UCS-2" in meter(screen) and "2 parts per SMS (67/part)" in meter(screen)


async def test_gsm_safe_rewrite(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        screen.query_one("#body", TextArea).load_text("Politie België: ‘verdachte’ – bel 101…")
        await pilot.pause()
        assert "UCS-2" in meter(screen)
        await pilot.press("ctrl+g")
        assert screen.text == "Politie Belgie: 'verdachte' - bel 101..."
        assert "GSM-7" in meter(screen)
        assert isinstance(app.focused, TextArea)


async def test_template_fill_with_placeholders(sqlite_db, settings):
    info = seed(sqlite_db)
    settings.language = "nl"
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        await pilot.press("ctrl+l")
        from bin_console.screens.template_picker import TemplatePickerModal

        picker = await wait_for(pilot, lambda: isinstance(app.screen, TemplatePickerModal) and app.screen)
        await wait_for(pilot, lambda: picker.templates, what="templates loaded")
        keys = [t.key for t in picker.templates]
        await pilot.press(*["down"] * keys.index("burglary"), "enter")
        await wait_for(pilot, lambda: picker.fields, what="placeholder form")
        assert picker.fields[0] == "time"
        await pilot.press("enter")  # time pre-filled with now
        await pilot.press(*"Kerkstraat 12", "enter")
        await pilot.press(*"man in rode jas", "enter")
        await wait_for(pilot, lambda: app.screen is screen, what="back in compose")
        assert "inbraak bezig in Kerkstraat 12" in screen.text
        assert "man in rode jas" in screen.text
        assert "{" not in screen.text
        assert screen.template_key == "burglary"


async def test_recipients_summary_and_refusals(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        summary = str(screen.query_one("#recipients").render())
        assert "SMS 12" in summary and "1 opted out" in summary and "1 no mobile" in summary
        await pilot.press("f5")  # empty text: refused, no modal
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("ctrl+u")  # non-urgent: e-mail
        await wait_for(pilot, lambda: screen.plan is not None and screen.plan.urgency == "normal")
        assert "E-mail 1" in str(screen.query_one("#recipients").render())
        # target names are literal text, never markup
        assert "BIN Kerkwijk" in str(screen.query_one("#targets").render())


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
def test_snapshot_compose_ucs2(snap_compare, sqlite_db, settings, monkeypatch, theme):
    freeze_clock(monkeypatch)
    info = seed(sqlite_db)
    settings.ui_theme = theme
    app = make_app(settings, sqlite_db)

    async def run_before(pilot):
        screen = await open_compose(pilot, info["network_id"])
        screen.query_one("#body", TextArea).load_text("Politie België: inbraak bezig in de Kerkstraat. Blijf binnen!")
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))


async def test_add_and_remove_target_network(sqlite_db, settings):
    info = seed(sqlite_db, extra_network="BIN Molenwijk")
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        assert screen.plan.plan.recipients == 12
        await pilot.press("ctrl+t")
        from bin_console.screens.target_picker import TargetPickerModal

        picker = await wait_for(pilot, lambda: isinstance(app.screen, TargetPickerModal) and app.screen)
        await pilot.press(*"molen")
        await wait_for(pilot, lambda: picker.hits, what="matches")
        await pilot.press("enter")  # add BIN Molenwijk
        assert picker.ids == info["network_ids"]
        await pilot.press("escape")  # done: Escape keeps the list as edited
        await wait_for(pilot, lambda: app.screen is screen and screen.plan is not None)
        assert screen.network_ids == info["network_ids"]
        assert screen.plan.plan.recipients == 13
        assert "BIN Kerkwijk, BIN Molenwijk" in str(screen.query_one("#targets").render())
        await pilot.press("ctrl+t")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, TargetPickerModal) and app.screen)
        await pilot.press(*"molen")
        await wait_for(pilot, lambda: picker.hits)
        await pilot.press("enter", "f5")  # remove it again; F5 = done
        await wait_for(pilot, lambda: app.screen is screen and screen.plan is not None)
        assert screen.network_ids == [info["network_id"]] and screen.plan.plan.recipients == 12
