"""The outbox port: every channel's sender claims, marks, acknowledges and settles deliveries here.

The public functions below are the port (docs/ARCHITECTURE.md, "Outbox port"). Each takes the
caller's ``Session`` and never commits: a sender commits the acks, markers, receipts and replies
of one read loop in ONE transaction (bin_console/alerts/outbox_writer.py). Channel-neutral: a claim
returns plain rows (address, text, language, attempts, ...); the SMS channel builds the GSM/UCS-2
parts and UDH from them (bin_console/channels/smpp/payload.py), the e-mail channel its message.

Guarantee: at-least-once with flagged ambiguity (shared notes/reliability.md §2). A delivery row
is the source of truth; a sender only holds claimed rows in memory for a lease. Rules:

* claim: one statement (``UPDATE .. WHERE id IN (SELECT .. LIMIT n [FOR UPDATE SKIP LOCKED])
  RETURNING``) inside ``db.write()`` (BEGIN IMMEDIATE on SQLite), so two senders never get the
  same row. Rows of alerts past ``expires_at`` are expired first: never sent late.
* owners: ``new_owner_id()`` is unique per process start (host, pid and a random part). A row
  is taken from another owner only when its lease expired unrenewed; nothing is guessed from a
  PID (a PID says nothing across PID namespaces, and is reused after a kill -9).
* "on the wire" marker: ``mark_on_wire`` sets ``delivery.submitted_at`` in a commit that precedes
  the first submit of the delivery; it is overwritten with the acceptance time once every part
  is acked. Recovery flags ``possible_duplicate`` only for rows that carry the marker and are not
  fully acked, so a crash flags what may really have gone out, not everything that was claimed.
* acked parts (``delivery_part`` rows, one per message id) are never re-sent.
* every update of a claimed row requires ``claimed_by = owner AND state = 'submitting'``: a row
  reaped and re-claimed by another sender is that sender's now.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Result, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session
from sqlmodel import col

from bin_console.alerts.outbox_hot import OrphanRow, hot, run, run_many
from bin_console.channels.smpp.mo import is_stop
from bin_console.channels.smpp.receipts import Receipt, has_text_id, id_variants, normalise_id
from bin_console.data.models import (
    Reply,
    utcnow,
)
from bin_console.data.tables import ALERT, ALERT_TEXT, DELIVERY, DELIVERY_PART, MEMBER, MO_FRAGMENT, RECEIPT_ORPHAN

DT = DELIVERY
PT = DELIVERY_PART
AT = ALERT
ATT = ALERT_TEXT
MT = MEMBER
OT = RECEIPT_ORPHAN

EXPIRED_REASON = "expired before it could be sent"
CANCELLED_REASON = "cancelled before it was sent"
PART_BAD_STATES = ("undeliverable", "expired", "rejected")
CHUNK = 500  # ids per IN (...) list


def _rowcount(res: Result[Any]) -> int:
    """Rows an UPDATE/DELETE matched: Session.execute returns a CursorResult for one, typed as Result."""
    assert isinstance(res, CursorResult)
    return res.rowcount or 0


def _chunks(seq: Sequence, n: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


@dataclass(frozen=True)
class ClaimedRow:
    """One delivery leased to a sender: everything a channel needs to send it."""

    delivery_id: int
    alert_id: int
    channel: str  # "sms" | "email"
    address: str  # E.164 ("+32475123456") or an e-mail address
    text: str
    language: str  # the member's language ("nl", "fr", "de"); "" when the member is gone
    # SMSC/SMTP error answers so far, plus this attempt. Only an error answer counts (delivery.attempts
    # is raised by record_failures): a claim lost to a link flap or a shutdown must never use up
    # the give-up budget, or a few flaps plus one RSYSERR would fail an alert never sent.
    attempts: int
    possible_duplicate: bool
    expires_at: datetime | None
    urgent: bool
    sender: str | None  # the alert's source address (SMS)
    parts_total: int
    acked_parts: frozenset[int]  # 1-based parts already accepted: never re-sent
    concat_ref: int | None  # SMS: UDH reference, fixed at first claim, unique per handset in flight
    member_id: int | None = None  # e-mail: whose unsubscribe token goes in the message; None: member gone
    # the "on the wire" marker is committed with the claim (``claim(mark=True)`` or ``mark_parts``)
    on_wire: bool = False

    def parts_to_send(self) -> list[int]:
        return [n for n in range(1, self.parts_total + 1) if n not in self.acked_parts]


@dataclass(frozen=True)
class Ack:
    delivery_id: int
    part_no: int  # 1-based
    message_id: str  # as the SMSC (or SMTP server) sent it


@dataclass(frozen=True)
class Failure:
    delivery_id: int
    code: int  # SMPP command_status / SMTP code (or -1 for "no answer")
    reason: str  # readable
    permanent: bool
    retry_at: datetime | None = None  # transient: when to try again
    # no answer came after the message itself went out (an error inside SMTP DATA): it may have
    # been accepted, so the row keeps its on-wire marker and is flagged a possible duplicate
    possible_duplicate: bool = False


# --- helpers ----------------------------------------------------------------------------------------


def _insert(s: Session, table):
    return (pg_dialect if s.get_bind().dialect.name == "postgresql" else sqlite_dialect).insert(table)


def normalise_msisdn(source: str) -> str:
    """MO source ('32475123456', '+32…', '0032…', '0475…') -> E.164; unparseable -> as received."""
    raw = (source or "").strip()
    digits = "".join(c for c in raw if c.isdigit())
    if raw.startswith("+") and len(digits) >= 8:
        return "+" + digits
    if digits.startswith("00") and len(digits) >= 10:
        return "+" + digits[2:]
    if digits.startswith("0") and len(digits) in (9, 10):
        return "+32" + digits[1:]  # Belgian national format
    if len(digits) >= 8:
        return "+" + digits
    return raw[:20]


def new_owner_id(label: str = "") -> str:
    """'host:pid:random[#label]', unique per process start (fits delivery.claimed_by, 64 chars).

    Host and pid are only there for a human reading the table: two senders in different PID
    namespaces share host and pid, and a pid is reused after a crash, so the random part is
    what makes the id unique and nothing ever decides from the pid."""
    base = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(6)}"
    return f"{base}#{label[:10]}" if label else base


def _mine(owner: str) -> tuple:
    """Guard for a sender's updates: the row is still leased to it."""
    return (DT.c.claimed_by == owner, DT.c.state == "submitting")


