"""Ctrl+Q while alerts are still being sent: ask first. Opens on "Stay"; quitting needs F5 or `y`
once the question has been painted and armed (ConfirmActionModal), so a `y` typed ahead never quits."""

from __future__ import annotations

from bin_console.i18n import N_, _

from .confirm import ConfirmActionModal


class QuitConfirmModal(ConfirmActionModal):
    TITLE_TEXT = N_("Quit")

    def __init__(self) -> None:
        super().__init__(
            _(
                "Alerts are still being sent. If you quit, messages not yet handed to the SMSC stay "
                "queued and leave when a console or the sender service runs again."
            )
            + "\n\n"
            + _("Quit anyway?"),
            yes_label=_("Quit anyway"),
            no_label=_("Stay"),
        )
