"""An alert as composed: the unsent draft the App keeps, and what compose asks the App to send."""

from __future__ import annotations

from dataclasses import dataclass

from .target import NetworkRef


@dataclass(frozen=True)
class AlertDraft:
    """What the dispatcher composed. Kept by the App (``App.keep_draft``) so Escape, F2 or any other
    way out of the compose screen never throws the text away; handed to ``App.submit_alert`` to send."""

    text: str
    targets: tuple[NetworkRef, ...]
    urgency: str  # urgent (SMS) | normal (e-mail)
    template_key: str | None
    email_copy: bool = False  # urgent only: members without a mobile also get it by e-mail

    @property
    def network_ids(self) -> list[int]:
        return [ref.id for ref in self.targets]
