"""F1: every key of the screen it was opened from, then the global keys. Full screen (80x24 safe)."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from .base import BaseScreen

KEY_WIDTH = 18
LINE_WIDTH = 78  # 80 columns less the padding


def help_table(title: str, rows: list[tuple[str, str]]) -> Text:
    """Plain text (no box glyphs: the Linux console fonts lack some), key column then meaning; a
    long meaning wraps under itself (to fit 80 columns), never back under the keys."""
    out = Text(end="")
    out.append(title + "\n", style="bold underline")
    for key, what in rows:
        out.append(key.ljust(KEY_WIDTH), style="bold")
        lines = textwrap.wrap(what, LINE_WIDTH - KEY_WIDTH) or [""]
        out.append(("\n" + " " * KEY_WIDTH).join(lines) + "\n")
    out.append("\n")
    return out


class HelpScreen(BaseScreen):
    INITIAL_FOCUS = "#help-body"
    HELP = [("Escape / F1", "close help"), ("Up/Down/PgUp/PgDn", "scroll")]

    def __init__(self, for_screen: Screen | None = None) -> None:
        super().__init__()
        self._for = for_screen

    def screen_rows(self) -> tuple[str, list[tuple[str, str]]]:
        screen = self._for
        if screen is None:
            return "This screen", []
        title = screen.TITLE_TEXT if isinstance(screen, BaseScreen) and screen.TITLE_TEXT else "this window"
        return title, list(getattr(screen, "HELP", []))

    def compose_body(self):  # noqa: ANN201
        from bin_console.app import GLOBAL_KEYS

        title, rows = self.screen_rows()
        with VerticalScroll(id="help-body"):
            yield Static(help_table(f"Keys on {title}", rows), id="help-screen-keys")
            yield Static(help_table("Everywhere", GLOBAL_KEYS), id="help-global-keys")

    def action_close(self) -> None:
        self.app.pop_screen()

    def go_back(self) -> bool:
        self.app.pop_screen()
        return True