# --- recovery, expiry, claim --------------------------------------------------------------------------


def recover(s: Session, owner: str, *, now: datetime | None = None) -> int:
    """Requeue `owner`'s own rows and every row whose lease expired unrenewed; flagged
    possible_duplicate when a part may have gone out (marker set, not every part acked).
    Returns the number of rows requeued."""
    return _requeue(s, or_(DT.c.claimed_by == owner, DT.c.lease_until < (now or utcnow())), now or utcnow())


def reap_expired_leases(s: Session, *, exclude: str | None = None, now: datetime | None = None) -> int:
    """Any sender may run this: rows whose lease ran out unrenewed (their sender died or lost the
    database) go back to the queue. `exclude`: the caller's own id, never requeued by itself (it
    may still be sending them; its own renewal decides)."""
    now = now or utcnow()
    expired = DT.c.lease_until < now
    return _requeue(s, expired if exclude is None else expired & (DT.c.claimed_by != exclude), now)


def _requeue(s: Session, who: ColumnElement[bool], now: datetime) -> int:
    may_have_gone = (DT.c.submitted_at.isnot(None)) & (DT.c.parts_acked < DT.c.parts_total)
    res = s.execute(
        update(DT)
        .where(DT.c.state == "submitting", who)
        .values(
            state="queued",
            claimed_by=None,
            lease_until=None,
            possible_duplicate=case((may_have_gone, True), else_=DT.c.possible_duplicate),
            updated_at=now,
        )
    )
    return _rowcount(res)


def expire_due(s: Session, *, channel: str, now: datetime | None = None) -> int:
    """Queued rows of alerts past expires_at -> expired (a part not submitted by then never goes)."""
    now = now or utcnow()
    # the few expired alerts first, then their rows through ix_delivery_alert_state: as a subquery
    # SQLite walked every queued row of the channel on each claim (10,000 queued e-mails: 10,000
    # rows read per claim of 20)
    due = list(s.execute(select(AT.c.id).where(AT.c.expires_at.isnot(None), AT.c.expires_at <= now)).scalars())
    n = 0
    for chunk in _chunks(due):
        res = s.execute(
            update(DT)
            .where(DT.c.alert_id.in_(chunk), DT.c.state == "queued", DT.c.channel == channel)
            .values(state="expired", error=EXPIRED_REASON, final_at=now, updated_at=now, next_attempt_at=None)
        )
        n += _rowcount(res)
    return n


