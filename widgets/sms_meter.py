"""Live SMS meter under the compose text: characters, encoding, the characters that forced UCS-2,
parts per SMS and total parts for the alert; with several language versions, the encoding, parts
and members of each version and the alert's total parts.

Presentational only: the screen calls ``show()`` with plain values (from encoding.analyse), so the
widget never imports a service and can be snapshot-tested in a bare App.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from bin_console.i18n import _, ngettext, number
from bin_console.trust.textsafe import clean


def _char_label(ch: str) -> str:
    # "ë" plus its code point: a dispatcher sees *which* character to fix even when it looks like
    # an ordinary letter (e.g. a typographic apostrophe ’ vs ').
    return f"{clean(ch)} (U+{ord(ch):04X})"


@dataclass(frozen=True)
class VersionMeter:
    """One language version as the meter shows it (plain values: the screen computes them)."""

    language: str  # nl | fr | de | en
    encoding: str  # gsm7 | ucs2
    parts: int  # parts per SMS
    members: int | None = None  # members who get this version; None while still counting
    sms: int | None = None  # of them, reached by SMS (the parts are paid for these)


def _enc(encoding: str) -> str:
    return "UCS-2" if encoding == "ucs2" else "GSM-7"


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
        language: str = "",
        versions: Sequence[VersionMeter] = (),
        sms: bool = True,
    ) -> None:
        """The edited text (``language``: its version, "nl+fr" for a combined text); ``versions``
        (two or more) adds a line per alert: each version's encoding, parts and members, and the total
        SMS parts (``sms`` False: a non-urgent alert, members only)."""
        enc = _enc(encoding)
        line1 = Text()
        if language:
            line1.append(f"{language.upper()}: ", style="bold reverse")
        line1.append(ngettext("{n} char", "{n} chars", chars).format(n=number(chars)), style="bold")
        per_sms = ngettext("{n} part per SMS ({per_part}/part)", "{n} parts per SMS ({per_part}/part)", parts)
        line1.append(f" · {enc} · " + per_sms.format(n=number(parts), per_part=per_part))
        if recipients is not None and not versions:
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
        lines = [line1]
        if versions:
            lines.append(self._versions_line(versions, sms))
        if line2.plain:
            lines.append(line2)
        self.set_class(encoding == "ucs2", "-ucs2")
        self.summary = "\n".join(line.plain for line in lines)
        self.update(Text("\n").join(lines))

    @staticmethod
    def _versions_line(versions: Sequence[VersionMeter], sms: bool) -> Text:
        """'nl GSM-7 2 parts x 8 · fr UCS-2 1 part x 4 · total 20 SMS parts' (members: x ? while counting)."""
        t = Text()
        total: int | None = 0
        for i, v in enumerate(versions):
            if i:
                t.append(" · ")
            members = "?" if v.members is None else number(v.members)
            if sms:
                line = ngettext(
                    "{lang} {encoding} {parts} part x {members}", "{lang} {encoding} {parts} parts x {members}", v.parts
                ).format(lang=v.language, encoding=_enc(v.encoding), parts=number(v.parts), members=members)
            else:
                line = ngettext("{lang}: {members} member", "{lang}: {members} members", v.members or 0).format(
                    lang=v.language, members=members
                )
            t.append(line, style="bold" if v.members else "")
            if v.sms is None or total is None:
                total = None
            else:
                total += v.sms * v.parts
        if sms:
            t.append(" · ")
            if total is None:
                t.append(_("total: counting..."))
            else:
                t.append(
                    ngettext("total {n} SMS part", "total {n} SMS parts", total).format(n=number(total)), style="bold"
                )
        return t
