"""Member replies (mobile-originated SMS): decode, reassemble long ones, recognise STOP words
(the shared list and rule: bin_console/alerts/optout_words.py).

Fragments of a long reply are stored in ``mo_fragment`` (in the caller's transaction, before the
deliver_sm is acknowledged), so a reply split over several deliver_sm survives a restart; the
text is joined from the raw bytes of all parts *before* decoding, so a UCS-2 surrogate pair or a
GSM escape cut between two parts is still decoded correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

# the opt-out words are shared with e-mail (alerts/optout_words.py); re-exported for the SMS side
from bin_console.alerts.optout_words import STOP_WORDS as STOP_WORDS
from bin_console.alerts.optout_words import is_stop as is_stop
from bin_console.channels.smpp.encoding import decode, split_udh
from bin_console.data.models import MoFragment

UDHI = 0x40


def decode_payload(payload: bytes, data_coding: int) -> str:
    """Text of an MO payload by data_coding (one GSM 03.38 table for the project: encoding.py)."""
    return decode(payload, data_coding)


@dataclass(frozen=True)
class Concat:
    ref: int
    total: int
    part_no: int


def concat_from_pdu(pdu) -> tuple[Concat | None, bytes]:  # a smpplib DeliverSM
    """Concatenation info and bare payload of a deliver_sm (UDH, or SAR TLVs, or message_payload)."""
    payload = pdu.short_message or pdu.message_payload or b""
    if isinstance(payload, str):
        payload = payload.encode("latin-1")
    esm = pdu.esm_class or 0
    if esm & UDHI:
        info, body = split_udh(payload, esm)
        return (Concat(info.ref, info.total, info.seq) if info else None), body
    total = pdu.sar_total_segments
    if total:
        return Concat(int(pdu.sar_msg_ref_num or 0), int(total), int(pdu.sar_segment_seqnum or 1)), payload
    return None, payload


def accept_fragment(s: Session, source: str, concat: Concat, payload: bytes, data_coding: int) -> str | None:
    """Store one part (idempotent: a redelivered part is ignored); the joined text once all are in."""
    if concat.total <= 1 or not 1 <= concat.part_no <= concat.total:
        # One part alone, or a part number outside 1..total (a broken phone or gateway: "part 3 of
        # 2", "part 0"): counted in, such a part completed the count early and joined the wrong
        # parts into one garbled text, or left the real one waiting for ever. It is kept as a text
        # of its own, so nothing is lost and the others still join.
        return decode_payload(payload, data_coding)
    key = (col(MoFragment.source) == source, col(MoFragment.ref) == concat.ref, col(MoFragment.total) == concat.total)
    exists = s.execute(select(col(MoFragment.id)).where(*key, col(MoFragment.part_no) == concat.part_no)).first()
    if exists is None:
        s.add(
            MoFragment(
                source=source,
                ref=concat.ref,
                total=concat.total,
                part_no=concat.part_no,
                payload=payload,
                data_coding=data_coding,
            )
        )
        s.flush()
    have: int = s.execute(select(func.count(col(MoFragment.id))).where(*key)).scalar_one()
    if int(have) < concat.total:
        return None
    frags = s.scalars(select(MoFragment).where(*key).order_by(col(MoFragment.part_no))).all()
    joined = b"".join(f.payload for f in frags)
    text = decode_payload(joined, frags[0].data_coding)
    s.execute(delete(MoFragment).where(*key))
    return text
