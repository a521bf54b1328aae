"""Delivery receipts: recognise them, parse them tolerantly, normalise message ids.

SMSCs disagree on receipt formats (shared notes/smpplib.md §1.4): the id may be hex in the
submit_sm_resp and decimal in the receipt (or the other way round), zero-padded or not, and the
``receipted_message_id`` TLV may have lost its last character. So every id is normalised (strip
NUL/space, upper case, no leading zeros) and a receipt carries its alternative forms too; matching
tries the exact normalised form first, then the variants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RECEIPT_ESM_MASK = 0x3C
RECEIPT_ESM_TYPE = 0x04  # "SMSC delivery receipt" (smpplib has no constant for it)

# receipt stat -> delivery_part state; None = intermediate (keep waiting)
STAT_TO_STATE: dict[str, str | None] = {
    "DELIVRD": "delivered",
    "UNDELIV": "undeliverable",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "DELETED": "undeliverable",
    "ACCEPTD": None,
    "ENROUTE": None,
    "UNKNOWN": None,
}
# message_state TLV (SMPP 3.4 §5.2.28) -> stat text, used when the text has no stat:
MESSAGE_STATE_TO_STAT = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}

_ID_RE = re.compile(rb"\bid:\s*([^\s]+)", re.I)
_STAT_RE = re.compile(rb"\bstat:\s*([A-Za-z]+)", re.I)
_ERR_RE = re.compile(rb"\berr:\s*([0-9A-Za-z]+)", re.I)


def _text(raw: str | bytes | None) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    return raw


def normalise_id(raw: str | bytes | None) -> str:
    """Canonical form of a message id: no NUL/blanks, upper case, no leading zeros ("0" stays "0")."""
    s = _text(raw).replace("\x00", "").strip().upper()
    stripped = s.lstrip("0")
    return stripped if stripped else ("0" if s else "")


def id_variants(raw: str | bytes | None) -> list[str]:
    """The normalised id first, then its other-base readings (decimal <-> hex), all normalised."""
    base = normalise_id(raw)
    if not base:
        return []
    out = [base]
    if base.isdigit():
        out.append(normalise_id(format(int(base), "X")))
    if re.fullmatch(r"[0-9A-F]+", base) and len(base) <= 32:
        out.append(normalise_id(str(int(base, 16))))
    seen: list[str] = []
    for v in out:
        if v and v not in seen:
            seen.append(v)
    return seen


def is_receipt(esm_class: int | None) -> bool:
    return ((esm_class or 0) & RECEIPT_ESM_MASK) == RECEIPT_ESM_TYPE


@dataclass(frozen=True)
class Receipt:
    message_id: str  # normalised primary id
    alt_ids: tuple[str, ...] = field(default_factory=tuple)  # other candidates, normalised
    stat: str = "UNKNOWN"
    err: str | None = None
    raw: str = ""
    # only the receipted_message_id TLV carried the id: smpplib may have cut its last character
    # (SMSC sent it without the NUL), so a unique id one character longer also matches
    tlv_only: bool = False

    @property
    def state(self) -> str | None:
        return STAT_TO_STATE.get(self.stat)

    def candidates(self) -> list[str]:
        return [self.message_id, *[a for a in self.alt_ids if a != self.message_id]]


def parse_receipt(
    short_message: bytes | None,
    *,
    receipted_message_id: bytes | str | None = None,
    message_state: int | None = None,
    message_payload: bytes | None = None,
) -> Receipt | None:
    """Parse one receipt deliver_sm. Returns None when it carries no usable id at all."""
    body = short_message or message_payload or b""
    if isinstance(body, str):
        body = body.encode("latin-1", "replace")
    m_id = _ID_RE.search(body)
    text_id = m_id.group(1).decode("latin-1") if m_id else ""
    tlv_id = _text(receipted_message_id).replace("\x00", "").strip()
    m_stat = _STAT_RE.search(body)
    stat = m_stat.group(1).decode("ascii").upper() if m_stat else ""
    if not stat and message_state is not None:
        stat = MESSAGE_STATE_TO_STAT.get(int(message_state), "UNKNOWN")
    stat = stat[:7] or "UNKNOWN"
    m_err = _ERR_RE.search(body)
    err = m_err.group(1).decode("ascii")[:8] if m_err else None
    # The text id is complete where present; the TLV may have lost its last character (smpplib).
    primary_src = text_id or tlv_id
    if not primary_src:
        return None
    cands: list[str] = []
    for src in (text_id, tlv_id):
        for v in id_variants(src):
            if v not in cands:
                cands.append(v)
    return Receipt(
        message_id=cands[0],
        alt_ids=tuple(cands[1:]),
        stat=stat,
        err=err,
        raw=body.decode("latin-1")[:500],
        tlv_only=not text_id,
    )


def has_text_id(raw: str | bytes | None) -> bool:
    """Whether a stored receipt body carries its id in the text (else it came from the TLV)."""
    body = raw.encode("latin-1", "replace") if isinstance(raw, str) else (raw or b"")
    return _ID_RE.search(body) is not None
