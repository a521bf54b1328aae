"""What both imports (members, networks) share: header recognition, cell reading, value tables, the audit entry.

Headers are matched case-, accent-, space- and punctuation-insensitively in Dutch, French, German and
English; cells are read as text, with the exporter's formula guard undone.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import lru_cache

from sqlalchemy.orm import Session

from .data.keys import fold
from .data.models import utcnow
from .exporter import GUARDED_STARTS
from .i18n import N_, _
from .import_report import ImportReport, RowError
from .tabular import Table
from .validation import parse_date_text

NO_DATA_ROWS = N_("the file has a header but no data rows")

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=4096)
def _fold_cached(text: str) -> str:
    return fold(text)


def key_fold(text: str) -> str:
    """data.keys.fold, faster for the import's hot path: plain ASCII needs no Unicode decomposition
    (NFKD leaves ASCII unchanged), and repeated values (streets, languages) come from a cache."""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    return _fold_cached(text)


# --- header recognition -----------------------------------------------------------------------------


def header_key(h: str) -> str:
    """Case, accent, space and punctuation insensitive: "E-mail" / "e mail" / "Émail" -> "email"."""
    return fold(h).replace(" ", "")


def _aliases(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {header_key(a): f for f, names in table.items() for a in names}


MEMBER_HEADERS = _aliases(
    {
        "name": ("naam", "nom", "name", "volledige naam", "nom complet", "full name", "naam lid", "lid", "membre"),
        "first_name": ("voornaam", "prénom", "first name", "firstname", "given name", "vorname"),
        "last_name": ("achternaam", "familienaam", "nom de famille", "last name", "surname", "nachname"),
        "mobile": (
            "gsm",
            "mobiel",
            "portable",
            "mobile",
            "gsm-nummer",
            "gsm nr",
            "mobiel nummer",
            "mobile number",
            "mobile phone",
            "n° portable",
            "numéro de portable",
            "tél. portable",
            "handy",
            "gsm lid",
        ),
        "landline": (
            "telefoon",
            "téléphone",
            "phone",
            "vast",
            "vaste telefoon",
            "vast nummer",
            "telefoonnummer",
            "tel",
            "tél",
            "tél. fixe",
            "fixe",
            "telefon",
            "landline",
        ),
        "email": ("e-mail", "email", "courriel", "mail", "e-mailadres", "adresse e-mail", "email address"),
        "street": ("straat", "rue", "street", "straatnaam", "straße", "strasse"),
        "house_number": ("nr", "huisnummer", "numéro", "n°", "number", "no", "huisnr", "hausnummer", "nummer", "num"),
        "postcode": ("postcode", "code postal", "postal code", "zip", "zip code", "postleitzahl", "plz", "cp"),
        "municipality": ("gemeente", "commune", "municipality", "city", "woonplaats", "localité", "ville", "gemeinde"),
        "language": ("taal", "langue", "language", "sprache"),
        "role": ("rol", "rôle", "role", "functie", "fonction", "rolle"),
        "status": ("status", "statut"),
        "consent_date": (
            "toestemming",
            "consentement",
            "consent",
            "datum toestemming",
            "toestemmingsdatum",
            "date consentement",
            "consent date",
            "einwilligung",
        ),
        "sms_opt_out": ("sms opt-out", "opt-out sms", "geen sms", "pas de sms", "no sms", "keine sms"),
        "email_opt_out": (
            "e-mail opt-out",
            "email opt-out",
            "opt-out e-mail",
            "opt-out email",
            "geen e-mail",
            "geen mail",
            "pas d'e-mail",
            "pas de mail",
            "no e-mail",
            "no email",
        ),
        "opt_out": ("opt-out", "optout", "afgemeld", "désinscrit"),
    }
)

NETWORK_HEADERS = _aliases(
    {
        "name": ("netwerk", "network", "bin", "naam", "nom", "name", "netwerknaam", "network name", "réseau", "plp"),
        "kind": ("type", "soort", "kind", "genre", "type netwerk", "type de réseau"),
        "municipality": ("gemeente", "commune", "municipality", "city", "gemeinde"),
        "zone": ("zone", "politiezone", "zone de police", "police zone", "pz", "zp", "zone code"),
        "coordinator_name": ("coördinator", "coordinateur", "coordinatrice", "coordinator", "coordinator name"),
        "coordinator_phone": ("gsm coördinator", "coördinator gsm", "tél. coordinateur", "coordinator phone"),
        "coordinator_email": ("e-mail coördinator", "coördinator e-mail", "e-mail coordinateur", "coordinator e-mail"),
        "sms_sender": ("afzender", "expéditeur", "sender", "sms afzender", "sms sender", "expéditeur sms"),
        "charter_signed": (
            "charter",
            "charte",
            "charterdatum",
            "datum charter",
            "date charte",
            "charter date",
            "ondertekend",
            "signé",
        ),
        "status": ("status", "statut"),
        "language": ("taal", "langue", "language", "sprache"),
        "street": ("straat", "rue", "street", "straatnaam", "straße"),
        "postcode": ("postcode", "code postal", "postal code", "zip", "plz"),
        "street_municipality": (
            "straat gemeente",
            "gemeente straat",
            "deelgemeente",
            "commune rue",
            "commune de la rue",
            "street municipality",
        ),
    }
)

_LANG = {
    "nl": ("nl", "nederlands", "dutch", "neerlandais", "vlaams", "niederlandisch", "n"),
    "fr": ("fr", "frans", "francais", "french", "franzosisch", "f"),
    "de": ("de", "duits", "deutsch", "allemand", "german", "d"),
    "en": ("en", "engels", "english", "anglais", "englisch", "e"),
}
_ROLE = {
    "member": ("member", "lid", "membre", "mitglied", "medewerker"),
    "coordinator": ("coordinator", "coordinateur", "coordinatrice", "koordinator", "coord"),
    "street_lead": (
        "street_lead",
        "street lead",
        "straatverantwoordelijke",
        "straatcoordinator",
        "responsable de rue",
        "strassenverantwortlicher",
    ),
}
_STATUS = {
    "active": ("active", "actief", "actif", "aktiv", "ja", "yes", "oui"),
    "pending": ("pending", "wachtend", "in afwachting", "en attente", "nieuw", "nouveau", "ausstehend"),
    "left": ("left", "uitgeschreven", "vertrokken", "gestopt", "parti", "desinscrit", "inactief", "inactif"),
}
_NET_STATUS = {
    "active": ("active", "actief", "actif", "aktiv"),
    "suspended": ("suspended", "geschorst", "opgeschort", "suspendu", "inactief", "inactif"),
    "closed": ("closed", "gesloten", "stopgezet", "ferme", "opgeheven"),
}
_YES = {"ja", "j", "yes", "y", "oui", "o", "x", "1", "true", "waar", "vrai", "wahr"}
_NO = {"", "nee", "n", "no", "non", "0", "false", "onwaar", "faux", "nein"}


# the fields _choice reads, as its messages name them
VALUE_FIELDS = (N_("language"), N_("role"), N_("status"))


def _invert(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {fold(a): k for k, names in table.items() for a in names}


LANGUAGE_VALUES, ROLE_VALUES, STATUS_VALUES, NET_STATUS_VALUES = map(_invert, (_LANG, _ROLE, _STATUS, _NET_STATUS))


def _choice(value: str, table: dict[str, str], what: str, default: str) -> str:
    """``what`` names the field in English (a msgid of VALUE_FIELDS), translated in the message."""
    if not value:
        return default
    got = table.get(key_fold(value))
    if got is None:
        raise ValueError(
            _("{what} {value} is not recognised (use one of {choices})").format(
                what=_(what), value=repr(value), choices=", ".join(sorted(set(table.values())))
            )
        )
    return got


def _yes(value: str) -> bool:
    v = key_fold(value)
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise ValueError(_("{value} is not yes or no").format(value=repr(value)))


def _consent(value: str) -> date | None:
    v = fold(value)
    if v in _YES:
        return utcnow().date()
    if v in _NO:
        return None
    return parse_date_text(value)


_EXPORT_GUARDED = frozenset(GUARDED_STARTS)
_WS = re.compile(r"[\r\n\t\v\f]+")


class Columns:
    """Which file column feeds which field; unknown columns are reported, not fatal."""

    def __init__(self, header: list[str], aliases: dict[str, str], simple_fields=frozenset()):  # noqa: ANN001
        self.index: dict[str, int] = {}
        self.title: dict[str, str] = {}
        self.ignored: list[str] = []
        for i, h in enumerate(header):
            f = aliases.get(header_key(h))
            if f is None or f in self.index:
                if h.strip():
                    self.ignored.append(h.strip())
                continue
            self.index[f] = i
            self.title[f] = h.strip()
        # the fields parsed by one function of their cell each (see importer._SIMPLE_MEMBER_FIELDS)
        self.simple = [(f, i) for f, i in self.index.items() if f in simple_fields]

    def has(self, f: str) -> bool:
        return f in self.index

    def get(self, cells: list[str], f: str) -> str:
        i = self.index.get(f)
        if i is None or i >= len(cells):
            return ""
        c = cells[i]
        if c[:1] == "'" and c[1:2] in _EXPORT_GUARDED:
            c = c[1:]  # the exporter's formula guard (exporter.safe_cell): the value is what follows
        if "\n" in c or "\r" in c or "\t" in c or "\v" in c or "\f" in c:
            # Alt+Enter line breaks and tabs inside a cell become one space
            c = _WS.sub(" ", c)
        return c.strip()


def audit_import(session: Session, action: str, ref: str, report: ImportReport, path) -> None:  # noqa: ANN001
    from .actor import Actor
    from .directory import audit

    detail = {
        "file": os.path.basename(os.fspath(path)),
        "imported": report.imported,
        "updated": report.updated,
        "rejected": report.rejected_rows,
    }
    if report.kind == "networks":
        # what re-homed or extended networks: the part of a networks import that needed consent
        detail |= {
            "streets_added": report.streets_added,
            "zones_created": report.zones_created,
            "changed": [c.name for c in report.networks_changed],
        }
    audit(session, Actor.current(), action, ref, detail)


def describe_table(report: ImportReport, table: Table) -> None:
    report.rows = len(table.rows) + len(table.row_errors)
    report.rejected += [RowError(line, col, reason) for line, col, reason in table.row_errors]
    report.encoding = table.encoding
    report.delimiter = table.delimiter
