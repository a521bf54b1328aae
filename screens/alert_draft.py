"""An alert as composed: the unsent draft the App keeps, and what compose asks the App to send."""

from __future__ import annotations

from dataclasses import dataclass, field

from .target import NetworkRef


@dataclass(frozen=True)
class AlertDraft:
    """What the dispatcher composed. Kept by the App (``App.keep_draft``) so Escape, F2 or any other
    way out of the compose screen never throws the text away; handed to ``App.submit_alert`` to send.

    The text is either one text for everyone (``text``, ``texts`` empty) or language versions
    (``texts``: language -> text, as ``bin-console send --text-nl ... --text-fr ...``): each member then
    gets their language, else their network's, else the console's. ``combined``: one nl + fr text for
    everyone (``send --combined``). ``follow_up_of``: a follow-up of that alert, to its members."""

    text: str
    targets: tuple[NetworkRef, ...]
    urgency: str  # urgent (SMS) | normal (e-mail)
    template_key: str | None
    email_copy: bool = False  # urgent only: members without a mobile also get it by e-mail
    texts: dict[str, str] = field(default_factory=dict)  # language -> text: the versions with a text
    combined: bool = False
    follow_up_of: int | None = None
    editing: str = ""  # the language version being edited (compose comes back to it)

    @property
    def network_ids(self) -> list[int]:
        return [ref.id for ref in self.targets]

    @property
    def by_email(self) -> bool:
        """A follow-up sent as a non-urgent e-mail goes by e-mail to everyone (``send --email``)."""
        return self.follow_up_of is not None and self.urgency == "normal"

    def service_texts(self) -> tuple[str, dict[str, str] | None]:
        """(text, texts) as create_alert takes them (as `send` passes --text or --text-XX): two or
        more versions (or a combined text) as versions, a single one as the one text for all."""
        if self.combined or len(self.texts) > 1:
            return "", dict(self.texts)
        if self.texts:
            return next(iter(self.texts.values())), None
        return self.text, None