def claim(
    s: Session,
    owner: str,
    limit: int,
    lease_s: float,
    *,
    channel: str = "sms",
    training: bool | None = None,
    mark: bool = False,
    mark_parts: int = 0,
    now: datetime | None = None,
) -> list[ClaimedRow]:
    """Lease up to `limit` queued rows of `channel` (oldest first) to `owner`.

    Before picking: rows past their alert's expiry are expired, and rows whose lease ran out
    unrenewed are requeued (so a restarted sender resumes as soon as the dead one's lease is
    over, without waiting for a reaper). Rows of cancelled alerts are closed, not returned.

    `training`: only alerts with that training flag. A sender bound to the training SMSC must never
    take a real alert (it would be "sent" to the simulator and lost), and a real sender must never
    send a training alert to members' phones, even when both share one database.

    `mark`: set the "on the wire" marker in the claim itself (as ``mark_on_wire`` would, one
    commit fewer). For a channel that sends every claimed row at once, one message each (e-mail):
    a crash then flags at most the claimed batch. A row released without being sent drops the
    marker again (``release(..., clear_marker=True)``).

    `mark_parts`: mark only the first rows (in id order) whose parts still to send add up to at
    most this many (always at least one row), in the claim's commit (``mark_on_wire``). A sender
    that has nothing else to send saves the separate marker commit before its first submit, and
    a crash flags no more rows than it would have marked anyway. Marked rows say ``on_wire``.
    """
    now = now or utcnow()
    expire_due(s, channel=channel, now=now)
    reap_expired_leases(s, exclude=owner, now=now)
    conditions = [
        DT.c.state == "queued",
        DT.c.channel == channel,
        or_(DT.c.next_attempt_at.is_(None), DT.c.next_attempt_at <= now),
    ]
    if training is not None:
        conditions.append(DT.c.alert_id.in_(select(AT.c.id).where(AT.c.training.is_(training))))
    pick = (
        select(DT.c.id)
        .where(*conditions)
        .order_by(DT.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has the write lock already
    )
    rows = s.execute(
        update(DT)
        .where(DT.c.id.in_(pick.scalar_subquery()))
        .values(
            state="submitting",
            claimed_by=owner,
            lease_until=now + timedelta(seconds=lease_s),
            updated_at=now,
            **({"submitted_at": func.coalesce(DT.c.submitted_at, now)} if mark else {}),
        )
        .returning(
            DT.c.id,
            DT.c.alert_id,
            DT.c.member_id,
            DT.c.address,
            DT.c.possible_duplicate,
            DT.c.concat_ref,
            DT.c.parts_total,
            DT.c.parts_acked,
            DT.c.attempts,
            DT.c.language,
        )
    ).all()
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: r.id)
    alerts = {
        a.id: a
        for chunk in _chunks(sorted({r.alert_id for r in rows}))
        for a in s.execute(
            select(AT.c.id, AT.c.text, AT.c.urgency, AT.c.sender, AT.c.expires_at, AT.c.cancelled_at).where(
                AT.c.id.in_(chunk)
            )
        )
    }
    # each row's own language version (alert_text on (alert_id, language)); "" is Alert.text
    versions = {
        (v.alert_id, v.language): v.text
        for chunk in _chunks(sorted({r.alert_id for r in rows if r.language}))
        for v in s.execute(select(ATT.c.alert_id, ATT.c.language, ATT.c.text).where(ATT.c.alert_id.in_(chunk)))
    }
    languages: dict[int, str] = {}
    for chunk in _chunks(sorted({r.member_id for r in rows if r.member_id is not None})):
        languages.update(
            (m.id, m.language) for m in s.execute(select(MT.c.id, MT.c.language).where(MT.c.id.in_(chunk)))
        )
    acked: dict[int, set[int]] = {}
    for chunk in _chunks([r.id for r in rows if r.parts_acked]):
        for d_id, part_no in s.execute(select(PT.c.delivery_id, PT.c.part_no).where(PT.c.delivery_id.in_(chunk))):
            acked.setdefault(d_id, set()).add(part_no)
    refs = _concat_refs(s, [r for r in rows if r.concat_ref is None and r.parts_total > 1], [r.id for r in rows])
    out: list[ClaimedRow] = []
    cancelled: list[int] = []
    for r in rows:
        a = alerts[r.alert_id]
        if a.cancelled_at is not None and not r.parts_acked:
            cancelled.append(r.id)
            continue
        out.append(
            ClaimedRow(
                delivery_id=r.id,
                alert_id=r.alert_id,
                channel=channel,
                address=r.address,
                text=versions.get((r.alert_id, r.language), a.text),
                language=r.language or languages.get(r.member_id, ""),
                attempts=r.attempts + 1,
                possible_duplicate=bool(r.possible_duplicate),
                expires_at=a.expires_at,
                urgent=a.urgency == "urgent",
                sender=a.sender,
                parts_total=r.parts_total,
                acked_parts=frozenset(acked.get(r.id, ())),
                concat_ref=r.concat_ref if r.concat_ref is not None else refs.get(r.id),
                member_id=r.member_id,
            )
        )
    if cancelled:
        close(s, owner, cancelled, "cancelled", now=now)
    if mark:
        out = [dataclasses.replace(c, on_wire=True) for c in out]
    elif mark_parts > 0 and out:
        first: list[int] = []
        room = mark_parts
        for c in out:
            n = len(c.parts_to_send())
            if first and n > room:
                break
            first.append(c.delivery_id)
            room -= n
        done = set(mark_on_wire(s, owner, first, now=now))
        out = [dataclasses.replace(c, on_wire=True) if c.delivery_id in done else c for c in out]
    return out


