"""The real `bin-console` program on edge cases: a clear line and an exit code, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from cli_subprocess import BIN, isolated_env, run_bin

NETWORK = "BIN Kerkwijk"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edge")
    proc = run_bin(tmp, "demo", "--no-ui", "--path", str(tmp / "demo"))
    assert proc.returncode == 0, proc.stderr
    return tmp, f"sqlite:///{tmp / 'demo' / 'bin-console-demo.db'}"


def test_an_alert_id_too_large_for_the_database_is_a_usage_error(demo_url):
    tmp, url = demo_url
    proc = run_bin(tmp, "--db", url, "alerts", "show", "99999999999999999999999")
    assert proc.returncode == 2
    assert b"Traceback" not in proc.stderr
    assert b"argument id: 99999999999999999999999 is out of range" in proc.stderr


@pytest.mark.parametrize("value", ["0", "-3", "abc"])
def test_other_bad_alert_ids_are_usage_errors(demo_url, value):
    tmp, url = demo_url
    proc = run_bin(tmp, "--db", url, "alerts", "show", "--", value)
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr and b"argument id" in proc.stderr


def test_export_into_a_closed_pipe_ends_quietly(demo_url):
    """`export members | head -1` once head has gone: the exporter stops without a word, like a Unix tool.

    The read end is closed before the exporter starts, so its first write meets EPIPE whatever the timing.
    """
    tmp, url = demo_url
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [BIN, "--db", url, "export", "members", "--network", NETWORK],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=isolated_env(tmp),
            start_new_session=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == b""
    assert proc.returncode == 128 + signal.SIGPIPE


def test_invalid_utf8_in_an_argument_is_refused_clearly(demo_url):
    tmp, url = demo_url
    for args in (
        [b"networks", b"search", b"\xff\xfe"],
        [b"send", b"--network", b"BIN \xff", b"--text", b"hi"],
        [b"export", b"members", b"--network", b"\xc3("],
    ):
        proc = run_bin(tmp, "--db", url, *args)
        assert proc.returncode == 2, proc.stderr
        assert b"Traceback" not in proc.stderr
        assert b"is not valid UTF-8; nothing done" in proc.stderr


END_PROCESS = """
import atexit, sys, threading
from pathlib import Path
marker = Path(sys.argv[1])
atexit.register(lambda: marker.write_text("ran", encoding="utf-8"))
# a thread that is not a daemon, alive until main() has returned however long the command takes
# (a fixed 0.5 s wait ended before a slow run's end): the interpreter's own shutdown joins it
released = threading.Event()
if sys.argv[2] == "thread":
    threading.Thread(target=released.wait).start()
sys.argv = ["bin-console", "--db", sys.argv[3], "networks", "search", "Kerkwijk"]
from bin_console.cli.dispatch import main
rc = main()
print("returned", rc, flush=True)
released.set()
raise SystemExit(rc)
"""


@pytest.mark.parametrize("threads", ["none", "thread"])
def test_the_command_ends_its_process_after_atexit_handlers_and_flushed_output(demo_url, tmp_path, threads):
    """The entry point ends the process itself (no slow module teardown) but still runs the atexit
    handlers (openpyxl removes its temp files in one) and flushes what it printed; with a thread
    that is not a daemon still running, it returns and Python's own shutdown joins that thread."""
    tmp, url = demo_url
    marker = tmp_path / "atexit"
    done = subprocess.run(
        [sys.executable, "-c", END_PROCESS, str(marker), threads, url],
        capture_output=True,
        text=True,
        timeout=120,
        env=isolated_env(tmp),
    )
    assert done.returncode == 0, done.stderr
    assert "BIN Kerkwijk" in done.stdout
    assert ("returned 0" in done.stdout) is (threads == "thread")
    assert marker.read_text(encoding="utf-8") == "ran"


CLOSED_STREAM = """
from bin_console.cli.dispatch import end_process
print("ignored")
end_process(0)
"""


@pytest.mark.parametrize("fd", [1, 2])
def test_end_process_keeps_the_status_with_a_closed_stream(fd):
    """`bin-console ... >&-` (or a supervisor that closes it): Python sets sys.stdout/stderr to None,
    print() writes nothing and the command still succeeds; flushing None raised AttributeError and
    ended with status 1, which for `send` means "some recipients failed" (a script may send again)."""
    done = subprocess.run(["/bin/sh", "-c", f'"{sys.executable}" -c "$0" {fd}>&-', CLOSED_STREAM], timeout=120)
    assert done.returncode == 0
