"""The opt-out words, one list for SMS and e-mail replies, and the one rule that recognises them.

A reply opts out when its FIRST word, with the punctuation around it removed, folded (upper case,
no accents), is exactly one of ``STOP_WORDS``: "STOP", "Stop.", "désinscrire, merci" and
"UNSUBSCRIBE" do; "Stoppen ze de auto?", "stopped" and "Ik zag iets, STOP" do not.

ARRÊT/ARRET is French for "stop" but also the first word of ordinary sentences a member may send
("Arrêt de tram Louise: un homme suspect ..."): it counts only when it is the whole message.

The languages are the members' (Dutch, French, German and English for visitors):
STOP, STOPP, UITSCHRIJVEN, DÉSINSCRIRE, DÉSINSCRIPTION, ABMELDEN, UNSUBSCRIBE. E-mail adds a
condition on who may use them (bin_console/channels/email/replies.py): a From address is forgeable.
"""

from __future__ import annotations

import string
import unicodedata

STOP_WORDS = frozenset({"STOP", "STOPP", "UITSCHRIJVEN", "DESINSCRIRE", "DESINSCRIPTION", "ABMELDEN", "UNSUBSCRIBE"})
ALONE_STOP_WORDS = frozenset({"ARRET"})  # only the whole message: "Arrêt de tram ..." is no opt-out
_PUNCTUATION = string.punctuation + "«»“”‘’¡¿…"


def fold_word(word: str) -> str:
    """Upper case, accents removed, surrounding punctuation stripped: 'Désinscrire,' -> 'DESINSCRIRE'."""
    nfkd = unicodedata.normalize("NFKD", word.strip(_PUNCTUATION))
    return "".join(c for c in nfkd if not unicodedata.combining(c)).upper().strip(_PUNCTUATION)


def is_stop(text: str) -> bool:
    """True when the text's first word is an opt-out word (see the module doc for the exact rule)."""
    words = [w for w in (fold_word(raw) for raw in (text or "").split()) if w]
    if not words:
        return False
    return words[0] in STOP_WORDS or (len(words) == 1 and words[0] in ALONE_STOP_WORDS)