def _concat_refs(s: Session, need: Sequence, claimed_ids: Sequence[int]) -> dict[int, int]:
    """Concatenation references for multi-part rows, stored at once: fixed at first claim (a
    re-send reuses it) and unique among the long messages in flight to the same handset, else the
    phone could merge two alerts."""
    if not need:
        return {}
    used: dict[str, set[int]] = {}
    for chunk in _chunks(sorted({r.address for r in need})):
        for addr, ref in s.execute(
            select(DT.c.address, DT.c.concat_ref).where(
                DT.c.address.in_(chunk),
                DT.c.state.in_(("submitting", "submitted")),
                DT.c.concat_ref.isnot(None),
                DT.c.id.notin_(claimed_ids),
            )
        ):
            used.setdefault(addr, set()).add(ref)
    refs: dict[int, int] = {}
    for r in need:
        taken = used.setdefault(r.address, set())
        ref = r.id & 0xFF
        for _ in range(256):
            if ref not in taken:
                break
            ref = (ref + 1) & 0xFF
        taken.add(ref)
        refs[r.id] = ref
    s.execute(
        update(DT).where(DT.c.id == bindparam("b_id")).values(concat_ref=bindparam("b_ref")),
        [{"b_id": d, "b_ref": ref} for d, ref in refs.items()],
    )
    return refs


def renew_leases(
    s: Session, owner: str, delivery_ids: Sequence[int], lease_s: float, *, now: datetime | None = None
) -> list[int]:
    """Extend the leases of these rows if still `owner`'s; returns the ids renewed (the others
    are lost: send nothing more of them). Only the rows a sender still holds, so a row it lost
    track of is not kept leased for ever."""
    now = now or utcnow()
    out: list[int] = []
    for chunk in _chunks(sorted(set(delivery_ids))):
        out.extend(
            s.execute(
                update(DT)
                .where(DT.c.id.in_(chunk), *_mine(owner))
                .values(lease_until=now + timedelta(seconds=lease_s))
                .returning(DT.c.id)
            ).scalars()
        )
    return out


def mark_on_wire(s: Session, owner: str, delivery_ids: Sequence[int], *, now: datetime | None = None) -> list[int]:
    """Commit this before the first submit of these deliveries: recovery may then flag them.
    Only rows still leased to `owner` are marked; returns their ids, and only those may be sent
    (a row whose lease ran out may already be another sender's)."""
    now = now or utcnow()
    out: list[int] = []
    h = hot(s)  # driver SQL: this runs before every window refill (outbox_hot says why)
    at = h.time(now)
    for chunk in _chunks(list(delivery_ids)):
        out.extend(run(s, h.mark_on_wire(len(chunk)), (at, at, *chunk, owner)).scalars())
    return out


def close(s: Session, owner: str, delivery_ids: Sequence[int], state: str, *, now: datetime | None = None) -> None:
    """Claimed rows the sender drops unsent: 'expired' (past expires_at) or 'cancelled'."""
    reason = {"expired": EXPIRED_REASON, "cancelled": CANCELLED_REASON}[state]
    now = now or utcnow()
    for chunk in _chunks(list(delivery_ids)):
        s.execute(
            update(DT)
            .where(DT.c.id.in_(chunk), *_mine(owner))
            .values(state=state, error=reason, final_at=now, updated_at=now, claimed_by=None, lease_until=None)
        )


def cancelled_alerts(s: Session, alert_ids: Iterable[int]) -> set[int]:
    """The alerts among these that were cancelled (their unsent rows must not go out)."""
    out: set[int] = set()
    for chunk in _chunks(sorted(set(alert_ids))):
        out.update(s.execute(select(AT.c.id).where(AT.c.id.in_(chunk), AT.c.cancelled_at.isnot(None))).scalars())
    return out


# --- results of submission ------------------------------------------------------------------------------


def record_acks(s: Session, owner: str, acks: Sequence[Ack], *, now: datetime | None = None) -> None:
    """Part rows (one per accepted part), parts_acked, and 'submitted' once every part is in.
    Part rows are stored whoever holds the row now (the part did go out); the state change only
    while it is still `owner`'s. Receipts that came before their ack (orphans) are matched again.

    Every SMS ack waits for the commit this runs in (the window slot is freed only then), so the
    usual case, deliveries of one part, takes the fixed statements of ``record_single_part_acks``;
    parts of longer messages are counted per delivery."""
    if not acks:
        return
    now = now or utcnow()
    record_single_part_acks(s, owner, acks, now=now)
    _rematch_orphans(s, [normalise_id(a.message_id)[:65] for a in acks], now)


