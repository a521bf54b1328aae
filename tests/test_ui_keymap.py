"""One source for keys: every Binding has an id and words; F1, footer and palette come from the
bindings; the config's [keys] table remaps by id and refuses ids that do not exist (issue 7, item 3)."""

from __future__ import annotations

import pytest
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.help import HelpScreen
from bin_console.screens.network import NetworkScreen
from ui_helpers import make_app, screen_text, settle, wait_until
from ui_seed import seed

from bin_console.app import SCREEN_CLASSES, BinConsoleApp, check_keymap
from bin_console.config import ConfigError, Settings, load_settings


@pytest.fixture
def seeded(sqlite_db):
    seed(sqlite_db)
    return sqlite_db


def all_bindings():
    yield from ((BinConsoleApp, b) for b in BinConsoleApp.BINDINGS)
    for cls in SCREEN_CLASSES:
        yield from ((cls, b) for b in cls.__dict__.get("BINDINGS", []))


def test_every_binding_has_an_id_a_description_and_help_text():
    seen: dict[str, str] = {}
    for cls, binding in all_bindings():
        where = f"{cls.__name__} {binding.key}"
        assert binding.id and binding.description and binding.tooltip, where
        assert binding.id not in seen, f"{where}: id {binding.id} also used by {seen[binding.id]}"
        seen[binding.id] = where


def test_keys_table_is_read_from_the_config(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[keys]\ncompose = "f10"\nmembers-new = "ctrl+a"\n', encoding="utf-8")
    assert load_settings(cfg).keys == {"compose": "f10", "members-new": "ctrl+a"}
    cfg.write_text("[keys]\ncompose = 4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="keys.compose"):
        load_settings(cfg)


def test_an_unknown_binding_id_is_refused_by_name():
    check_keymap({"compose": "f10", "members-new": "ctrl+a"})
    with pytest.raises(ConfigError, match="'compse'"):
        check_keymap({"compse": "f10"})
    with pytest.raises(ConfigError, match="compse"):
        BinConsoleApp(Settings(keys={"compse": "f10"}), db=None)


def test_console_exits_78_on_an_unknown_binding_id_before_opening_anything(tmp_path, capsys):
    from bin_console.cli.dispatch import main

    cfg = tmp_path / "config.toml"
    cfg.write_text('[keys]\nmonitr = "f10"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'none.db'}", "console"]) == 78
    err = capsys.readouterr().err
    assert "keys.monitr" in err and "'monitr'" in err
    assert not (tmp_path / "none.db").exists()


async def test_a_remapped_key_works_and_help_footer_and_palette_say_so(seeded):
    app = make_app(seeded, keys={"compose": "f10"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"kerkwijk", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, NetworkScreen), what="network")
        await settle(app, pilot)
        assert "f10 Compose" in screen_text(app).splitlines()[-1]  # the footer
        compose_help = next(c.help for c in app.get_system_commands(app.screen) if c.title == "Compose")
        assert compose_help.endswith("(F10)")
        await pilot.press("f4")  # no longer the compose key
        await settle(app, pilot)
        assert isinstance(app.screen, NetworkScreen)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        everywhere = str(app.screen.query_one("#help-global-keys").render())
        assert "F10" in everywhere and "F4 " not in everywhere
        await pilot.press("escape", "f10")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen), what="compose on F10")
