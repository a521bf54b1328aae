"""Ctrl+Q while alerts are still being sent: ask first. Opens on "Stay"; quitting needs F5 or `y`
once the question has been painted and armed (ConfirmActionModal), so a `y` typed ahead never quits."""

from __future__ import annotations

from .confirm import ConfirmActionModal


class QuitConfirmModal(ConfirmActionModal):
    TITLE_TEXT = "Quit"

    def __init__(self) -> None:
        super().__init__(
            "Alerts are still being sent. If you quit, messages not yet handed to the SMSC stay "
            "queued and leave when a console or the sender service runs again.\n\nQuit anyway?",
            yes_label="Quit anyway",
            no_label="Stay",
        )
