"""The nl and fr catalogues cover every marked message, keep its placeholders, and ship compiled as committed.

The source is extracted afresh (the same babel.cfg as `scripts/i18n.py extract`), so a message marked
and not yet translated fails here, and so does a .mo left behind after a .po change.
"""

from __future__ import annotations

import io
import re
import string
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "bin_console" / "locale"
LANGUAGES = ("nl", "fr")
_PERCENT = re.compile(r"%(?:\(\w+\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrs%]")


def source_messages() -> dict[str, str | tuple[str, ...]]:
    """msgid -> the message as marked (a tuple for ngettext), extracted from the source as babel.cfg says."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str | tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        found[message if isinstance(message, str) else message[0]] = message
    return found


def load(lang: str) -> Catalog:
    with open(LOCALE / lang / "LC_MESSAGES" / "bin_console.po", "rb") as fh:
        return read_po(fh, locale=lang)


def untranslated(catalog: Catalog, msgids) -> list[str]:
    """The msgids that have no usable translation: absent, empty (any plural form) or fuzzy."""
    problems = []
    for msgid in msgids:
        m = catalog.get(msgid)
        if m is None:
            problems.append(f"{msgid!r}: not in the catalogue (run scripts/i18n.py extract, update)")
        elif m.fuzzy:
            problems.append(f"{msgid!r}: fuzzy (check the translation, remove the fuzzy flag)")
        elif not all(m.string) if isinstance(m.string, tuple) else not m.string:
            problems.append(f"{msgid!r}: not translated")
    return problems


def placeholders(text: str) -> set[str]:
    """The {name[:spec][!conv]} fields and %-directives of a message (literal {{ }} and %% excluded)."""
    fields = {
        "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        for _lit, name, spec, conv in string.Formatter().parse(text)
        if name is not None
    }
    return fields | {p for p in _PERCENT.findall(text) if p != "%%"}


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Translations whose fields differ from their msgid's.

    Plural forms: form 0 is the singular (French puts 0 and 1 there, so it may also use the plural's
    fields), every other form has exactly the plural msgid's fields.
    """
    problems = []
    for m in catalog:
        if not m.id or not m.string:
            continue
        if isinstance(m.id, tuple):
            singular, plural = map(placeholders, m.id)
            first, *others = map(placeholders, m.string)
            ok = singular <= first <= singular | plural and all(p == plural for p in others)
        else:
            ok = placeholders(m.id) == placeholders(m.string)
        if not ok:
            problems.append(f"{m.id!r}: the translation {m.string!r} does not keep the msgid's placeholders")
    return problems


@pytest.fixture(scope="module")
def marked():
    messages = source_messages()
    assert len(messages) > 50, "extraction found almost nothing: check babel.cfg"
    return messages


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_marked_message_is_translated(marked, lang):
    assert untranslated(load(lang), marked) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_messages_are_plural_in_the_catalogue(marked, lang):
    catalog = load(lang)
    # (a message missing from the catalogue is reported by the test above)
    wrong = [
        k for k, msg in marked.items() if k in catalog and isinstance(msg, tuple) != isinstance(catalog[k].id, tuple)
    ]
    assert wrong == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang):
    assert placeholder_problems(load(lang)) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_committed_mo_is_compiled_from_the_po(lang):
    """What pybabel compile writes for the committed .po, byte for byte: a stale .mo fails."""
    compiled = io.BytesIO()
    write_mo(compiled, load(lang))
    committed = (LOCALE / lang / "LC_MESSAGES" / "bin_console.mo").read_bytes()
    assert compiled.getvalue() == committed, f"run scripts/i18n.py compile and commit {lang}/.../bin_console.mo"


def test_package_data_ships_every_mo():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        globs = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["bin_console"]
    mos = [p.relative_to(ROOT / "bin_console").as_posix() for p in LOCALE.glob("*/LC_MESSAGES/*.mo")]
    assert sorted(p[7:9] for p in mos) == sorted(LANGUAGES)
    assert [m for m in mos if not any(fnmatch(m, g) for g in globs)] == []


# --- the checks above can fail: the same functions on tiny catalogues ---------------------------------


def _fake(*messages) -> Catalog:
    c = Catalog(locale="fr")
    for msgid, text, *flags in messages:
        c.add(msgid, text, flags=flags)
    return c


def test_untranslated_finds_missing_empty_and_fuzzy():
    c = _fake(
        ("the file is empty", "le fichier est vide"),
        ("file too large", ""),
        ("kind", "type", "fuzzy"),
        (("{n} row", "{n} rows"), ("{n} ligne", "", "{n} lignes")),
    )
    problems = untranslated(c, ["the file is empty", "file too large", "kind", "{n} row", "no streets"])
    assert [p.split(":")[0] for p in problems] == ["'file too large'", "'kind'", "'{n} row'", "'no streets'"]
    assert untranslated(c, ["the file is empty"]) == []


def test_placeholder_check_finds_lost_renamed_and_extra_fields():
    good = _fake(("line {line}: {reason}", "ligne {line} : {reason}"), ("%(n)d rows", "%(n)d lignes"))
    assert placeholder_problems(good) == []
    for text in ("ligne : {reason}", "ligne {ligne} : {reason}", "ligne {line} : {reason} {extra}"):
        assert len(placeholder_problems(_fake(("line {line}: {reason}", text)))) == 1
    assert len(placeholder_problems(_fake(("%(n)d rows", "%(count)d lignes")))) == 1
    plural = _fake((("{n} row", "{n} rows"), ("{n} ligne", "{n} de lignes", "{count} lignes")))
    assert len(placeholder_problems(plural)) == 1
