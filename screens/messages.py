"""Messages the App posts back to the screen that asked for a use case (``App.submit_alert``).

Screens call the App's use-case methods (typed: ``BaseScreen.app`` is ``BinConsoleApp``); the App
answers with these messages, handled with ``@on(...)``. Nothing here is an App attribute a screen sets.
"""

from __future__ import annotations

from textual.message import Message


class AlertQueued(Message):
    """The alert and all its delivery rows are written; the sender has been woken."""

    def __init__(self, alert_id: int) -> None:
        super().__init__()
        self.alert_id = alert_id


class AlertNotCreated(Message):
    """create_alert failed: nothing was written, nothing will be sent."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error
