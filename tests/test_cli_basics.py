"""The command line itself: version, help, command table, db current/upgrade exit codes."""

from __future__ import annotations

import importlib
import os

import pytest
from bin_console.data.engine import Database

from bin_console import __version__
from bin_console.cli import dispatch as cli


@pytest.fixture(autouse=True)
def _restore_umask_and_env(tmp_path, monkeypatch):
    """cli.main sets umask 077 for the process and reads the operator's config: isolate both."""
    old = os.umask(0o077)
    os.umask(old)
    monkeypatch.delenv("BIN_CONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("BIN_CONSOLE_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    yield
    os.umask(old)


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"bin-console {__version__}"


def test_help_lists_every_top_level_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for top in {key.split()[0] for key in cli.COMMANDS}:
        assert top in out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["frobnicate"])
    assert e.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_every_command_in_the_table_parses():
    """Each COMMANDS key is reachable from the parser (no table entry without its sub-parser)."""
    parser = cli.build_parser()
    needs = {
        "import networks": ["f.csv"],
        "import members": ["f.csv", "--network", "x"],
        "export members": ["--network", "x"],
        "networks search": ["kerk"],
        "send": ["--network", "x", "--text", "t"],
        "alerts show": ["1"],
        "credentials set": ["smpp"],
    }
    for key in cli.COMMANDS:
        args = parser.parse_args(key.split() + needs.get(key, []))
        assert args.command == key.split()[0]


def test_implemented_commands_resolve_to_functions():
    """Entries whose module exists must name a real function (a typo would only show at run time)."""
    missing_modules = []
    for key, target in cli.COMMANDS.items():
        module_name, func_name = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            missing_modules.append(module_name)
            continue
        assert callable(getattr(module, func_name, None)), f"{key}: {target} is not defined"
    assert "bin_console.cli.demo" not in missing_modules and "bin_console.cli.db" not in missing_modules


def test_db_current_then_upgrade_then_current(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'bin.db'}"
    assert cli.main(["--db", url, "db", "current"]) == 78  # a look creates nothing
    assert "does not exist; `bin-console db upgrade` creates it" in capsys.readouterr().err
    assert not (tmp_path / "bin.db").exists()
    empty = Database.from_url(url)  # an empty SQLite file: no schema yet
    with empty.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA user_version")
    empty.dispose()
    assert cli.main(["--db", url, "db", "current"]) == 1
    assert "revision none" in capsys.readouterr().out
    assert cli.main(["--db", url, "db", "upgrade"]) == 0
    assert "schema upgraded empty -> " in capsys.readouterr().out
    assert cli.main(["--db", url, "db", "upgrade"]) == 0
    assert "schema already current" in capsys.readouterr().out
    assert cli.main(["--db", url, "db", "current"]) == 0
    assert "- current" in capsys.readouterr().out


def test_db_url_from_env_is_used(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BIN_CONSOLE_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert cli.main(["db", "upgrade"]) == 0
    assert (tmp_path / "env.db").exists()
    assert str(tmp_path / "env.db") in capsys.readouterr().out


def test_bad_config_exits_78_before_any_command_runs(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[smpp]\nport = 'x'\n", encoding="utf-8")
    db_file = tmp_path / "never.db"
    assert cli.main(["--config", str(bad), "--db", f"sqlite:///{db_file}", "db", "upgrade"]) == 78
    assert "configuration error: smpp.port: expected a number" in capsys.readouterr().err
    assert not db_file.exists()


# Modules of the command line and start-up: they read the typed Settings and the parsed arguments
# directly; a getattr(..., default) there would be a second, silent copy of a default.
TYPED_MODULES = [
    "cli.dispatch",
    "config",
    "cli.runtime",
    "cli.db",
    "trust.credentials",
    "cli.demo",
    "cli.send",
    "directory.exporter",
    "app_main",
]


@pytest.mark.parametrize("module", TYPED_MODULES)
def test_settings_and_arguments_are_read_as_typed_attributes(module):
    import importlib
    import re
    from pathlib import Path

    source = Path(importlib.import_module(f"bin_console.{module}").__file__).read_text(encoding="utf-8")
    guesses = re.findall(r"getattr\((?:settings|args|self\.settings|s)\b[^)]*\)", source)
    assert guesses == []


def test_every_command_has_the_console_defaults_and_sub():
    """No command means `console`; `sub` and the console options exist on every parsed namespace."""
    parser = cli.build_parser()
    for argv in ([], ["send", "--network", "x", "--text", "t"], ["demo"], ["alerts", "list"]):
        args = parser.parse_args(argv)
        assert args.theme is None and args.no_blink is False
    assert parser.parse_args([]).sub is None
    assert parser.parse_args(["alerts", "list", "--limit", "5"]).limit == 5
