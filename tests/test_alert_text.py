"""One rule for text that goes to members: ESC/OSC/bidi controls are refused on every path."""

from __future__ import annotations

import pytest
from alert_ui_helpers import make_app, seed, settle
from bin_console.data.models import Alert, Delivery
from bin_console.screens.compose import ComposeScreen
from cli_subprocess import run_bin
from sqlalchemy import func, select
from test_ui_compose import open_compose
from textual.widgets import TextArea

from bin_console.alerts import service as alerts
from bin_console.trust.actor import Actor
from bin_console.trust.textsafe import check_alert_text

HOSTILE = {
    "osc-title": "Inbraak\x1b]0;owned\x07 Kerkstraat",
    "csi-clear": "\x1b[2JInbraak",
    "c1-csi": "Inbraak \x9b31m",
    "bidi-override": "Bel 101 \u202e0112 leb",
    "bidi-isolate": "Inbraak \u2066x\u2069",
    "nul": "Inbraak\x00",
}


def _count(db, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_create_alert_refuses_control_characters_and_writes_nothing(sqlite_db, text):
    info = seed(sqlite_db)
    with pytest.raises(ValueError, match=r"invisible control character \(U\+[0-9A-F]{4}\) at position \d+"):
        alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text=text, actor=Actor("t", "h"))
    assert _count(sqlite_db, Alert) == 0 and _count(sqlite_db, Delivery) == 0


def test_a_line_break_is_allowed(sqlite_db):
    info = seed(sqlite_db)
    text = "Inbraak Kerkstraat\nBel 101"
    assert check_alert_text(text) == text
    alert_id = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text=text, actor=Actor("t", "h"))
    with sqlite_db.read() as s:
        assert s.get(Alert, alert_id).text == text


def test_the_rule_names_the_character_and_its_position():
    with pytest.raises(ValueError, match=r"\(U\+001B\) at position 8;"):
        check_alert_text("Inbraak\x1b]0;x\x07")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("text")
    proc = run_bin(tmp, "demo", "--no-ui", "--path", str(tmp / "demo"))
    assert proc.returncode == 0, proc.stderr
    return tmp, f"sqlite:///{tmp / 'demo' / 'bin-console-demo.db'}"


def test_send_text_with_an_escape_sequence_is_refused(demo):
    tmp, url = demo
    proc = run_bin(tmp, "--db", url, "send", "--network", "BIN Kerkwijk", "--text", HOSTILE["osc-title"], "--yes")
    assert proc.returncode == 2
    assert b"invisible control character (U+001B) at position 8" in proc.stderr
    listed = run_bin(tmp, "--db", url, "alerts", "list")
    assert listed.stdout.strip() == b"No alerts yet."


async def test_compose_shows_the_refusal_and_opens_no_confirmation(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, info["network_id"])
        screen.query_one("#body", TextArea).load_text(HOSTILE["bidi-override"])
        await pilot.pause()
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        notes = "\n".join(str(n.message) for n in app._notifications)
        assert "invisible control character (U+202E) at position 9" in notes
    assert _count(sqlite_db, Alert) == 0
