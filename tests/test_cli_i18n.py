"""The CLI's own messages (send refusals, config errors, reminders) speak the locale's language: the
real `bin-console` in a child process under LANG=nl_BE.UTF-8 / fr_BE.UTF-8, English under C. Option
names, commands and config keys stay literal inside the translations."""

from __future__ import annotations

import pytest
from cli_subprocess import isolated_env, run_bin


def env_for(tmp_path, lang: str) -> dict[str, str]:
    env = isolated_env(tmp_path, LANG=lang, BIN_CONSOLE_DB=f"sqlite:///{tmp_path / 'bin.db'}")
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        env.pop(name, None)  # the test runner sets LC_ALL=C.UTF-8: LANG must decide here
    return env


# (LANG, the refusal of a send without a target, a config file's unknown setting)
CASES = [
    (
        "nl_BE.UTF-8",
        "bin-console: geef het doel met --network (of --follow-up ID)",
        "bin-console: configuratiefout: console.colour: onbekende instelling",
    ),
    (
        "fr_BE.UTF-8",
        "bin-console: indiquez la cible avec --network (ou --follow-up ID)",
        "bin-console : erreur de configuration : console.colour : réglage inconnu",
    ),
    (
        "C",
        "bin-console: name the target with --network (or --follow-up ID)",
        "bin-console: configuration error: console.colour: unknown setting",
    ),
]


@pytest.mark.parametrize(("lang", "no_target", "bad_setting"), CASES, ids=["nl", "fr", "en"])
def test_cli_errors_in_the_locale_language(tmp_path, lang, no_target, bad_setting):
    env = env_for(tmp_path, lang)
    send = run_bin(tmp_path, "send", "--text", "Inbraak Kerkstraat", "--yes", env=env)
    assert send.returncode == 2, send.stderr
    assert send.stderr.decode().splitlines()[-1] == no_target

    config = tmp_path / "config.toml"
    config.write_text("[console]\ncolour = 1\n", encoding="utf-8")
    bad = run_bin(tmp_path, "--config", str(config), "alerts", "list", env=env)
    assert bad.returncode == 78, bad.stderr
    assert bad.stderr.decode().strip() == bad_setting


def test_reminders_and_schema_messages_in_dutch(tmp_path):
    env = env_for(tmp_path, "nl_BE.UTF-8")
    missing = run_bin(tmp_path, "db", "current", env=env)
    assert missing.returncode == 78
    assert "bestaat niet; `bin-console db upgrade` maakt het aan" in missing.stderr.decode()
    assert run_bin(tmp_path, "db", "upgrade", env=env).returncode == 0
    due = run_bin(tmp_path, "alerts", "reminders", env=env)
    assert due.returncode == 0, due.stderr
    assert due.stdout.decode().strip() == "Geen opvolging nodig."
