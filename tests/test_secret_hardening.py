"""A process that holds secrets cannot be core-dumped, and a keyring passphrase with no terminal fails clearly."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from cli_subprocess import isolated_env, run_bin

CRYPTFILE = "keyrings.cryptfile.cryptfile.CryptFileKeyring"

CHILD = textwrap.dedent(
    """
    import ctypes
    from bin_console.trust.credentials import get_secret

    secret = get_secret("smpp")
    assert secret.reveal() == "s3cr3t!x"
    limits = open("/proc/self/limits").read().splitlines()
    print([line for line in limits if line.startswith("Max core file size")][0].split()[4:6])
    print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE
    """
)


def test_reading_a_secret_turns_off_core_dumps(tmp_path):
    """In a child process, so the test runner itself stays dumpable and debuggable."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "smpp-password").write_text("s3cr3t!x\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=isolated_env(tmp_path, CREDENTIALS_DIRECTORY=str(creds)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    soft_hard, dumpable = proc.stdout.splitlines()
    assert soft_hard == "['0', '0']"
    assert dumpable == "0"


@pytest.fixture
def locked_cryptfile(tmp_path):
    """A keyrings.cryptfile keyring holding the SMPP password, locked by a passphrase."""
    pytest.importorskip("keyrings.cryptfile", reason="the `headless` extra (keyrings.cryptfile) is not installed")
    env = isolated_env(tmp_path, PYTHON_KEYRING_BACKEND=CRYPTFILE)
    store = (
        "from keyrings.cryptfile.cryptfile import CryptFileKeyring\n"
        "k = CryptFileKeyring(); k.keyring_key = 'passphrase1'\n"
        "k.set_password('bin-console', 'smpp:default', 'pw12345')\n"
    )
    subprocess.run([sys.executable, "-c", store], env=env, check=True, timeout=60)
    return env


@pytest.mark.parametrize(
    "command", [["sender"], ["credentials", "check"], ["send", "--network", "x", "--text", "t", "--yes"]]
)
def test_a_passphrase_keyring_without_a_terminal_gives_one_clear_line(tmp_path, locked_cryptfile, command):
    db = tmp_path / "bin.db"
    url = f"sqlite:///{db}"
    if command[0] == "send":
        demo = run_bin(tmp_path, "demo", "--no-ui", "--path", str(tmp_path / "demo"), env=locked_cryptfile)
        assert demo.returncode == 0, demo.stderr
        url = f"sqlite:///{tmp_path / 'demo' / 'bin-console-demo.db'}"
        command = ["send", "--network", "BIN Kerkwijk", "--text", "test", "--yes"]
    else:
        assert run_bin(tmp_path, "--db", url, "db", "upgrade", env=locked_cryptfile).returncode == 0
    proc = run_bin(tmp_path, "--db", url, *command, env=locked_cryptfile)
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert "needs its passphrase and there is no terminal to ask it on" in (err + proc.stdout.decode())
    assert "Please enter password" not in err  # no prompt that nobody can answer
    if command[0] != "credentials":
        assert proc.returncode == 78