def _record_counted_acks(s: Session, owner: str, acks: Sequence[Ack], now: datetime) -> None:
    """``record_acks`` for parts of deliveries of any length: parts_acked counted from the part rows."""
    rows: list[dict[str, Any]] = [
        {
            "delivery_id": a.delivery_id,
            "part_no": a.part_no,
            "message_id": normalise_id(a.message_id)[:65],
            "message_id_raw": (a.message_id or "")[:65],
            "state": "submitted",
            "submitted_at": now,
        }
        for a in acks
    ]
    s.execute(_insert(s, PT).on_conflict_do_nothing(index_elements=["delivery_id", "part_no"]), rows)
    n_acked = select(func.count()).select_from(PT).where(PT.c.delivery_id == DT.c.id).scalar_subquery()
    # One UPDATE (this runs in the commit every ack waits for): the count of part rows, and
    # 'submitted' once it reaches parts_total while the row is still ours. SET expressions see
    # the row as it was, so `done` is decided on the new count and the old state.
    done = and_(n_acked >= DT.c.parts_total, *_mine(owner))

    def when_done(value: Any, column: Any) -> Any:
        return case((done, value), else_=column)

    for chunk in _chunks(sorted({a.delivery_id for a in acks})):
        s.execute(
            update(DT)
            .where(DT.c.id.in_(chunk))
            .values(
                parts_acked=n_acked,
                updated_at=now,
                state=when_done("submitted", DT.c.state),
                submitted_at=when_done(now, DT.c.submitted_at),
                claimed_by=when_done(None, DT.c.claimed_by),
                lease_until=when_done(None, DT.c.lease_until),
                next_attempt_at=when_done(None, DT.c.next_attempt_at),
                error=when_done(None, DT.c.error),
                error_code=when_done(None, DT.c.error_code),
            )
        )


def record_single_part_acks(s: Session, owner: str, acks: Sequence[Ack], *, now: datetime | None = None) -> None:
    """``record_acks`` for deliveries of one part each (e-mail: one message per member), in a
    fixed number of statements whatever the batch: the part rows in one executemany, then
    ``parts_acked`` and the 'submitted' state set without counting parts, and no receipt orphans
    re-matched (an SMTP relay sends no SMPP receipts). The same rules: part rows are stored
    whoever holds the row now (the message did go out); the state change only while it is still
    `owner`'s. The parts of a delivery of several parts are counted per delivery."""
    if not acks:
        return
    now = now or utcnow()
    multi = [a for a in acks if a.part_no != 1]
    single = [a for a in acks if a.part_no == 1]
    if single:
        # driver SQL: this runs in the commit every SMS ack waits for (outbox_hot says why)
        h = hot(s)
        at = h.time(now)
        rows = [(a.delivery_id, 1, normalise_id(a.message_id)[:65], (a.message_id or "")[:65], at) for a in single]
        run_many(s, h.part_rows, rows)
        for chunk in _chunks(sorted({a.delivery_id for a in single})):
            res = run(s, h.single_part_acks(len(chunk)), h.single_part_ack_params(owner, at, chunk))
            if _rowcount(res) < len(chunk):  # a delivery of several parts among them: counted there
                inside = set(chunk)
                multi.extend(a for a in single if a.delivery_id in inside)
    if multi:
        _record_counted_acks(s, owner, multi, now)


def settle_submitted(s: Session, owner: str, delivery_ids: Sequence[int], *, now: datetime | None = None) -> None:
    """Rows whose every part is already acked (an earlier run died before the state change)."""
    now = now or utcnow()
    for chunk in _chunks(sorted(set(delivery_ids))):
        s.execute(
            update(DT)
            .where(DT.c.id.in_(chunk), DT.c.parts_acked >= DT.c.parts_total, *_mine(owner))
            .values(state="submitted", submitted_at=now, claimed_by=None, lease_until=None, updated_at=now)
        )


