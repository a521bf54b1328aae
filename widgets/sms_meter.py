"""Live SMS meter under the compose text: characters, encoding, the characters that forced UCS-2,
parts per SMS and total parts for the alert.

Presentational only: the screen calls ``show()`` with plain values (from encoding.analyse), so the
widget never imports a service and can be snapshot-tested in a bare App.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from bin_console.i18n import _, ngettext, number
from bin_console.trust.textsafe import clean


def _char_label(ch: str) -> str:
    # "ë" plus its code point: a dispatcher sees *which* character to fix even when it looks like
    # an ordinary letter (e.g. a typographic apostrophe ’ vs ').
    return f"{clean(ch)} (U+{ord(ch):04X})"


class SmsMeter(Static):
    DEFAULT_CSS = """
    SmsMeter { height: auto; min-height: 2; padding: 0 1; }
    SmsMeter.-ucs2 { color: $warning; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id, classes=classes)
        self.summary = ""  # plain text of what is shown: tests and the confirm modal read it

    def show(
        self,
        *,
        chars: int,
        encoding: str,
        parts: int,
        per_part: int,
        ucs2_chars: list[str] | tuple[str, ...] = (),
        recipients: int | None = None,
    ) -> None:
        enc = "UCS-2" if encoding == "ucs2" else "GSM-7"
        line1 = Text()
        line1.append(ngettext("{n} char", "{n} chars", chars).format(n=number(chars)), style="bold")
        per_sms = ngettext("{n} part per SMS ({per_part}/part)", "{n} parts per SMS ({per_part}/part)", parts)
        line1.append(f" · {enc} · " + per_sms.format(n=number(parts), per_part=per_part))
        if recipients is not None:
            total = ngettext(
                "{n} parts for {recipients} recipient", "{n} parts for {recipients} recipients", recipients
            )
            line1.append(" · " + total.format(n=number(recipients * parts), recipients=number(recipients)))
        line2 = Text()
        if encoding == "ucs2" and ucs2_chars:
            shown = ", ".join(_char_label(c) for c in list(ucs2_chars)[:4])
            more = " " + _("+{n} more").format(n=len(ucs2_chars) - 4) if len(ucs2_chars) > 4 else ""
            # the words bold, the characters plain, wherever the translation puts them
            before, _placeholder, after = _("UCS-2 forced by {chars}").partition("{chars}")
            line2.append(before, style="bold")
            line2.append(shown + more)
            line2.append(after, style="bold")
            line2.append(" - " + _("Ctrl+G rewrites to GSM-7"))
        self.set_class(encoding == "ucs2", "-ucs2")
        self.summary = line1.plain + ("\n" + line2.plain if line2.plain else "")
        self.update(Text("\n").join([line1, line2]) if line2.plain else line1)
