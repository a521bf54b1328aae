"""End to end: the real program in tmux at 80x24 (TERM=linux and xterm-256color), driven by
send-keys, against the training SMSC on loopback. Skipped when tmux is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tmux_driver import TmuxDriver, have_tmux

from bin_console.training.smsc_sim import SmscSim

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not have_tmux(), reason="tmux is not installed"),
]

BIN = str(Path(sys.executable).with_name("bin-console"))
ALERT = "Inbraak bezig Kerkstraat. Blijf binnen, bel 101."


@pytest.fixture(scope="module")
def demo_db_template(tmp_path_factory) -> Path:
    """The demo zone, made once by the real `bin-console demo --no-ui`; copied per test."""
    d = tmp_path_factory.mktemp("demo")
    subprocess.run([BIN, "demo", "--path", str(d), "--no-ui"], check=True, capture_output=True, timeout=120)
    return d / "bin-console-demo.db"


@pytest.fixture
def console(tmp_path, demo_db_template):
    db = tmp_path / "bin.db"
    shutil.copy(demo_db_template, db)
    sim = SmscSim("127.0.0.1", 0)
    sim.start()
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[smpp]\nhost = "127.0.0.1"\nport = {sim.port}\nsystem_id = "training"\ntraining = true\n'
        "[smtp]\ntraining = true\n",
        encoding="utf-8",
    )
    drivers: list[TmuxDriver] = []

    def start(term: str) -> TmuxDriver:
        drv = TmuxDriver()
        drivers.append(drv)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),  # config/log dirs of the run stay in the test folder
            "TERM": term,
            "LANG": "C.UTF-8",
            "TEXTUAL_ANIMATIONS": "none",
        }
        drv.start([BIN, "--config", str(cfg), "--db", f"sqlite:///{db}", "console", "--no-blink"], env)
        drv.wait_for(r"SMSC bound", timeout=30)
        return drv

    try:
        yield start
    finally:  # every tmux server and console we started, then the SMSC, even when a close fails
        try:
            for drv in drivers:
                drv.close()
        finally:
            sim.stop()


@pytest.mark.parametrize("term", ["linux", "xterm-256color"])
def test_street_to_delivered_then_quit(console, term):
    t = console(term)
    t.text("kerkstraat")
    t.wait_for(r"\d+ matches")
    t.keys("Enter")
    t.keys("F4")
    t.wait_for(r"URGENT · SMS")
    t.text(ALERT)
    t.wait_for(r"Recipients: SMS (\d+)")
    t.wait_for(rf"{len(ALERT)} chars · GSM-7")
    t.keys("F5")
    t.wait_for(r"Send this alert\?")
    t.keys("F5")  # at once: the window is on screen, so this F5 is deliberate (issue 7, item 5)
    m = t.wait_for(r"complete: (\d+)/(\d+) left the queue", timeout=60)
    assert m.group(1) == m.group(2)
    t.wait_for(r"delivered \d+")
    if term == "linux":
        assert t.missing_glyphs() == set(), "glyphs the Linux console fonts lack"
    t.keys("C-q")
    t.wait_for(r"\[exit 0\]", timeout=20)


def test_type_ahead_burst_lands_in_compose(console):
    t = console("linux")
    # One send-keys: the street, Enter, F4 and the text, as a dispatcher typing ahead over SSH.
    t.keys("kerkstraat", "Enter", "F4", "Inbraak Kerkstraat nu")
    t.wait_for(r"URGENT · SMS")
    t.wait_for(r"║ Inbraak Kerkstraat nu\s")
    t.wait_for(r"21 chars · GSM-7")
    assert t.missing_glyphs() == set()
    t.keys("Escape")  # back, nothing sent; quitting needs no confirmation
    t.keys("C-q")
    t.wait_for(r"\[exit 0\]", timeout=20)


def test_a_search_with_no_match_leaves_nothing_to_alert(console):
    """Issue 7, item 1, as reported: BIN Kerkwijk opened, Escape, the search cleared, a street that
    matches nothing, Enter, F4 / F3 - nothing opens, the console says nothing is selected."""
    t = console("linux")
    t.text("kerkwijk")
    t.wait_for(r"\d+ match")
    t.keys("Enter")
    t.wait_for(r"Coordinator:")
    t.keys("Escape")
    t.wait_for(r"Type a network name|\d+ match")
    t.keys(*["BSpace"] * len("kerkwijk"))
    t.text("Chausee de Namur")
    t.wait_for(r"No match for Chausee de Namur")
    t.keys("Enter", "F4")
    t.wait_for(r"Nothing selected")
    t.keys("F3")
    t.text("x")  # handled after F3: if F3 had opened a screen, the x would have gone there
    t.wait_for(r"No match for Chausee de Namurx")
    screen = t.capture()
    assert "URGENT" not in screen and "Members of" not in screen and "Send this alert" not in screen
    t.keys("C-q")
    t.wait_for(r"\[exit 0\]", timeout=20)


def test_the_member_form_shows_what_is_typed_on_the_linux_console(console):
    """Issue 7: on TERM=linux the VT stylesheet's Input border hid the form's one-row values."""
    t = console("linux")
    t.text("kerkwijk")
    t.wait_for(r"\d+ match")
    t.keys("Enter")
    t.wait_for(r"Coordinator:")
    t.keys("F3")
    t.wait_for(r"Members")
    t.keys("C-n")
    t.wait_for(r"New member")
    t.text("Zoe Vandamme")
    t.keys("Tab")
    t.text("0470123456")
    t.wait_for(r"Zoe Vandamme")  # the typed values are on the terminal, not only border lines
    t.wait_for(r"0470123456")


def _until(t: TmuxDriver, ready, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready(screen := t.capture()):
        if time.monotonic() > deadline:
            raise AssertionError(f"after {what!r} the screen never got there:\n{screen}")
        time.sleep(0.05)


CHANGED = object()


def _until_changed(t: TmuxDriver, before: str, what: str, timeout: float = 15.0) -> None:
    """Wait until the pane (with colours and attributes) differs from ``before``: the key was handled."""
    deadline = time.monotonic() + timeout
    while t.capture(styles=True) == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"after {what!r} the screen never changed:\n{before}")
        time.sleep(0.05)


def _settled(t: TmuxDriver, quiet_s: float = 0.6, timeout: float = 20.0) -> str:
    """The pane, with every cell's colours and attributes, once it has not changed for ``quiet_s``."""
    deadline = time.monotonic() + timeout
    last, since = t.capture(styles=True), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = t.capture(styles=True)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
    raise AssertionError(f"the screen kept changing for {timeout}s:\n{last}")