def record_failures(s: Session, owner: str, failures: Sequence[Failure], *, now: datetime | None = None) -> None:
    """Permanent -> failed with code and reason; transient -> queued again at retry_at. Both
    count as an attempt (the server answered with an error, or an error came where its answer
    should have: ``possible_duplicate``)."""
    if not failures:  # the usual Settle: nothing to build
        return
    now = now or utcnow()
    for flagged in (False, True):
        perm = [f for f in failures if f.permanent and f.possible_duplicate is flagged]
        trans = [f for f in failures if not f.permanent and f.possible_duplicate is flagged]
        # the server answered with an error: nothing of it was accepted, no duplicate risk, the
        # marker goes; without an answer the message may be in, and the row says so
        marker: dict[str, Any] = (
            {"possible_duplicate": True}
            if flagged
            else {"submitted_at": case((DT.c.parts_acked == 0, None), else_=DT.c.submitted_at)}
        )
        if perm:
            s.execute(
                update(DT)
                .where(DT.c.id == bindparam("b_id"), *_mine(owner))
                .values(
                    state="failed",
                    attempts=DT.c.attempts + 1,
                    error_code=bindparam("b_code"),
                    error=bindparam("b_reason"),
                    final_at=now,
                    updated_at=now,
                    claimed_by=None,
                    lease_until=None,
                    **({"possible_duplicate": True} if flagged else {}),
                ),
                [{"b_id": f.delivery_id, "b_code": f.code, "b_reason": f.reason[:200]} for f in perm],
            )
        if trans:
            s.execute(
                update(DT)
                .where(DT.c.id == bindparam("b_id"), *_mine(owner))
                .values(
                    state="queued",
                    attempts=DT.c.attempts + 1,
                    error_code=bindparam("b_code"),
                    error=bindparam("b_reason"),
                    next_attempt_at=bindparam("b_at"),
                    updated_at=now,
                    claimed_by=None,
                    lease_until=None,
                    **marker,
                ),
                [
                    {"b_id": f.delivery_id, "b_code": f.code, "b_reason": f.reason[:200], "b_at": f.retry_at or now}
                    for f in trans
                ],
            )


def release(
    s: Session,
    owner: str,
    delivery_ids: Sequence[int],
    *,
    possible_duplicate: bool,
    clear_marker: bool = False,
    now: datetime | None = None,
) -> None:
    """Claimed rows back to the queue (link lost, shutdown). `possible_duplicate`: a part of them
    was on the wire without an answer, it may have reached the server. `clear_marker`: nothing of
    these rows reached the server although the claim marked them (``claim(mark=True)``), so a
    later crash must not flag them; the marker stays on a row with an acked part."""
    now = now or utcnow()
    values: dict = {"state": "queued", "claimed_by": None, "lease_until": None, "updated_at": now}
    if possible_duplicate:
        values["possible_duplicate"] = True
    elif clear_marker:
        values["submitted_at"] = case((DT.c.parts_acked == 0, None), else_=DT.c.submitted_at)
    for chunk in _chunks(sorted(set(delivery_ids))):
        s.execute(update(DT).where(DT.c.id.in_(chunk), *_mine(owner)).values(**values))


# --- receipts -----------------------------------------------------------------------------------------------


def _rematch_orphans(s: Session, new_ids: Sequence[str], now: datetime) -> None:
    """A receipt can beat its submit_sm_resp: retry the orphans whose id matches a new ack."""
    # an orphan from a TLV that lost its last character carries the id minus one character
    variants = sorted({v for i in new_ids for v in id_variants(i)} | {i[:-1] for i in new_ids if len(i) > 1})
    found: list[OrphanRow] = []
    h = hot(s)
    for chunk in _chunks(variants):  # driver SQL: every ack commit runs it (outbox_hot)
        found.extend(OrphanRow(*row) for row in run(s, h.orphans_by_id(len(chunk)), chunk))
    _retry_orphans(s, found, now)


def rematch_orphans(s: Session, *, max_age_s: float = 86400.0, limit: int = 500, now: datetime | None = None) -> int:
    """Housekeeping: retry unresolved recent orphans. Needed with two senders: B can store an
    orphan while A's ack is still uncommitted, after A's commit-time re-match already ran.
    Returns the number resolved."""
    now = now or utcnow()
    found = s.execute(
        select(OT.c.id, OT.c.message_id, OT.c.alt_ids, OT.c.stat, OT.c.err, OT.c.raw)
        .where(OT.c.resolved.is_(False), OT.c.received_at >= now - timedelta(seconds=max_age_s))
        .order_by(OT.c.id.desc())
        .limit(limit)
    ).all()
    return _retry_orphans(s, found, now)


def _retry_orphans(s: Session, found: Sequence, now: datetime) -> int:
    if not found:
        return 0
    receipts = [
        Receipt(o.message_id, tuple(o.alt_ids.split()), o.stat, o.err, o.raw, tlv_only=not has_text_id(o.raw))
        for o in found
    ]
    unmatched = apply_receipts(s, receipts, store_orphans=False, now=now)
    still = {id(r) for r in unmatched}
    done = [o.id for o, r in zip(found, receipts, strict=True) if id(r) not in still]
    if done:
        s.execute(update(OT).where(OT.c.id.in_(done)).values(resolved=True))
    return len(done)


