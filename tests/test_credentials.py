"""Secrets: systemd credentials, then a secure keyring; every insecure store refused with the fixes named."""

from __future__ import annotations

import pickle

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from bin_console.cli.dispatch import main
from bin_console.config import Settings
from bin_console.trust import credentials
from bin_console.trust.credentials import CredentialStoreUnavailable, Secret, SecretMissing, get_secret

CANARY = "Zq7!kP2x"


@pytest.fixture
def allow_test_keyring(monkeypatch, mem_keyring):
    monkeypatch.setenv("BIN_CONSOLE_ALLOW_TEST_KEYRING", "1")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    return mem_keyring


@pytest.fixture
def fresh_keyring(monkeypatch):
    """Let keyring detect its backend again from the (monkeypatched) environment."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


class PlaintextLikeKeyring(KeyringBackend):
    """Stands in for keyrings.alt's PlaintextKeyring (not installed): a backend off the allow-list."""

    priority = 1

    def get_password(self, service, username):
        return "plain"

    def set_password(self, service, username, password):
        raise AssertionError("must never be written to")

    def delete_password(self, service, username):
        pass


def _settings(system_id="bin01"):
    s = Settings(db_url="sqlite://")
    s.smpp.system_id = system_id
    return s


def test_secret_masks_itself():
    s = Secret(CANARY)
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", "%s" % (s,), repr([s]), repr({"password": s})):  # noqa: UP031
        assert CANARY not in shown
    assert s.reveal() == CANARY
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_keyring_round_trip(allow_test_keyring):
    credentials.set_secret("smpp", Secret(CANARY), _settings())
    assert allow_test_keyring.store[("bin-console", "smpp:bin01")] == CANARY
    assert get_secret("smpp", _settings()).reveal() == CANARY


def test_missing_secret_names_the_command(allow_test_keyring):
    with pytest.raises(SecretMissing, match="bin-console credentials set smtp"):
        get_secret("smtp", _settings())
    assert get_secret("smtp", _settings(), required=False) is None


def test_systemd_credentials_win_and_strip_one_newline(allow_test_keyring, tmp_path, monkeypatch):
    allow_test_keyring.store[("bin-console", "smpp:bin01")] = "fromkr"
    (tmp_path / "smpp-password").write_text("fromsd\n\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert get_secret("smpp", _settings()).reveal() == "fromsd\n"
    # a service without a systemd file still comes from the keyring
    allow_test_keyring.store[("bin-console", "smtp:default")] = "mailpw"
    assert get_secret("smtp", _settings()).reveal() == "mailpw"


def test_systemd_credentials_work_without_any_keyring(fresh_keyring, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    (tmp_path / "smpp-password").write_text("sdonly")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert get_secret("smpp").reveal() == "sdonly"


def test_test_backend_refused_in_production(mem_keyring, monkeypatch):
    monkeypatch.delenv("BIN_CONSOLE_ALLOW_TEST_KEYRING", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    mem_keyring.store[("bin-console", "smpp:default")] = CANARY
    with pytest.raises(CredentialStoreUnavailable, match="test backend"):
        get_secret("smpp")


def test_fail_keyring_refused_with_fixes(fresh_keyring, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with pytest.raises(CredentialStoreUnavailable) as info:
        get_secret("smpp")
    msg = str(info.value)
    assert "keyring.backends.fail.Keyring" in msg
    assert "dbus-run-session" in msg
    assert "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring" in msg
    assert "systemd credentials" in msg


def test_broken_config_refused(fresh_keyring, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "foo.Bar")
    with pytest.raises(CredentialStoreUnavailable, match="configuration is broken.*No module named 'foo'"):
        credentials.check_backend()


def test_plaintext_backend_refused(monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setattr(keyring.core, "_keyring_backend", PlaintextLikeKeyring())
    with pytest.raises(CredentialStoreUnavailable, match="PlaintextLikeKeyring"):
        get_secret("smpp")
    with pytest.raises(CredentialStoreUnavailable):
        credentials.set_secret("smpp", Secret("abcd"), None)


def test_chainer_with_an_insecure_backend_refused(monkeypatch, mem_keyring):
    monkeypatch.setenv("BIN_CONSOLE_ALLOW_TEST_KEYRING", "1")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    chainer = ChainerBackend()
    monkeypatch.setattr(ChainerBackend, "backends", property(lambda self: [mem_keyring, PlaintextLikeKeyring()]))
    monkeypatch.setattr(keyring.core, "_keyring_backend", chainer)
    with pytest.raises(CredentialStoreUnavailable, match="chains insecure backends.*PlaintextLikeKeyring"):
        get_secret("smpp")
    # a chain of only accepted backends passes
    monkeypatch.setattr(ChainerBackend, "backends", property(lambda self: [mem_keyring]))
    assert credentials.check_backend().endswith("ChainerBackend")


def test_overlong_smpp_credentials_refused(allow_test_keyring):
    with pytest.raises(ValueError, match="at most 8 characters.*truncates"):
        credentials.set_secret("smpp", Secret("123456789"), _settings())
    with pytest.raises(ValueError, match="longer than 15"):
        credentials.set_secret("smpp", Secret("abc"), _settings("a" * 16))
    assert allow_test_keyring.store == {}
    # SMTP passwords have no such limit
    credentials.set_secret("smtp", Secret("a-long-smtp-password"), _settings())


def _feed(monkeypatch, *answers):
    it = iter(answers)
    monkeypatch.setattr(credentials.getpass, "getpass", lambda prompt="": next(it))


def test_cli_set_and_check(allow_test_keyring, monkeypatch, capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 'none' / 'x.db'}"  # no schema: the audit entry is best effort
    _feed(monkeypatch, CANARY, CANARY)
    assert main(["--db", db, "credentials", "set", "smpp"]) == 0
    out = capsys.readouterr()
    assert "stored" in out.out and CANARY not in out.out + out.err
    assert allow_test_keyring.store[("bin-console", "smpp:default")] == CANARY
    assert main(["--db", db, "credentials", "check"]) == 0
    out = capsys.readouterr()
    assert "smpp: present" in out.out and "smtp: MISSING" in out.out and CANARY not in out.out


def test_cli_set_refusals(allow_test_keyring, monkeypatch, capsys):
    _feed(monkeypatch, "abcdefgh", "abcdefgX")
    assert main(["--db", "sqlite://", "credentials", "set", "smpp"]) == 2
    assert "differ" in capsys.readouterr().err
    _feed(monkeypatch, "123456789", "123456789")
    assert main(["--db", "sqlite://", "credentials", "set", "smpp"]) == 2
    assert "at most 8" in capsys.readouterr().err
    assert allow_test_keyring.store == {}


def test_cli_exits_78_without_secure_store(fresh_keyring, monkeypatch, capsys):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(credentials.getpass, "getpass", lambda prompt="": pytest.fail("must not prompt"))
    assert main(["--db", "sqlite://", "credentials", "set", "smpp"]) == 78
    assert "dbus-run-session" in capsys.readouterr().err
    assert main(["--db", "sqlite://", "credentials", "check"]) == 78


def test_passwords_too_short_to_redact_are_refused(allow_test_keyring):
    from bin_console.trust.logsetup import MIN_SECRET_LEN

    for service in ("smpp", "smtp"):
        with pytest.raises(ValueError, match=f"shorter than {MIN_SECRET_LEN}"):
            credentials.set_secret(service, Secret("x" * (MIN_SECRET_LEN - 1)), _settings())
    assert allow_test_keyring.store == {}
    credentials.set_secret("smpp", Secret("x" * MIN_SECRET_LEN), _settings())
