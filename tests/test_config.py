"""Configuration: where the file comes from, which database URL wins, and clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bin_console.config import ConfigError, config_dir, data_dir, load_settings


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    """No operator config or database of the machine running the tests may leak in."""
    monkeypatch.delenv("BIN_CONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("BIN_CONSOLE_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


# --- which file --------------------------------------------------------------------------------------


def test_no_file_anywhere_gives_defaults_and_the_platform_database():
    s = load_settings()
    assert s.config_path is None
    assert s.db_url == f"sqlite:///{data_dir() / 'bin-console.db'}"
    assert str(data_dir()).startswith(os.environ["XDG_DATA_HOME"])
    assert s.smpp.port == 2775 and s.smpp.training is False


def test_platform_config_dir_file_is_read(tmp_path):
    f = write(config_dir() / "config.toml", '[smpp]\nhost = "10.0.0.5"\n')
    assert str(f).startswith(str(tmp_path / "xdg-config"))
    s = load_settings()
    assert s.config_path == f and s.smpp.host == "10.0.0.5"


def test_env_file_beats_the_platform_file(tmp_path, monkeypatch):
    write(config_dir() / "config.toml", '[smpp]\nhost = "platform"\n')
    env_file = write(tmp_path / "env.toml", '[smpp]\nhost = "from-env"\n')
    monkeypatch.setenv("BIN_CONSOLE_CONFIG", str(env_file))
    assert load_settings().smpp.host == "from-env"


def test_config_option_beats_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BIN_CONSOLE_CONFIG", str(write(tmp_path / "env.toml", '[smpp]\nhost = "from-env"\n')))
    arg = write(tmp_path / "arg.toml", '[smpp]\nhost = "from-arg"\n')
    s = load_settings(arg)
    assert s.smpp.host == "from-arg" and s.config_path == arg


def test_missing_files_are_named(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist"):
        load_settings(tmp_path / "nope.toml")
    monkeypatch.setenv("BIN_CONSOLE_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match=r"gone\.toml \(from BIN_CONSOLE_CONFIG\) does not exist"):
        load_settings()


# --- which database ----------------------------------------------------------------------------------


def test_db_option_beats_env_beats_file_beats_default(tmp_path, monkeypatch):
    f = write(tmp_path / "c.toml", '[database]\nurl = "sqlite:///from-file.db"\n')
    assert load_settings(f).db_url == "sqlite:///from-file.db"
    monkeypatch.setenv("BIN_CONSOLE_DB", "sqlite:///from-env.db")
    assert load_settings(f).db_url == "sqlite:///from-env.db"
    assert load_settings(f, db="sqlite:///from-arg.db").db_url == "sqlite:///from-arg.db"
    monkeypatch.delenv("BIN_CONSOLE_DB")
    assert load_settings(tmp_path / "c.toml", db=None).db_url == "sqlite:///from-file.db"
    assert load_settings().db_url.endswith("bin-console.db")


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key"), [("smpp", "password"), ("smpp", "Password"), ("smtp", "password"), ("smpp", "secret")]
)
def test_a_secret_in_the_file_is_refused(tmp_path, section, key):
    f = write(tmp_path / "c.toml", f'[{section}]\n{key} = "hunter2"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(f)
    msg = str(exc.value)
    assert f"{section}.{key}: secrets do not belong in the config file" in msg
    assert "bin-console credentials set" in msg
    assert "hunter2" not in msg


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[smpp]\nport = "2775"\n', "smpp.port: expected a number, got '2775'"),
        ("[smpp]\nport = true\n", "smpp.port: expected a number, got True"),
        ('[smpp]\ntraining = "yes"\n', "smpp.training: expected true or false, got 'yes'"),
        ("[smpp]\nhost = 127\n", "smpp.host: expected text, got 127"),
        ("[console]\ncursor_blink = 1\n", "console.cursor_blink: expected bool, got 1"),
        ("[console]\nalert_expiry_minutes = true\n", "console.alert_expiry_minutes: expected int, got True"),
        ("[database]\nurl = 5\n", "database.url: only `url` (text) is allowed"),
        ('smpp = "x"\n', "smpp: expected a [section]"),
        ('[smpp]\nsender = "POLITIEZONE-DEMERDAL"\n', "smpp.sender: an alphanumeric sender has at most 11 characters"),
    ],
)
def test_bad_types_are_rejected_with_the_key(tmp_path, body, message):
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path / "c.toml", body))
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[smpp]\nhostname = "x"\n', "smpp.hostname: unknown setting"),
        ('[smtp]\nserver = "x"\n', "smtp.server: unknown setting"),
        ('[console]\ntheme = "dark"\n', "console.theme: unknown setting"),
        ('[database]\nuser = "x"\n', "database.user: only `url` (text) is allowed"),
        ("[smsc]\nport = 1\n", "[smsc]: unknown section"),
    ],
)
def test_unknown_keys_are_rejected(tmp_path, body, message):
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path / "c.toml", body))
    assert message in str(exc.value)


def test_good_values_are_applied_and_coerced(tmp_path):
    f = write(
        tmp_path / "c.toml",
        '[smpp]\nport = 2776\nmax_tps = 20\ntraining = true\nsender = "+32470000000"\n'
        '[smtp]\ntraining = true\n[console]\nzone = "5999"\ncursor_blink = false\n',
    )
    s = load_settings(f)
    assert (s.smpp.port, s.smpp.training, s.smpp.sender, s.zone, s.cursor_blink) == (
        2776,
        True,
        "+32470000000",
        "5999",
        False,
    )
    assert isinstance(s.smpp.max_tps, float) and s.smpp.max_tps == 20.0


def test_unreadable_toml_reports_the_line(tmp_path):
    f = write(tmp_path / "c.toml", '[smpp]\nhost = "a"\nport = = 3\n')
    with pytest.raises(ConfigError, match=r"cannot read config file .*c\.toml: .*line 3"):
        load_settings(f)


def test_cli_with_a_bad_config_exits_78_with_the_message(tmp_path):
    bad = write(tmp_path / "bad.toml", '[smpp]\npassword = "hunter2"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("BIN_CONSOLE_CONFIG", "BIN_CONSOLE_DB")}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("bin-console")), "--config", str(bad), "db", "current"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 78
    assert "bin-console: configuration error: smpp.password: secrets do not belong in the config file" in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://bin:Hunter2x@db.example:5432/bin",
        "postgresql://bin:Hunter2x@/bin?host=/run/postgresql",
        "postgresql+psycopg://bin@db.example/bin?password=Hunter2x",
    ],
)
def test_a_password_in_the_database_url_is_refused_from_every_source(tmp_path, monkeypatch, url):
    f = write(tmp_path / "c.toml", f'[database]\nurl = "{url}"\n')
    for kwargs, where in (({"config": f}, "config file"), ({"db": url}, "--db")):
        with pytest.raises(ConfigError) as exc:
            load_settings(**kwargs)
        assert where in str(exc.value) and "~/.pgpass" in str(exc.value) and "PGPASSFILE" in str(exc.value)
        assert "Hunter2x" not in str(exc.value)
    monkeypatch.setenv("BIN_CONSOLE_DB", url)
    with pytest.raises(ConfigError, match="BIN_CONSOLE_DB"):
        load_settings()
    # without the password the same server is fine: libpq takes it from ~/.pgpass
    assert load_settings(db="postgresql+psycopg://bin@db.example:5432/bin").db_url.endswith("/bin")


def test_cli_refuses_a_password_in_db_option(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "bin_console", "--db", "postgresql+psycopg://bin:Hunter2x@127.0.0.1/x", "db", "upgrade"],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
        timeout=60,
    )
    assert r.returncode == 78 and ".pgpass" in r.stderr and "Hunter2x" not in r.stdout + r.stderr


def test_a_passworded_url_in_the_config_file_is_refused_even_when_overridden(tmp_path, monkeypatch):
    """--db or BIN_CONSOLE_DB winning does not make a password sitting in the file acceptable."""
    f = write(tmp_path / "c.toml", '[database]\nurl = "postgresql+psycopg://bin:Hunter2x@db.example/bin"\n')
    with pytest.raises(ConfigError, match=r"\[database\] url in the config file") as exc:
        load_settings(config=f, db=f"sqlite:///{tmp_path / 'x.db'}")
    assert "Hunter2x" not in str(exc.value)
    monkeypatch.setenv("BIN_CONSOLE_DB", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigError, match=r"\[database\] url in the config file"):
        load_settings(config=f)