def apply_receipts(
    s: Session, receipts: Sequence[Receipt], *, store_orphans: bool = True, now: datetime | None = None
) -> list[Receipt]:
    """Idempotent: a final part state is never overwritten. Returns the receipts that matched no
    part; with `store_orphans` they are kept in receipt_orphan (re-matched on new acks)."""
    if not receipts:
        return []
    now = now or utcnow()
    cands = sorted({c for r in receipts for c in r.candidates()})
    by_id: dict[str, tuple[int, int]] = {}
    for chunk in _chunks(cands):
        for pid, did, mid in s.execute(
            select(PT.c.id, PT.c.delivery_id, PT.c.message_id).where(PT.c.message_id.in_(chunk)).order_by(PT.c.id)
        ):
            by_id[mid] = (pid, did)  # the latest part wins when an id repeats
    unmatched: list[Receipt] = []
    finals: list[dict] = []
    interims: list[dict] = []
    touched: set[int] = set()
    for r in receipts:
        hit = next((by_id[c] for c in r.candidates() if c in by_id), None)
        if hit is None and r.tlv_only:
            hit = _one_char_longer(s, r.message_id)
        if hit is None:
            unmatched.append(r)
            continue
        pid, did = hit
        touched.add(did)
        row = {"b_pid": pid, "b_stat": r.stat[:8], "b_err": (r.err or None) and r.err[:8], "b_at": now}
        if r.state is None:
            interims.append(row)
        else:
            finals.append({**row, "b_state": r.state})
    # idempotent: a final part state is never overwritten (redelivered receipts change nothing)
    part_open = PT.c.state == "submitted"
    if finals:
        s.execute(
            update(PT)
            .where(PT.c.id == bindparam("b_pid"), part_open)
            .values(
                state=bindparam("b_state"),
                receipt_stat=bindparam("b_stat"),
                receipt_err=bindparam("b_err"),
                receipt_at=bindparam("b_at"),
            ),
            finals,
        )
    if interims:
        s.execute(
            update(PT)
            .where(PT.c.id == bindparam("b_pid"), part_open)
            .values(receipt_stat=bindparam("b_stat"), receipt_err=bindparam("b_err"), receipt_at=bindparam("b_at")),
            interims,
        )
    if touched:
        _settle_deliveries(s, sorted(touched), now)
    if store_orphans and unmatched:
        keep_orphans(s, unmatched, now=now)
    return unmatched


def _one_char_longer(s: Session, prefix: str) -> tuple[int, int] | None:
    """The part whose id is `prefix` plus one character, if exactly one is (a TLV id that lost its
    last character); several candidates -> no match (the receipt stays an orphan)."""
    if not prefix:
        return None
    esc = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = s.execute(
        select(PT.c.id, PT.c.delivery_id).where(PT.c.message_id.like(esc + "_", escape="\\")).order_by(PT.c.id).limit(2)
    ).all()
    return (rows[0].id, rows[0].delivery_id) if len(rows) == 1 else None


def _settle_deliveries(s: Session, ids: Sequence[int], now: datetime) -> None:
    """Delivery state from its parts: delivered when all are, the bad state as soon as one is."""
    open_states = ("submitted", "submitting", "queued")
    n_deliv = (
        select(func.count())
        .select_from(PT)
        .where(PT.c.delivery_id == DT.c.id, PT.c.state == "delivered")
        .scalar_subquery()
    )
    for chunk in _chunks(list(ids)):
        s.execute(update(DT).where(DT.c.id.in_(chunk)).values(parts_delivered=n_deliv, updated_at=now))
        bad: dict[int, tuple[str, str | None]] = {}
        for did, state, err in s.execute(
            select(PT.c.delivery_id, PT.c.state, PT.c.receipt_err)
            .where(PT.c.delivery_id.in_(chunk), PT.c.state.in_(PART_BAD_STATES))
            .order_by(PT.c.part_no)
        ):
            bad.setdefault(did, (state, err))
        if bad:
            s.execute(
                update(DT)
                # or_, not in_(): an expanding IN cannot run as executemany (several bad receipts)
                .where(DT.c.id == bindparam("b_id"), or_(*(DT.c.state == st for st in open_states)))
                .values(
                    state=bindparam("b_state"),
                    error=bindparam("b_reason"),
                    final_at=now,
                    claimed_by=None,
                    lease_until=None,
                ),
                [
                    {"b_id": d, "b_state": st, "b_reason": f"receipt: {st}" + (f" (err {err})" if err else "")}
                    for d, (st, err) in bad.items()
                ],
            )
        s.execute(
            update(DT)
            .where(DT.c.id.in_(chunk), DT.c.state.in_(open_states), DT.c.parts_delivered >= DT.c.parts_total)
            .values(state="delivered", final_at=now, claimed_by=None, lease_until=None)
        )


