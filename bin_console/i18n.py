"""The console's own words in English, Dutch and French: stdlib gettext, domain ``bin_console``.

English source strings are the msgids; ``locale/{nl,fr}/LC_MESSAGES/bin_console.mo`` hold the
translations (kept with Babel: ``scripts/i18n.py``, see docs/I18N.md). English needs no catalogue.

One language per process. ``cli.main`` calls ``activate(choose_language(settings, os.environ))``
once, before it imports the command's module. The active catalogue is one module-level reference,
replaced whole by ``activate`` (a single assignment, atomic in CPython), so worker threads that
call ``_()`` at any moment see either the old or the new catalogue, never half of one.

Module-level constants (Textual ``BINDINGS`` descriptions, class-level label tables, column
titles) are evaluated at import time. They are marked with ``N_()``, which only marks them for
extraction and returns the English text unchanged, and they are translated **at display time**
with ``_(CONSTANT)``. We chose display time over "activate before importing screens" because the
second depends on import order: it breaks as soon as a test, the snapshot suite (nl and fr in one
pytest process) or a helper imports a screen before the language is chosen, and it fails silently
(English text, no error). Translating where the text is shown works whatever the import order.
For Textual bindings the display point is the footer: see docs/I18N.md.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bin_console.config import Settings

DOMAIN = "bin_console"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "nl", "fr")  # the console's interface languages; English is the fallback
FALLBACK = "en"
# The POSIX order: the first of these that is set (non-empty) decides, as setlocale(LC_MESSAGES) does.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")

# Thousands separators as Belgian readers write them: "1,000" reads as one in nl and fr.
_THOUSANDS = {"en": ",", "nl": ".", "fr": "\u202f"}  # fr: narrow no-break space (CLDR)

_active: tuple[str, gettext.NullTranslations] = (FALLBACK, gettext.NullTranslations())


def choose_language(settings: Settings | None, environ: Mapping[str, str]) -> str:
    """``[console] ui_language`` unless "auto", else the locale variables, else English.

    "fr_BE.UTF-8" -> "fr", "nl_BE" -> "nl", "C", "POSIX" or a language we do not have -> "en".
    """
    if settings is not None and settings.ui_language != "auto":
        return settings.ui_language
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            return language_of_locale(value)
    return FALLBACK


def language_of_locale(value: str) -> str:
    """The interface language a locale name asks for: "fr_BE.UTF-8@euro" -> "fr"; others -> "en"."""
    lang = value.split(".", 1)[0].split("@", 1)[0].split("_", 1)[0].split("-", 1)[0].lower()
    return lang if lang in LANGUAGES else FALLBACK


def activate(lang: str) -> None:
    """Make ``lang`` the language of every later ``_()``, in every thread.

    A missing catalogue for nl or fr is an installation defect, so it raises (FileNotFoundError)
    rather than quietly showing English.
    """
    global _active
    if lang not in LANGUAGES:
        raise ValueError(f"unknown interface language {lang!r} (one of {', '.join(LANGUAGES)})")
    if lang == FALLBACK:
        translations = gettext.NullTranslations()
    else:
        translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])
    _active = (lang, translations)


def active_language() -> str:
    return _active[0]


def _(message: str) -> str:
    """The active language's translation of an English message (the message itself if none)."""
    return _active[1].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The plural form for ``n`` in the active language (Dutch and French have their own rules)."""
    return _active[1].ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a module-level constant for extraction; translate it where it is shown, with ``_()``."""
    return message


def number(n: int) -> str:
    """An integer with the active language's thousands separator: 12,500 / 12.500 / 12 500."""
    return f"{n:,}".replace(",", _THOUSANDS[_active[0]])


_DECIMAL = {"en": ".", "nl": ",", "fr": ","}


def decimal(x: float, places: int = 1) -> str:
    """A number with ``places`` decimals in the active language: 1,234.5 / 1.234,5 / 1 234,5."""
    lang = _active[0]
    whole, _dot, frac = f"{x:,.{places}f}".partition(".")
    whole = whole.replace(",", _THOUSANDS[lang])
    return f"{whole}{_DECIMAL[lang]}{frac}" if frac else whole
