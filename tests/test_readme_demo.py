"""The README's demo commands work as written: run verbatim by bash against a fresh HOME."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
SIM_PORT = 2775  # the README's smsc-sim and training.toml use the default port


def demo_block() -> str:
    section = README.read_text(encoding="utf-8").split("## The demo", 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```sh\n(.*?)```", section, re.S)
    assert m, "README: no sh block under '## The demo'"
    return m.group(1)


def _port_free(port: int) -> bool:
    """Nobody listens there (a socket in TIME_WAIT does not count: smsc-sim binds with SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_the_readme_demo_block_runs_as_written(tmp_path):
    if not _port_free(SIM_PORT):
        pytest.skip(f"127.0.0.1:{SIM_PORT} is in use; the README's commands need the default port")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIN_CONSOLE_", "XDG_"))}
    env.pop("CREDENTIALS_DIRECTORY", None)
    env["HOME"] = str(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    script = "set -euo pipefail\n" + demo_block() + "wait\n"  # wait: smsc-sim has ended after its SIGINT
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # bash, the demo commands and the backgrounded smsc-sim share this group
    )
    try:
        out, _ = proc.communicate(timeout=240)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of our group is left when the script failed
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
    text = out.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "Alert 1 queued" in text and "SMS parts accepted: " in text
    assert re.search(r"Alert 1: \d+ recipient\(s\): delivered \d+", text), text
    assert "stopped: " in text and "submit_sm accepted" in text  # the training SMSC received them
    assert (tmp_path / "bin-demo" / "bin-console-demo.db").exists()
