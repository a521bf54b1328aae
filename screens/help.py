"""F1: every key of the screen it was opened from, then the global keys. Full screen (80x24 safe).

Built from the bindings themselves (screens/keys.py), with the config's [keys] remapping applied,
plus the screen's ``KEY_NOTES`` for what is not a binding (typing, Enter in a field)."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from bin_console.i18n import N_, _

from .base import BaseScreen
from .keys import help_line, key_label, own_bindings

KEY_WIDTH = 18
LINE_WIDTH = 74  # 80 columns less the padding and the scrollbar: wider lines would wrap again, under the keys


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


def binding_rows(bindings: list[Binding]) -> list[tuple[str, str]]:
    return [(key_label(b.key), help_line(b)) for b in bindings]


class HelpScreen(BaseScreen):
    INITIAL_FOCUS = "#help-body"
    KEY_NOTES = [("Escape", N_("close help")), ("Up/Down/PgUp/PgDn", N_("scroll"))]

    def __init__(self, for_screen: Screen) -> None:
        super().__init__()
        self._for = for_screen

    def screen_rows(self) -> tuple[str, list[tuple[str, str]]]:
        screen = self._for
        keymap = self.app.settings.keys
        if not isinstance(screen, BaseScreen):
            return _("this screen"), []
        title = _(screen.TITLE_TEXT) if screen.TITLE_TEXT else _("this window")  # never a class name
        # KEY_NOTES hold N_() msgids: translated here. Key names ("Enter") are not messages, so _()
        # leaves them as they are; "type" is one.
        notes = [(_(key), _(what)) for key, what in screen.KEY_NOTES]
        return title, binding_rows(own_bindings(type(screen).BINDINGS, keymap)) + notes

    def compose_body(self):
        title, rows = self.screen_rows()
        everywhere = binding_rows(own_bindings(self.app.BINDINGS, self.app.settings.keys))
        with VerticalScroll(id="help-body"):
            yield Static(help_table(_("Keys on {screen}").format(screen=title), rows), id="help-screen-keys")
            yield Static(help_table(_("Everywhere"), everywhere), id="help-global-keys")

    def go_back(self) -> bool:
        self.app.pop_screen()
        return True
