"""Which interface language the console speaks, and that the choice holds in worker threads."""

from __future__ import annotations

import threading

import pytest

from bin_console.config import ConfigError, Settings, load_settings
from bin_console.i18n import _, activate, active_language, choose_language, ngettext, number


@pytest.fixture
def restore_english():
    yield
    activate("en")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "fr_BE.UTF-8"}, "fr"),
        ({"LANG": "nl_BE"}, "nl"),
        ({"LANG": "nl_BE.UTF-8@euro"}, "nl"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "de_BE.UTF-8"}, "en"),  # no German interface: English
        ({}, "en"),
        # LC_ALL overrides LC_MESSAGES, which overrides LANG; an empty variable counts as unset
        ({"LC_ALL": "fr_BE.UTF-8", "LC_MESSAGES": "nl_BE.UTF-8", "LANG": "en_US.UTF-8"}, "fr"),
        ({"LC_ALL": "", "LC_MESSAGES": "nl_BE.UTF-8", "LANG": "fr_BE.UTF-8"}, "nl"),
        ({"LC_ALL": "C", "LANG": "fr_BE.UTF-8"}, "en"),  # the first set variable decides, as in setlocale
    ],
)
def test_language_from_the_locale(environ, expected):
    assert choose_language(Settings(), environ) == expected


def test_config_setting_wins_over_the_locale():
    assert choose_language(Settings(ui_language="nl"), {"LC_ALL": "fr_BE.UTF-8"}) == "nl"
    assert choose_language(Settings(ui_language="en"), {"LANG": "nl_BE.UTF-8"}) == "en"
    assert choose_language(Settings(ui_language="auto"), {"LANG": "fr_BE.UTF-8"}) == "fr"


def test_ui_language_read_from_the_config_file(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[console]\nui_language = "fr"\n', encoding="utf-8")
    assert load_settings(cfg).ui_language == "fr"


@pytest.mark.parametrize("bad", ['"de"', '"FR"', '"fr_BE"', "1"])
def test_ui_language_refuses_other_values(tmp_path, bad):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"[console]\nui_language = {bad}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="console.ui_language"):
        load_settings(cfg)


def test_activate_switches_the_catalogue(restore_english):
    msg = "the file is empty"
    activate("nl")
    assert (active_language(), _(msg)) == ("nl", "het bestand is leeg")
    activate("fr")
    assert (active_language(), _(msg)) == ("fr", "le fichier est vide")
    activate("en")
    assert _(msg) == msg


def test_activate_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="unknown interface language"):
        activate("de")
    assert active_language() == "en"


def test_worker_threads_see_the_active_language(restore_english):
    activate("fr")
    seen: list[str] = []
    t = threading.Thread(target=lambda: seen.append(_("the file is empty")))
    t.start()
    t.join()
    assert seen == ["le fichier est vide"]


def test_plural_forms_follow_each_language(restore_english):
    one, many = "{n} row rejected", "{n} rows rejected"
    activate("nl")
    assert [ngettext(one, many, n).format(n=n) for n in (1, 2)] == ["1 rij geweigerd", "2 rijen geweigerd"]
    activate("fr")
    # French counts zero as singular
    assert [ngettext(one, many, n).format(n=n) for n in (0, 2)] == ["0 ligne refusée", "2 lignes refusées"]


def test_numbers_use_the_language_thousands_separator(restore_english):
    assert number(12500) == "12,500"
    activate("nl")
    assert number(12500) == "12.500"
    activate("fr")
    assert number(12500) == "12\u202f500"
    assert number(999) == "999"
