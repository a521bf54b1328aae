"""SMS text encoding: GSM 03.38 (unpacked, data_coding 0) or UCS-2 (UTF-16-BE, data_coding 8).

We do not use smpplib.gsm.make_parts: its table has ` where GSM has § and no form feed, and its
splitter cuts escape pairs and surrogate pairs in two (notes/smpplib.md §1.5). Here the split is
done per character, so an ESC pair or a surrogate pair always moves whole into the next part.
GSM text is sent unpacked (one septet per octet), which is what smpplib and most SMSCs expect.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

DC_GSM = 0
DC_ASCII = 1
DC_LATIN1 = 3
DC_UCS2 = 8

ESC = 0x1B
GSM_SINGLE, GSM_PART = 160, 153  # septets; a part loses 7 septets to the 6-octet UDH
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units
MAX_PARTS = 255  # the 8-bit concatenation UDH cannot count further

# GSM 03.38 default alphabet, index = septet value. 0x1B is the escape to the extension table.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128
# Extension table: these cost two septets (ESC + code).
_EXT = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}

_ENC: dict[str, bytes] = {ch: bytes([i]) for i, ch in enumerate(_BASIC) if i != ESC}
_ENC.update({ch: bytes([ESC, code]) for ch, code in _EXT.items()})
_DEC_EXT = {code: ch for ch, code in _EXT.items()}


@dataclass(frozen=True)
class SmsAnalysis:
    encoding: str  # "gsm7" | "ucs2"
    chars: int  # code points in the text
    units: int  # septets (GSM, escapes count 2) or UTF-16 code units (UCS-2, emoji count 2)
    parts: int  # SMS parts it will be sent as (1 for an empty text)
    per_part: int  # capacity of one part in units: 160/153 or 70/67
    ucs2_chars: list[str]  # characters that forced UCS-2, unique, in order of appearance


@dataclass(frozen=True)
class EncodedSms:
    data_coding: int
    parts: list[bytes]  # payload per part, without UDH

    @property
    def esm_class(self) -> int:
        """0x40 (UDHI) once add_udh() is applied to more than one part, else 0."""
        return 0x40 if len(self.parts) > 1 else 0


class ConcatInfo(NamedTuple):
    ref: int
    total: int
    seq: int  # 1-based
    ref_bits: int  # 8 (IEI 0x00) or 16 (IEI 0x08)


def _non_gsm(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in _ENC:
            seen.setdefault(ch, None)
    return list(seen)


def _units(text: str, gsm: bool) -> list[bytes]:
    """The encoded bytes of each character: the unit a split must never cut."""
    if gsm:
        return [_ENC[ch] for ch in text]
    return [_utf16(ch) for ch in text]


def _utf16(ch: str) -> bytes:
    try:
        return ch.encode("utf-16-be")
    except UnicodeEncodeError:  # a lone surrogate (bad paste, surrogateescape): send U+FFFD, not garbage
        return b"\xff\xfd"


def _split(chunks: list[bytes], single: int, part: int, unit_size: int) -> list[bytes]:
    total = sum(len(c) for c in chunks) // unit_size
    if total <= single:
        return [b"".join(chunks)]
    parts: list[bytes] = []
    cur: list[bytes] = []
    cur_units = 0
    for c in chunks:
        n = len(c) // unit_size
        if cur_units + n > part:  # greedy, but a character (ESC pair, surrogate pair) moves whole
            parts.append(b"".join(cur))
            cur, cur_units = [], 0
        cur.append(c)
        cur_units += n
    if cur:
        parts.append(b"".join(cur))
    return parts


def _encode(text: str) -> tuple[int, list[bytes], int, int]:
    gsm = not _non_gsm(text)
    if gsm:
        chunks = _units(text, True)
        return DC_GSM, _split(chunks, GSM_SINGLE, GSM_PART, 1), sum(map(len, chunks)), 1
    chunks = _units(text, False)
    return DC_UCS2, _split(chunks, UCS2_SINGLE, UCS2_PART, 2), sum(map(len, chunks)) // 2, 2


def analyse(text: str) -> SmsAnalysis:
    forced = _non_gsm(text)
    dc, parts, units, _ = _encode(text)
    if dc == DC_GSM:
        per_part = GSM_SINGLE if len(parts) == 1 else GSM_PART
        encoding = "gsm7"
    else:
        per_part = UCS2_SINGLE if len(parts) == 1 else UCS2_PART
        encoding = "ucs2"
    return SmsAnalysis(encoding, len(text), units, len(parts), per_part, forced)


def encode(text: str) -> EncodedSms:
    """GSM 03.38 unpacked when every character fits, else UCS-2; split for concatenation."""
    dc, parts, _, _ = _encode(text)
    return EncodedSms(dc, parts)


def add_udh(parts: list[bytes], ref: int) -> list[bytes]:
    """Prepend the 8-bit-reference concatenation UDH (05 00 03 ref total n) when there are several
    parts; the sender sets esm_class 0x40 (UDHI) for those."""
    if len(parts) <= 1:
        return list(parts)
    if len(parts) > MAX_PARTS:
        raise ValueError(f"{len(parts)} parts: a concatenated SMS has at most {MAX_PARTS}")
    total = len(parts)
    return [bytes([5, 0, 3, ref & 0xFF, total, i]) + p for i, p in enumerate(parts, 1)]


def split_udh(short_message: bytes, esm_class: int) -> tuple[ConcatInfo | None, bytes]:
    """Strip the UDH (when esm_class has UDHI 0x40) and return the concatenation info, if any.

    Understands IEI 0x00 (8-bit ref) and 0x08 (16-bit ref); other IEs are skipped. Tolerant: a UDH
    that claims more bytes than there are is treated as absent (the whole payload is the body).
    """
    sm = bytes(short_message or b"")
    if not (esm_class & 0x40) or not sm:
        return None, sm
    udhl = sm[0]
    if 1 + udhl > len(sm):
        return None, sm
    udh, body = sm[1 : 1 + udhl], sm[1 + udhl :]
    info = None
    i = 0
    while i + 2 <= len(udh):
        iei, iel = udh[i], udh[i + 1]
        data = udh[i + 2 : i + 2 + iel]
        if len(data) < iel:
            break
        if iei == 0x00 and iel == 3 and data[1] > 0:
            info = ConcatInfo(data[0], data[1], data[2], 8)
        elif iei == 0x08 and iel == 4 and data[2] > 0:
            info = ConcatInfo((data[0] << 8) | data[1], data[2], data[3], 16)
        i += 2 + iel
    return info, body


def _decode_gsm(payload: bytes) -> str:
    out: list[str] = []
    i, n = 0, len(payload)
    while i < n:
        b = payload[i]
        if b == ESC:
            if i + 1 >= n:
                out.append("\ufffd")  # lone ESC at the end (a badly split part)
                break
            nxt = payload[i + 1]
            if nxt in _DEC_EXT:
                out.append(_DEC_EXT[nxt])
            elif nxt < 0x80 and nxt != ESC:
                out.append(_BASIC[nxt])  # 23.038: unknown extension shows the basic character
            else:
                out.append("\ufffd")
            i += 2
            continue
        out.append(_BASIC[b] if b < 0x80 else "\ufffd")
        i += 1
    return "".join(out)


def decode(payload: bytes, data_coding: int) -> str:
    """Text of an MO / received payload (without UDH). Never raises: odd bytes become U+FFFD."""
    payload = bytes(payload or b"")
    dc = data_coding or 0
    if 0x10 <= dc <= 0x3F or 0xC0 <= dc <= 0xEF or dc >= 0xF0:
        dc = _alphabet_from_dcs(dc)
    if dc == DC_GSM:
        return _decode_gsm(payload)
    if dc == DC_UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if dc == DC_ASCII:
        return payload.decode("ascii", errors="replace")
    return payload.decode("latin-1")  # 3 Latin-1, and the 8-bit ones: show something, never fail


def _alphabet_from_dcs(dcs: int) -> int:
    """Map a GSM 03.38 data coding scheme outside SMPP's 0x00-0x0F range to our alphabet codes."""
    if dcs >= 0xF0:
        return DC_LATIN1 if dcs & 0x04 else DC_GSM
    if 0xC0 <= dcs <= 0xDF:
        return DC_GSM
    if 0xE0 <= dcs <= 0xEF:
        return DC_UCS2
    alphabet = (dcs >> 2) & 0x03  # general data coding group
    return {0: DC_GSM, 1: DC_LATIN1, 2: DC_UCS2}.get(alphabet, DC_LATIN1)


