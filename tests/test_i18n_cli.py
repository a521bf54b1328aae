"""The real `bin-console` entry point speaks the locale's language: fr_BE French, nl_BE Dutch, C English."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).with_name("bin-console")

# (LANG, the schema line's words, the refused empty file's line)
CASES = [
    ("fr_BE.UTF-8", "schéma mis à jour vide -> ", "empty.csv : non importé : le fichier est vide"),
    ("nl_BE.UTF-8", "schema bijgewerkt leeg -> ", "empty.csv: niet geïmporteerd: het bestand is leeg"),
    ("C", "schema upgraded empty -> ", "empty.csv: not imported: the file is empty"),
]


def run(args: list[str], tmp_path: Path, lang: str, config: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANGUAGE", "BIN_CONSOLE_CONFIG")}
    env |= {
        "LANG": lang,
        "BIN_CONSOLE_DB": f"sqlite:///{tmp_path / 'bin.db'}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # no operator config file
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    if config is not None:
        env["BIN_CONSOLE_CONFIG"] = str(config)
    return subprocess.run([str(BIN), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("lang", "upgraded", "refused"), CASES)
def test_cli_speaks_the_locale_language(tmp_path, lang, upgraded, refused):
    up = run(["db", "upgrade"], tmp_path, lang)
    assert up.returncode == 0, up.stderr
    assert upgraded in up.stdout
    (tmp_path / "empty.csv").write_bytes(b"")
    imp = run(["import", "networks", "empty.csv"], tmp_path, lang)
    assert imp.returncode == 2, imp.stderr
    assert imp.stdout.splitlines() == [refused]


def test_config_ui_language_wins_over_lang(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[console]\nui_language = "nl"\n', encoding="utf-8")
    up = run(["db", "upgrade"], tmp_path, "fr_BE.UTF-8", config)
    assert up.returncode == 0, up.stderr
    assert "schema bijgewerkt leeg -> " in up.stdout
