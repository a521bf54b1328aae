"""smpp.training and smtp.training must agree: the console stamps an alert with one training flag and
each sender claims only its own flag's rows, so with one side the training server and the other real,
the e-mails of a TUI alert were never claimed (never sent). Such a config is refused (exit 78)."""

from __future__ import annotations

import pytest

from bin_console.cli.dispatch import main
from bin_console.config import ConfigError, load_settings
from bin_console.i18n import activate


def _config(tmp_path, text: str):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text",
    [
        '[smpp]\ntraining = true\n[smtp]\nhost = "relay.politie.invalid"\n',  # training SMSC, real relay
        "[smtp]\ntraining = true\n",  # the reverse: real SMSC, training mail server
        "[smpp]\ntraining = true\n[smtp]\ntraining = false\n",
    ],
    ids=["training-smsc-real-relay", "real-smsc-training-relay", "both-said-differently"],
)
def test_a_training_flag_on_one_side_only_is_refused(tmp_path, text):
    with pytest.raises(ConfigError, match=r"training = (true|false) but \[smtp\] training = (true|false)"):
        load_settings(_config(tmp_path, text))


@pytest.mark.parametrize("flag", [True, False])
def test_both_training_or_both_real_is_accepted(tmp_path, flag):
    word = "true" if flag else "false"
    s = load_settings(_config(tmp_path, f"[smpp]\ntraining = {word}\n[smtp]\ntraining = {word}\n"))
    assert s.smpp.training is flag and s.smtp.training is flag
    assert not load_settings(_config(tmp_path, "")).smpp.training  # nothing said: both real


def test_the_command_line_exits_78_and_says_why(tmp_path, capsys):
    cfg = _config(tmp_path, "[smpp]\ntraining = true\n")
    assert main(["--config", str(cfg), "db", "current"]) == 78
    err = capsys.readouterr().err
    assert "configuration error: [smpp] training = true but [smtp] training = false" in err
    assert "Set training to true in both" in err


def test_the_refusal_is_in_the_operator_s_language(tmp_path, capsys, monkeypatch):
    cfg = _config(tmp_path, "[smpp]\ntraining = true\n")
    try:
        monkeypatch.setenv("LC_ALL", "nl_BE.UTF-8")
        assert main(["--config", str(cfg), "db", "current"]) == 78
        nl = capsys.readouterr().err
        monkeypatch.setenv("LC_ALL", "fr_BE.UTF-8")
        assert main(["--config", str(cfg), "db", "current"]) == 78
        fr = capsys.readouterr().err
    finally:
        activate("en")
    assert "[smpp] training = true" in nl and "zowel" in nl
    assert "[smpp] training = true" in fr and "les deux" in fr
