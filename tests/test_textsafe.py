"""textsafe: what untrusted text looks like once it is made safe to show on a terminal."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from bin_console.textsafe import clean, has_control_chars, safe_text

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "tag latin capital a": "\U000e0041",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_dropped(char):
    assert clean(f"Jan{char}ssens") == "Janssens"
    # the shown text takes exactly the cells its visible letters take: table columns stay put
    assert cell_len(safe_text(f"Kerk{char}straat").plain) == len("Kerkstraat")


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\n", "\x1b", "\u200e", "\u200f", "\u202e"])
def test_line_breaks_and_direction_marks_are_marked_not_hidden(char):
    assert clean(f"a{char}b") == "a\ufffdb"


def test_markup_and_ordinary_letters_stay_as_typed():
    for text in ("[bold red]Jan[/]", "Liège", "Çağla Öztürk", "Zoë 👍", "a\tb"):
        assert clean(text) == text
        assert safe_text(text).plain == text


def test_decomposed_letters_are_composed():
    assert clean("Lie\u0300ge") == "Liège"


def test_has_control_chars_keeps_its_meaning():
    # validation refuses these; invisible format characters are the display's business, not a refusal
    assert has_control_chars("a\x1bb") and has_control_chars("a\u202eb")
    assert not has_control_chars("Jan\u200bssens")
