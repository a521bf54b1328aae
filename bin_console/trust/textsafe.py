"""The one sanitiser for untrusted text (member names, addresses, replies, imported cells).

``clean()`` replaces control characters (C0 except TAB, DEL, C1), line and paragraph separators,
bidi overrides and isolates with U+FFFD, so no escape sequence ever reaches the terminal (a rich
``Text`` alone passes ESC through, shared notes/reliability.md §4.4) and a row stays one row. It
drops the other invisible format characters (zero-width space/joiners, word joiner, BOM, soft
hyphen, tag characters: Unicode category Cf): Rich measures them as zero cells while terminals
draw some of them as a cell or a box, which shifts every column after them in a table.
``safe_text()`` returns a ``rich.text.Text``, which Textual shows literally: never parsed as
markup, so ``[bold]Jan[/]`` and ``Peeters [/]`` appear as typed.
Importers also store cleaned text, so the database holds no control characters to begin with.
"""

from __future__ import annotations

import re
import unicodedata

from rich.text import Text

from bin_console.i18n import _

_CTRL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
# U+2028/U+2029 break a line like LF does: marked, never dropped, so the reader sees something was there.
_SHOWN = re.compile(_CTRL.pattern[:-1] + r"\u2028\u2029]")


def _drop_invisible(text: str) -> str:
    if text.isascii():  # the common case: nothing to look up
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def clean(value: object) -> str:
    if value is None:
        return ""
    return _drop_invisible(_SHOWN.sub("\ufffd", unicodedata.normalize("NFC", str(value))))


def safe_text(value: object, style: str = "") -> Text:
    return Text(clean(value), style=style, no_wrap=True, end="")


def has_control_chars(value: str) -> bool:
    return bool(_CTRL.search(value))


def check_alert_text(text: str) -> str:
    """The one rule for text that goes to members (send --text, compose, templates): returns it unchanged.

    The same characters member names refuse (C0/C1 controls, DEL, bidi overrides and isolates: an ESC or
    OSC sequence reaches every member's phone and every terminal that shows the alert), except a line
    break, which an SMS may hold. alerts.create_alert applies it, so no path can skip it. It lives
    here, not with the directory's field checks, so `send` does not import phonenumbers and
    email-validator for it.
    """
    for position, char in enumerate(text, start=1):
        if char != "\n" and has_control_chars(char):
            reason = _("the alert text holds an invisible control character ({code}) at position {position}; remove it")
            raise ValueError(reason.format(code=f"U+{ord(char):04X}", position=position))
    return text
