"""Folded search keys: how a dispatcher's hurried typing meets stored names.

"Liège" -> "liege", "Sint-Niklaas" -> "sint niklaas", "KERKSTR." -> "kerkstr". Saint-words are also
contracted ("st niklaas") so "st-niklaas" and "sint-niklaas" meet; both forms are indexed.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Dutch, French and German saint prefixes, contracted to one form on both sides of the comparison.
_SAINTS = {"sint": "st", "saint": "st", "sainte": "ste", "sankt": "st", "st": "st", "ste": "ste"}


def fold(text: str) -> str:
    """Lower case, accents stripped, every run of non-alphanumerics one space, trimmed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.replace("ß", "ss").replace("æ", "ae").replace("œ", "oe").replace("ø", "o")
    return _NON_ALNUM.sub(" ", ascii_only.lower()).strip()


def contract(folded: str) -> str:
    """'sint niklaas' -> 'st niklaas' (saint-words contracted); other words unchanged."""
    return " ".join(_SAINTS.get(w, w) for w in folded.split(" ")) if folded else folded


def word_starts(folded: str) -> list[str]:
    """Every suffix of a folded text that starts at a word: 'sint niklaas' -> ['sint niklaas', 'niklaas']."""
    words = folded.split(" ") if folded else []
    return [" ".join(words[i:]) for i in range(len(words))]


def search_terms_with_start(text: str) -> dict[str, bool]:
    """Index terms of one text, each with whether it is the whole text (True) or starts at a later word."""
    f = fold(text)
    out: dict[str, bool] = {}
    for form in dict.fromkeys((f, contract(f))):
        for i, term in enumerate(word_starts(form)):
            if term:
                out[term] = out.get(term, False) or i == 0
    return out


def query_keys(query: str) -> set[str]:
    """The prefixes to look up for a typed query (folded, and contracted when it names a saint)."""
    f = fold(query)
    keys = {f}
    c = contract(f)
    if c != f:
        keys.add(c)
    keys.discard("")
    return keys


def prefix_upper_bound(prefix: str) -> str:
    """Exclusive upper bound of a prefix range scan: every key k with prefix <= k < bound starts with prefix."""
    return prefix + "\uffff"
