"""Typed writer jobs: one dataclass per kind of database work a sender hands to its writer thread.

Each job holds its inputs, runs in the writer's transaction (``run(session)``) and returns a
result of the type in its ``WriterJob[...]`` base; the sender matches results by class, so a
claim's rows and a renewal's ids can never be confused. Channel-neutral: an e-mail sender uses
the same jobs with ``channel="email"``. Flags (class attributes, see outbox_writer.py):
``droppable``: on a database error the job is answered with the exception instead of retried
(its work is safe to lose: the next claim/renewal repeats it, the SMSC redelivers deliver_sm);
``isolated``: runs in a savepoint, so its failure cannot roll back the acks committed with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from sqlalchemy.orm import Session

from bin_console.alerts import outbox
from bin_console.data.models import SenderStatus, utcnow

R = TypeVar("R")


@dataclass(kw_only=True)
class WriterJob(Generic[R]):
    droppable: ClassVar[bool] = False
    isolated: ClassVar[bool] = False
    # the sender session that asked: a result that comes back after its session ended must not
    # be applied to the next one (claims are released, deliver_sm answers dropped). Set by the sender.
    session: int = 0

    def run(self, s: Session) -> R:
        raise NotImplementedError


@dataclass
class Claim(WriterJob[list[outbox.ClaimedRow]]):
    droppable: ClassVar[bool] = True
    owner: str
    limit: int
    lease_s: float
    channel: str
    training: bool | None
    asked_at: float  # monotonic time the claim was asked for: its lease began after it
    mark: bool = False  # the "on the wire" marker in the claim's commit (outbox.claim)
    mark_parts: int = 0  # or only on the first rows, up to this many parts (outbox.claim)

    def run(self, s: Session) -> list[outbox.ClaimedRow]:
        return outbox.claim(
            s,
            self.owner,
            self.limit,
            self.lease_s,
            channel=self.channel,
            training=self.training,
            mark=self.mark,
            mark_parts=self.mark_parts,
        )


@dataclass
class MarkOnWire(WriterJob[list[int]]):
    """Result: the ids marked (still ours); only those may be sent."""

    droppable: ClassVar[bool] = True
    owner: str
    delivery_ids: list[int]

    def run(self, s: Session) -> list[int]:
        return outbox.mark_on_wire(s, self.owner, self.delivery_ids)


@dataclass
class RenewLeases(WriterJob[list[int]]):
    """Result: the ids renewed; the others are no longer ours."""

    droppable: ClassVar[bool] = True
    owner: str
    delivery_ids: list[int]
    lease_s: float
    asked_at: float  # monotonic time before the renewal began: the new lease runs from after it

    def run(self, s: Session) -> list[int]:
        return outbox.renew_leases(s, self.owner, self.delivery_ids, self.lease_s)


@dataclass
class Settle(WriterJob[None]):
    """What the sender learnt about its rows: acks, failures, rows dropped unsent, rows found
    fully acked. Never droppable: it is the only record that a part was accepted."""

    owner: str
    acks: list[outbox.Ack] = field(default_factory=list)
    failures: list[outbox.Failure] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)

    def run(self, s: Session) -> None:
        now = utcnow()
        self.store_acks(s, now)
        if self.settled:
            outbox.settle_submitted(s, self.owner, self.settled, now=now)
        outbox.record_failures(s, self.owner, self.failures, now=now)
        if self.expired:
            outbox.close(s, self.owner, self.expired, "expired", now=now)
        if self.cancelled:
            outbox.close(s, self.owner, self.cancelled, "cancelled", now=now)

    def store_acks(self, s: Session, now: datetime) -> None:
        """The acks' part counts and receipts (a channel with one-part deliveries stores them cheaper)."""
        outbox.record_acks(s, self.owner, self.acks, now=now)


@dataclass
class Release(WriterJob[None]):
    """Held rows back to the queue; `on_wire` ones (a part without an answer) flagged;
    `clear_marker`: the `unsent` ones lose the marker a marking claim set (outbox.release)."""

    owner: str
    on_wire: Sequence[int] = ()
    unsent: Sequence[int] = ()
    clear_marker: bool = False

    def run(self, s: Session) -> None:
        now = utcnow()
        if self.on_wire:
            outbox.release(s, self.owner, self.on_wire, possible_duplicate=True, now=now)
        if self.unsent:
            outbox.release(
                s, self.owner, self.unsent, possible_duplicate=False, clear_marker=self.clear_marker, now=now
            )


@dataclass
class CheckCancelled(WriterJob[set[int]]):
    """Result: the alerts among `alert_ids` that were cancelled."""

    droppable: ClassVar[bool] = True
    alert_ids: set[int]

    def run(self, s: Session) -> set[int]:
        return outbox.cancelled_alerts(s, self.alert_ids)


@dataclass
class ReapExpiredLeases(WriterJob[int]):
    """Rows of senders whose lease ran out unrenewed; never the caller's own."""

    droppable: ClassVar[bool] = True
    exclude: str

    def run(self, s: Session) -> int:
        return outbox.reap_expired_leases(s, exclude=self.exclude)


@dataclass
class Housekeeping(WriterJob[int]):
    """Receipt orphans re-matched (another sender's ack may have committed after its own
    re-match ran) and stale reply fragments dropped. Result: orphans resolved."""

    droppable: ClassVar[bool] = True

    def run(self, s: Session) -> int:
        outbox.expire_fragments(s)
        return outbox.rematch_orphans(s)


@dataclass
class WriteStatus(WriterJob[None]):
    """The sender's row in sender_status: its heartbeat and what the status line shows."""

    droppable: ClassVar[bool] = True
    isolated: ClassVar[bool] = True
    account: str
    state: str
    detail: str
    training: bool
    owner: str
    rate_tps: float | None = None  # the send rate the flow control learnt (None: not measured)

    def run(self, s: Session) -> None:
        write_status(s, self)


def write_status(s: Session, st: WriteStatus) -> None:
    row = s.get(SenderStatus, st.account)
    if row is None:
        row = SenderStatus(account=st.account)
        s.add(row)
    row.state, row.detail, row.training, row.owner = st.state, st.detail[:200], st.training, st.owner[:120]
    row.rate_tps = st.rate_tps
    row.updated_at = utcnow()
