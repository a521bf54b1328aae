"""Drive the real bin-console in tmux: a private tmux server per driver, send-keys, capture-pane,
wait for screen text with a deadline (polling every 50 ms, never fixed sleeps).

The program runs as ``cmd; echo "[exit $?]"; sleep 600`` so its exit status shows on the screen:
tmux's own pane_dead status lags under load (shared notes/textual.md §3.2 pitfall 9).
Each driver uses its own tmux socket (-L), so cleaning up kills only our server and sessions.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import uuid

POLL_S = 0.05

# Glyphs the Linux console fonts lack (shared notes/textual.md §2.5), plus Textual's half-cell bar ends.
VT_MISSING = set("▔▁▊▎▏▂▃▄▅▆▇⭘⏎🔎") | set("╸╺")


def have_tmux() -> bool:
    return shutil.which("tmux") is not None


class TmuxDriver:
    def __init__(self, *, width: int = 80, height: int = 24) -> None:
        self.socket = f"h7e2e-{uuid.uuid4().hex[:10]}"
        self.session = "s"
        self.width, self.height = width, height
        self.captures: list[str] = []

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check)

    def start(self, argv: list[str], env: dict[str, str], cwd: str | None = None) -> None:
        env_part = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        cmd = f'env -i {env_part} {shlex.join(argv)}; echo "[exit $?]"; sleep 600'
        args = ["new-session", "-d", "-s", self.session, "-x", str(self.width), "-y", str(self.height)]
        if cwd:
            args += ["-c", cwd]
        self._tmux("-f", "/dev/null", *args, cmd)

    def keys(self, *names: str) -> None:
        """Named keys (Enter, F4, C-q) and plain words, all in ONE send-keys (one burst)."""
        self._tmux("send-keys", "-t", self.session, *names)

    def text(self, literal: str) -> None:
        self._tmux("send-keys", "-t", self.session, "-l", literal)

    def capture(self, *, styles: bool = False) -> str:
        """The pane's text; with ``styles``, with the colours and attributes of every cell too
        (tmux's -e: the SGR sequences of what it shows)."""
        flags = ["-p", "-e"] if styles else ["-p"]
        out = self._tmux("capture-pane", *flags, "-t", self.session, check=False).stdout
        if not styles:
            self.captures.append(out)
        return out

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            m = rx.search(screen)
            if m:
                return m
            time.sleep(POLL_S)
        raise AssertionError(f"timed out after {timeout}s waiting for {pattern!r}; screen:\n{screen}")

    def missing_glyphs(self) -> set[str]:
        return {ch for screen in self.captures for ch in screen if ch in VT_MISSING}

    def close(self, wait_s: float = 5.0) -> None:
        """Kill our tmux server, then make sure the program in the pane is gone: its process group
        (tmux made the pane a session leader) gets SIGHUP from tmux, SIGTERM after a bounded wait,
        then SIGKILL. Only the PIDs of our own pane are signalled."""
        pane = self._tmux("display-message", "-p", "-t", self.session, "#{pane_pid}", check=False).stdout.strip()
        self._tmux("kill-server", check=False)
        if not pane.isdigit():
            return  # the server never started or is already gone with its pane
        pgid = int(pane)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    return
                time.sleep(POLL_S)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
