"""The one place that reaches into Textual's private API, for what its public API cannot do yet.

Import it only from bin_console/app.py and screens/ (tests/test_ui_textual_compat.py checks that
and pins the behaviour each call relies on, so a Textual upgrade that changes it fails there).
"""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen


def raise_screen(app: App, screen: Screen) -> None:
    """Take ``screen`` out of the stack so that pushing it again brings it to the top: one copy,
    and the screens above it stay. There is no public "raise" (``push_screen`` of a screen already
    in the stack would show it twice)."""
    app._screen_stack.remove(screen)
    screen._pop_result_callback()  # push_screen adds one again
