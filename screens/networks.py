"""Networks: the start screen. Search field focused; ranked matches as you type; Enter opens."""

from __future__ import annotations

from textual.widgets import Input, Static

from .base import BaseScreen


class NetworksScreen(BaseScreen):
    INITIAL_FOCUS = "#search"
    HELP = [("Enter", "open the selected network"), ("Up/Down", "move the selection")]

    def compose_body(self):  # noqa: ANN201
        yield Input(placeholder="network, street, postcode, municipality", id="search")
        yield Static("", id="results")

    def go_back(self) -> bool:
        return False
