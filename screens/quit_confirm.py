"""Ctrl+Q while alerts are still being sent: ask first. Opens on "Stay"; quitting needs `y`."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, Static

from .base import BaseModal


class QuitConfirmModal(BaseModal):
    INITIAL_FOCUS = "#stay"
    HELP = [("y", "quit anyway (queued messages stay queued)"), ("n / Escape", "stay")]
    BINDINGS = [Binding("y", "quit", "Quit anyway"), Binding("n", "stay", "Stay")]
    DEFAULT_CSS = """
    QuitConfirmModal { align: center middle; }
    QuitConfirmModal > Vertical { width: 60; height: auto; border: double $warning; padding: 1 2; background: $panel; }
    QuitConfirmModal Button { margin: 1 1 0 0; }
    """

    def compose_body(self):  # noqa: ANN201
        with Vertical():
            yield Static(
                "Alerts are still being sent. If you quit, messages not yet handed to the SMSC stay "
                "queued and leave when a console or the sender service runs again.\n\n"
                "Quit anyway?  y = quit   n / Escape = stay",
                id="quit-text",
            )
            yield Button("Stay (n)", id="stay", variant="primary")
            yield Button("Quit (y)", id="quit", variant="error")

    def action_quit(self) -> None:
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")