# gsm_safe: typographic and Belgian characters that have a close GSM-7 equivalent.
_SAFE = {
    "’": "'",
    "‘": "'",
    "‛": "'",
    "‚": "'",
    "′": "'",
    "`": "'",
    "´": "'",
    "‹": "'",
    "›": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "«": '"',
    "»": '"',
    "″": '"',
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "−": "-",
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\t": " ",
    "\u200b": "",
    "\ufeff": "",
    "•": "-",
    "ë": "e",
    "ï": "i",
    "ê": "e",
    "â": "a",
    "î": "i",
    "ô": "o",
    "û": "u",
    "ç": "c",
    "œ": "oe",
    "á": "a",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "ã": "a",
    "õ": "o",
    "ÿ": "y",
    "Ë": "E",
    "Ï": "I",
    "Ê": "E",
    "Â": "A",
    "Î": "I",
    "Ô": "O",
    "Û": "U",
    "Œ": "OE",
    "È": "E",
    "À": "A",
    "Ù": "U",
    "Ì": "I",
    "Ò": "O",
    "Á": "A",
    "Í": "I",
    "Ó": "O",
    "Ú": "U",
    "Ã": "A",
    "Õ": "O",
    "Ÿ": "Y",
}


def gsm_safe(text: str) -> str:
    """Rewrite typographic and common Belgian characters to GSM-7 (’ → ', ë → e, … → ...).

    A text that is already GSM-7 is returned unchanged; é è à ù ì ò ä ö ü ñ Ç É are GSM and stay.
    Characters without a sensible equivalent (emoji, Cyrillic...) are left as they are, so the
    result may still need UCS-2; analyse() tells.
    """
    if not _non_gsm(text):
        return text
    text = unicodedata.normalize("NFC", text)  # a pasted "e + combining diaeresis" becomes ë first
    return "".join(ch if ch in _ENC else _SAFE.get(ch, ch) for ch in text)