def keep_orphans(s: Session, receipts: Sequence[Receipt], *, now: datetime | None = None) -> None:
    """Keep receipts that match no part yet (once per id and stat), raw included."""
    now = now or utcnow()
    ids = sorted({r.message_id for r in receipts})
    have: set[tuple[str, str]] = set()
    for chunk in _chunks(ids):
        have.update(
            (m, st)
            for m, st in s.execute(
                select(OT.c.message_id, OT.c.stat).where(OT.c.message_id.in_(chunk), OT.c.resolved.is_(False))
            )
        )
    rows = []
    for r in receipts:
        if (r.message_id, r.stat) in have:
            continue  # a redelivered orphan: keep one
        have.add((r.message_id, r.stat))
        rows.append(
            {
                "message_id": r.message_id[:65],
                "alt_ids": " ".join(r.alt_ids)[:200],
                "stat": r.stat[:8],
                "err": r.err,
                "raw": r.raw.replace("\x00", ""),  # PostgreSQL refuses NUL in text
                "received_at": now,
                "resolved": False,
            }
        )
    if rows:
        s.execute(OT.insert(), rows)


# --- member replies -------------------------------------------------------------------------------------------


REPLY_DEDUPE_S = 600  # a redelivered reply (our deliver_sm_resp was lost) arrives within minutes
FRAGMENT_MAX_AGE_S = 3600  # a long reply whose other parts never came (or were joined already)


def record_reply(s: Session, source: str, text: str, *, now: datetime | None = None) -> int:
    """Keep a member's reply (even from an unknown number), link it to the member and the latest
    alert its number received, honour STOP words (audited). Returns the reply id; a copy the
    SMSC redelivered within REPLY_DEDUPE_S returns the first one's id."""
    now = now or utcnow()
    text = text.replace("\x00", "")  # PostgreSQL refuses NUL in text; it carries nothing
    e164 = normalise_msisdn(source)
    # the SMSC redelivers a reply whose answer it did not get: same source and text shortly
    # after is that copy, not a new message (it would show twice in the inbox)
    seen = s.execute(
        select(col(Reply.id))
        .where(
            col(Reply.source) == e164[:20],
            col(Reply.received_at) >= now - timedelta(seconds=REPLY_DEDUPE_S),
            col(Reply.text) == text,
        )
        .limit(1)
    ).scalar()
    if seen is not None:
        return int(seen)
    members = list(s.execute(select(MT.c.id).where(MT.c.mobile == e164).order_by(MT.c.id)).scalars())
    last = s.execute(
        select(DT.c.alert_id, DT.c.member_id)
        .where(DT.c.address == e164, DT.c.channel == "sms")
        .order_by(DT.c.alert_id.desc())
        .limit(1)
    ).first()
    member_id = None
    if last is not None and last.member_id in members:
        member_id = last.member_id
    elif members:
        member_id = members[0]
    opt_out = is_stop(text)
    reply = Reply(
        received_at=now,
        source=e164[:20],
        member_id=member_id,
        alert_id=last.alert_id if last is not None else None,
        text=text,
        is_opt_out=opt_out,
    )
    s.add(reply)
    s.flush()
    assert reply.id is not None  # given by the flush
    if opt_out and members:
        s.execute(
            update(MT)
            .where(MT.c.mobile == e164)
            .values(sms_opt_out=True, opt_out_at=case((MT.c.opt_out_at.is_(None), now), else_=MT.c.opt_out_at))
        )
        _audit_opt_out(s, reply.id, members)
    return reply.id


def expire_fragments(s: Session, *, max_age_s: float = FRAGMENT_MAX_AGE_S, now: datetime | None = None) -> int:
    """Housekeeping: drop parts of long replies that never completed (e.g. the redelivered last
    part of a reply already joined), so they do not linger for ever."""
    cutoff = (now or utcnow()) - timedelta(seconds=max_age_s)
    return _rowcount(s.execute(MO_FRAGMENT.delete().where(MO_FRAGMENT.c.received_at < cutoff)))


def _audit_opt_out(s: Session, reply_id: int, member_ids: list[int]) -> None:
    from bin_console.trust import audit  # lazily: audit imports the actor machinery, only needed here

    audit.append(
        s,
        _sender_actor(),
        "member.opt_out",
        object_ref=f"reply:{reply_id}",
        detail={"via": "sms_reply", "members": member_ids},
    )


@functools.lru_cache(maxsize=1)
def _sender_actor():
    from bin_console.trust.actor import Actor

    a = Actor.current()
    return Actor(os_user=a.os_user, ssh_client=None, host=a.host, login_uid=a.login_uid)


def store_reply(db, source: str, text: str) -> int:
    """`record_reply` in its own transaction (demo data, tests)."""
    with db.write() as s:
        return record_reply(s, source, text)
