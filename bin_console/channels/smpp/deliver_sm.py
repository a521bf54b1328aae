"""Storing what the SMSC delivered (receipts and member replies) in the writer's transaction.

One savepoint per deliver_sm (receipts in bulk first, one by one if that fails): one bad PDU is
refused alone (ESME_RX_T_APPN, the SMSC redelivers), never its whole group. A PDU refused
DEAD_AFTER times is stored raw (receipt as an orphan, reply as a marked dead letter) and
acknowledged, so a poison PDU cannot block the link for ever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy.orm import Session

from bin_console.alerts import outbox
from bin_console.alerts.outbox_jobs import WriterJob
from bin_console.alerts.outbox_writer import connection_lost
from bin_console.channels.smpp.mo import Concat, accept_fragment, decode_payload
from bin_console.channels.smpp.receipts import Receipt
from bin_console.data.models import utcnow

log = logging.getLogger("bin_console.channels.smpp.sender")

DEAD_AFTER = 3  # refusals of the same deliver_sm before it is stored raw and acknowledged


@dataclass(frozen=True)
class ReceiptPdu:
    seq: int
    receipt: Receipt
    dead: bool  # refused DEAD_AFTER times already


@dataclass(frozen=True)
class ReplyPdu:
    seq: int
    source: str
    concat: Concat | None
    payload: bytes
    data_coding: int
    dead: bool


@dataclass
class StoreDeliverSm(WriterJob[set[int]]):
    """Result: the sequence numbers to refuse (the others are answered ESME_ROK)."""

    droppable: ClassVar[bool] = True
    isolated: ClassVar[bool] = True
    receipts: list[ReceiptPdu] = field(default_factory=list)
    replies: list[ReplyPdu] = field(default_factory=list)
    # seq -> PDU fingerprint of EVERY deliver_sm of the batch, each gets an answer (an unparseable
    # receipt is in no list above and is acknowledged: redelivering it would not help)
    fingerprints: dict[int, bytes] = field(default_factory=dict)

    @property
    def seqs(self) -> list[int]:
        return list(self.fingerprints)

    def run(self, s: Session) -> set[int]:
        now = utcnow()
        bad: set[int] = set()
        try:
            with s.begin_nested():
                outbox.apply_receipts(s, [p.receipt for p in self.receipts], now=now)
        except Exception as exc:  # find the culprit below
            if connection_lost(exc):
                raise  # not a PDU's fault: the writer retries the batch
            for p in self.receipts:
                try:
                    with s.begin_nested():
                        outbox.apply_receipts(s, [p.receipt], now=now)
                except Exception as one:  # refused, the SMSC redelivers
                    if connection_lost(one):
                        raise
                    log.exception("could not store a receipt; the SMSC will redeliver it")
                    bad.add(p.seq)
        for p in self.receipts:
            if p.dead and p.seq in bad:  # failed again: parked as an orphan (kept raw), acknowledged
                try:
                    with s.begin_nested():
                        outbox.keep_orphans(s, [p.receipt], now=now)
                    bad.discard(p.seq)
                except Exception as exc:  # the database itself fails: refuse again
                    if connection_lost(exc):
                        raise
                    log.exception("could not park a receipt refused before; the SMSC will redeliver it")
        for r in self.replies:
            if not _store_reply(s, r, now):
                bad.add(r.seq)
        return bad


def _store_reply(s: Session, p: ReplyPdu, now) -> bool:
    try:
        with s.begin_nested():
            if p.concat is None:
                text: str | None = decode_payload(p.payload, p.data_coding)
            else:  # a part of a long reply: the text once every part is in
                text = accept_fragment(s, outbox.normalise_msisdn(p.source), p.concat, p.payload, p.data_coding)
            if text is not None:
                outbox.record_reply(s, p.source, text, now=now)
        return True
    except Exception as exc:  # refused: the SMSC redelivers (nothing lost)
        if connection_lost(exc):
            raise  # not the reply's fault: the writer retries the batch
        log.exception("could not store a reply; the SMSC will redeliver it")
    if not p.dead:
        return False
    try:  # the real text failed again: keep it raw with a marker, acknowledge
        with s.begin_nested():
            outbox.record_reply(s, p.source, dead_letter(p.payload, p.data_coding), now=now)
        return True
    except Exception as exc:  # the database itself fails: refuse again
        if connection_lost(exc):
            raise
        log.exception("could not store a reply even raw; the SMSC will redeliver it")
        return False


def dead_letter(payload: bytes, dc: int) -> str:
    """A reply that could not be stored as text: kept with a marker so a dispatcher still sees it."""
    return f"[unreadable reply, data_coding {dc}, raw hex] {payload.hex()}"[:2000]
