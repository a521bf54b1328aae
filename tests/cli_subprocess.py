"""Run the real `bin-console` entry point in a child process, isolated from the operator's setup.

The child gets its own XDG folders under tmp_path (no operator config, data or keyring leaks in),
no BIN_CONSOLE_* variables, no controlling terminal (a new session) and stdin from /dev/null unless
given; subprocess.run kills it when the bounded timeout passes, so no test leaves it running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = str(Path(sys.executable).with_name("bin-console"))
TIMEOUT_S = 120


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIN_CONSOLE_") and k != "CREDENTIALS_DIRECTORY"}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / "xdg" / name.lower())
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_bin(
    tmp_path: Path, *args: str | bytes, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [BIN, *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        env=env if env is not None else isolated_env(tmp_path),
        timeout=TIMEOUT_S,
        start_new_session=True,
        cwd=tmp_path,
        check=False,
    )
