"""pytest plugin: SMSC peers on loopback (the training SMSC, and a non-smpplib one). Owner: encoding/SMSC.

Fixtures:
- ``smsc``: a started ``bin_console.training.smsc_sim.SmscSim`` on a free port (default options), stopped after;
  its ``wait_for`` waits up to ``WAIT_S`` (30 s) by default (``TestSmsc``).
- ``smsc_factory(**options)``: start more, or differently configured, simulators; all stopped after.
- ``node_smsc``: the Node SMSC of tests/interop (npm ``smpp`` server), a ``NodeSmsc`` with ``.port``
  and ``.submits()`` (the JSON lines it logged). Skips when node or tests/interop/node_modules is
  missing; CI installs it with ``npm ci --prefix tests/interop``.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bin_console.training.smsc_sim import SmscSim

INTEROP_DIR = Path(__file__).parent / "interop"
WAIT_S = 30.0  # how long a test waits for something that must happen (a loaded 2-core CI host is slow)


class TestSmsc(SmscSim):
    """SmscSim whose wait_for() waits WAIT_S by default, not SmscSim's 5 s.

    The tests wait for round trips through a sender, SQLite commits and loopback sockets; 5 s is
    not much on a loaded CI host. A wait that must time out (nothing may happen) passes its own
    short timeout, and a condition met returns at once, so the longer default costs nothing."""

    __test__ = False  # not a test class

    def wait_for(self, predicate, timeout: float = WAIT_S) -> bool:
        return super().wait_for(predicate, timeout)


@pytest.fixture
def smsc_factory():
    started: list[SmscSim] = []

    def make(**options) -> SmscSim:
        sim = TestSmsc("127.0.0.1", 0, **options)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:  # stop() is bounded (SmscSim.stop's deadline) and never raises on a stopped sim
        sim.stop()


@pytest.fixture
def smsc(smsc_factory) -> SmscSim:
    return smsc_factory()


class NodeSmsc:
    """A running tests/interop/smsc.js; reads its stdout JSON lines in a thread."""

    def __init__(self, proc: subprocess.Popen, port: int, lines: queue.Queue) -> None:
        self.proc = proc
        self.port = port
        self._lines = lines
        self._submits: list[dict] = []
        self._lock = threading.Lock()

    def _drain(self) -> None:
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("event") == "submit":
                with self._lock:
                    self._submits.append(obj)

    def submits(self) -> list[dict]:
        self._drain()
        with self._lock:
            return list(self._submits)

    def wait_submits(self, n: int, timeout: float = 10.0) -> list[dict]:
        """Wait (with a deadline) until the peer logged at least n accepted submit_sm."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.submits()
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.02)


def _node_skip_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (needed for the interop SMSC in tests/interop)"
    if not (INTEROP_DIR / "node_modules" / "smpp").is_dir():
        return "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop`"
    return None


@pytest.fixture
def node_smsc():
    reason = _node_skip_reason()
    if reason:
        pytest.skip(reason)
    env = dict(os.environ, SMSC_PORT="0")
    proc = subprocess.Popen(
        ["node", str(INTEROP_DIR / "smsc.js")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines: queue.Queue = queue.Queue()
    first: queue.Queue = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            obj = None
            try:
                obj = json.loads(line)
            except ValueError:
                pass
            if isinstance(obj, dict) and obj.get("event") == "listening":
                first.put(obj)
            else:
                lines.put(line)
        first.put(None)

    threading.Thread(target=pump, daemon=True, name="node-smsc-stdout").start()
    try:
        hello = first.get(timeout=20)
    except queue.Empty:
        hello = None
    if not hello:
        proc.kill()
        proc.wait(timeout=10)
        err = proc.stderr.read() if proc.stderr else ""
        pytest.fail(f"tests/interop/smsc.js did not report 'listening': {err[-2000:]}")
    try:
        yield NodeSmsc(proc, int(hello["port"]), lines)
    finally:
        # the PID we started, and only it
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
