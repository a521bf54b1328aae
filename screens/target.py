"""What an action applies to: the network(s) a screen shows.

There is no "current network" on the App. Each screen answers ``target()`` from what it shows
(the highlighted search result, the network on screen, the networks an alert is composed to), the
App's F3/F4 ask the top screen, and members/compose receive their target explicitly and put it in
their title. A target can therefore never outlive the screen that showed it (issue 7, item 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from bin_console.i18n import _
from bin_console.trust.textsafe import safe_text


@dataclass(frozen=True)
class NetworkRef:
    """One network as a screen shows it; ``name`` is "" until the screen has read it."""

    id: int
    name: str = ""

    def label(self) -> str:
        return self.name or _("network #{id}").format(id=self.id)


def target_text(targets: tuple[NetworkRef, ...], *, style: str = "bold") -> Text:
    """'BIN Kerkwijk, Molenwijk' for a title; names are untrusted, so literal."""
    out = Text(end="")
    for i, ref in enumerate(targets):
        if i:
            out.append(", ")
        out.append_text(safe_text(ref.label(), style=style))
    return out
