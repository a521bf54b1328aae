"""Run the real bin-console in a pseudo-terminal and count the bytes it writes to the terminal.

Shared by tests/test_terminal_output.py and benchmarks/bench_terminal_bytes.py. The console is the
child of a pty (stdlib ``os.openpty``, the pty is its controlling terminal, 80x24 by default); a reader
thread keeps every chunk it writes with the time it arrived, so a caller can count bytes between two
moments without timing anything itself. ``close()`` ends the child by its PID (and only it).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from rich.cells import cell_len

BIN = str(Path(sys.executable).with_name("bin-console"))
START_TEXT = b"Type a network name"  # the networks screen's hint: the start screen is painted


def make_demo_db(folder: Path) -> Path:
    """The demo zone, made by the real `bin-console demo --no-ui`."""
    subprocess.run([BIN, "demo", "--path", str(folder), "--no-ui"], check=True, capture_output=True, timeout=180)
    return folder / "bin-console-demo.db"


def _make_controlling_tty() -> None:  # runs in the child between fork and exec
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyConsole:
    """One console process on one pty. Use as a context manager so the child always ends."""

    def __init__(self, argv: list[str], env: dict[str, str], *, cols: int = 80, rows: int = 24) -> None:
        self.argv, self.env, self.cols, self.rows = argv, env, cols, rows
        self.proc: subprocess.Popen | None = None
        self._master = -1
        self._chunks: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self.started_at = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        self._master = master
        self.started_at = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self.env,
                start_new_session=True,
                preexec_fn=_make_controlling_tty,  # preexec_fn is safe here: only an ioctl, no locks taken
                close_fds=True,
            )
        finally:
            os.close(slave)
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.2)
                if not ready:
                    if self.proc is not None and self.proc.poll() is not None:
                        return
                    continue
                data = os.read(self._master, 65536)
            except OSError:  # EIO once the child has closed its side, EBADF after close()
                return
            if not data:
                return
            with self._lock:
                self._chunks.append((time.monotonic(), data))

    def close(self) -> None:
        """End the child (SIGTERM, then SIGKILL) by its PID, then close the pty."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        if self._reader is not None:
            self._reader.join(timeout=5)

    def __enter__(self) -> PtyConsole:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ input
    def send(self, data: bytes) -> float:
        """Write keys to the console's terminal; returns the moment they were written."""
        os.write(self._master, data)
        return time.monotonic()

    # ------------------------------------------------------------------ output
    def output(self) -> bytes:
        with self._lock:
            return b"".join(data for _, data in self._chunks)

    def total(self) -> int:
        with self._lock:
            return sum(len(data) for _, data in self._chunks)

    def bytes_since(self, moment: float) -> int:
        with self._lock:
            return sum(len(data) for at, data in self._chunks if at >= moment)

    def chunks_since(self, moment: float) -> list[tuple[float, int]]:
        """(arrival time, byte count) of every chunk written since ``moment``."""
        with self._lock:
            return [(at, len(data)) for at, data in self._chunks if at >= moment]

    def last_output_at(self) -> float:
        with self._lock:
            return self._chunks[-1][0] if self._chunks else self.started_at

    def wait_for(self, needle: bytes, timeout: float = 60.0) -> float:
        """Wait until ``needle`` has been written (anywhere in the output); returns when it arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                chunks = list(self._chunks)
            end = b"".join(data for _, data in chunks).find(needle) + len(needle)
            if end >= len(needle):
                for at, data in chunks:  # the chunk that holds the needle's last byte
                    end -= len(data)
                    if end <= 0:
                        return at
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"console exited ({self.proc.returncode}) before writing {needle!r}")
            time.sleep(0.02)
        raise AssertionError(f"{needle!r} not written within {timeout}s; last output: {self.output()[-400:]!r}")

    def wait_quiet(self, quiet_s: float, timeout: float = 60.0) -> float:
        """Wait until nothing has been written for ``quiet_s``; returns the time of the last byte."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.last_output_at()
            if time.monotonic() - last >= quiet_s:
                return last
            time.sleep(0.02)
        raise AssertionError(f"the console kept writing for {timeout}s")


def console_env(home: Path, term: str = "linux", **extra: str) -> dict[str, str]:
    """A clean environment: no SSH variables unless asked for, config/log dirs inside ``home``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": term,
        "LANG": "C.UTF-8",
        "TEXTUAL_ANIMATIONS": "none",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    env.update(extra)
    return env


def write_training_config(folder: Path, smsc_port: int) -> Path:
    cfg = folder / "config.toml"
    cfg.write_text(
        f'[smpp]\nhost = "127.0.0.1"\nport = {smsc_port}\nsystem_id = "training"\ntraining = true\n'
        "[smtp]\ntraining = true\n",
        encoding="utf-8",
    )
    return cfg


def temp_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


_SEQUENCE = re.compile(
    r"\x1b\[([0-9;?<>=$]*)([@-~])"  # CSI: cursor moves, SGR, modes
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[()][0-9A-Za-z]|\x1b[=>78cDEM]"
)


def screen_lines(data: bytes, cols: int = 80, rows: int = 24) -> list[str]:
    """What a terminal shows after ``data``: the characters only (no colours), enough of a VT to
    follow what Textual writes (absolute cursor moves, text, CR/LF, erase screen, erase to end of line). Used to check
    that partial repaints leave the terminal showing what a full paint would."""
    grid = [[" "] * cols for _ in range(rows)]
    y = x = 0
    text = data.decode("utf-8", "replace")
    pos = 0
    while pos < len(text):
        m = _SEQUENCE.match(text, pos)
        if m is not None:
            params, final = m.group(1), m.group(2)
            if final == "H" and params is not None and not params.startswith("?"):
                parts = [int(p) if p else 1 for p in params.split(";")] if params else [1, 1]
                y, x = parts[0] - 1, (parts[1] if len(parts) > 1 else 1) - 1
            elif final == "J" and params in ("2", "3"):
                grid = [[" "] * cols for _ in range(rows)]
            elif final == "K" and params in (None, "", "0") and 0 <= y < rows:  # erase to end of line
                grid[y][x:] = [" "] * (cols - x)
            pos = m.end()
            continue
        ch = text[pos]
        pos += 1
        if ch == "\r":
            x = 0
        elif ch == "\n":
            y = min(y + 1, rows - 1)
        elif ch == "\x1b" or ord(ch) < 32:
            continue
        else:
            width = cell_len(ch)
            if 0 <= y < rows and 0 <= x < cols:
                grid[y][x] = ch
                if width == 2 and x + 1 < cols:
                    grid[y][x + 1] = ""
            x += width
    return ["".join(line) for line in grid]