@pytest.mark.parametrize("term", ["linux", "xterm-256color"])
def test_every_screen_shows_what_a_full_repaint_shows(console, term):
    """Only the rows the terminal does not already show are written (screens/textual_compat.py).
    The oracle: after each step through the screens and modals, F12 writes every row again; if the
    terminal (tmux: a real VT parser) showed anything else before, characters or colours and
    attributes (reverse, bold), a row was skipped or written wrongly."""
    t = console(term)

    def shows(pattern: str):
        return lambda screen: re.search(pattern, screen) is not None

    def gone(text: str):
        return lambda screen: text not in screen

    # each step with what its screen must show (or no longer show) before the comparison: a step
    # whose key was not handled yet would otherwise compare the old screen with itself, and one
    # handled only after the quiet period (a loaded host) would compare it with the next screen.
    # CHANGED: no text to wait for, but the screen (colours and attributes too) must change.
    steps = [
        ("text", "kerk", shows(r"\d+ match")),
        ("keys", "Down", CHANGED),  # the highlight moves to the second match
        ("keys", "Enter", shows(r"Coordinator:")),
        ("keys", "F3", shows(r"Members of BIN")),
        ("keys", "C-n", shows(r"New member")),  # the form, a modal over the list
        ("text", "Jan Peeters", shows(r"Jan Peeters")),
        ("keys", "Escape", shows(r"throw away what you typed")),  # a question over the form
        ("keys", "y", gone("New member")),
        ("keys", "C-p", shows(r"Search for commands")),  # the command palette over the members
        ("keys", "Escape", gone("Search for commands")),
        ("keys", "F4", shows(r"URGENT · SMS")),
        ("text", "Inbraak Kerkstraat, blijf binnen", shows(r"chars · GSM-7")),
        ("keys", "F5", shows(r"Send this alert\?")),
        ("keys", "Escape", gone("Send this alert")),
        ("keys", "Escape", gone("URGENT · SMS")),
        ("keys", "F8", shows(r"Past alerts")),
        ("keys", "F7", shows(r"Replies - all")),
        ("keys", "F6", shows(r"No alert sent yet")),
        ("keys", "F1", shows(r"Keys|keys")),
        ("keys", "Escape", CHANGED),  # the help closes
        ("keys", "F2", shows(r"network, street|match")),
        ("keys", "BSpace", None),
    ]
    for kind, what, ready in steps:
        before = t.capture(styles=True)
        t.text(what) if kind == "text" else t.keys(what)
        if ready is CHANGED:
            _until_changed(t, before, what)
        elif ready is not None:
            _until(t, ready, what)
        shown = _settled(t)
        t.keys("F12")
        repainted = _settled(t)
        assert shown == repainted, f"after {what!r} the screen differed from a full repaint"
    t.keys("C-q")
    t.wait_for(r"\[exit 0\]", timeout=20)
