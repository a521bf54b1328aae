"""The one sanitiser for untrusted text (member names, addresses, replies, imported cells).

``clean()`` replaces control characters (C0 except TAB, DEL, C1), bidi overrides and isolates with
U+FFFD, so no escape sequence ever reaches the terminal (a rich ``Text`` alone passes ESC through,
shared notes/reliability.md §4.4). ``safe_text()`` returns a ``rich.text.Text``, which Textual shows
literally: never parsed as markup, so ``[bold]Jan[/]`` and ``Peeters [/]`` appear as typed.
Importers also store cleaned text, so the database holds no control characters to begin with.
"""

from __future__ import annotations

import re
import unicodedata

from rich.text import Text

_CTRL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


def clean(value: object) -> str:
    if value is None:
        return ""
    return _CTRL.sub("\ufffd", unicodedata.normalize("NFC", str(value)))


def safe_text(value: object, style: str = "") -> Text:
    return Text(clean(value), style=style, no_wrap=True, end="")


def has_control_chars(value: str) -> bool:
    return bool(_CTRL.search(value))
