"""The SMS outbox: claim queued deliveries, record what the SMSC said, apply receipts, store replies.

Guarantee: at-least-once with flagged ambiguity (shared notes/reliability.md §2). A delivery row is
the source of truth; the sender only holds claimed rows in memory for a lease. Rules:

* claim: one statement (``UPDATE .. WHERE id IN (SELECT .. LIMIT n [FOR UPDATE SKIP LOCKED])
  RETURNING``) inside ``db.write()`` (BEGIN IMMEDIATE on SQLite), so two senders never get the
  same row. Rows of alerts past ``expires_at`` are expired first: never sent late.
* "on the wire" marker: the sender sets ``delivery.submitted_at`` in the same transaction that
  precedes the first submit_sm of a claimed delivery (see ``mark_on_wire``); it is overwritten with
  the acceptance time once every part is acked. Recovery flags ``possible_duplicate`` only for rows
  that carry the marker and are not fully acked, so a crash flags what may really have gone out,
  not everything that was claimed.
* acked parts (``delivery_part`` rows, one per SMSC message id) are never re-sent.
* every batch function runs in the caller's session (``_name(s, ...)``), so the sender commits
  acks, receipts, replies and markers of one read loop in ONE transaction; the public wrappers
  take a ``Database`` as the contract says.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from bin_console.channels.mo import is_stop
from bin_console.channels.receipts import Receipt, has_text_id, id_variants, normalise_id
from bin_console.data.models import (
    Alert,
    Delivery,
    DeliveryPart,
    Member,
    MoFragment,
    ReceiptOrphan,
    Reply,
    utcnow,
)

DT = Delivery.__table__
PT = DeliveryPart.__table__
AT = Alert.__table__
MT = Member.__table__
OT = ReceiptOrphan.__table__

EXPIRED_REASON = "expired before it could be sent"
CANCELLED_REASON = "cancelled before it was sent"
PART_BAD_STATES = ("undeliverable", "expired", "rejected")
CHUNK = 500  # ids per IN (...) list


def _chunks(seq: Sequence, n: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


@dataclass
class WorkItem:
    delivery_id: int
    alert_id: int
    destination: str  # "32475123456" (international, no "+")
    data_coding: int
    parts: list[bytes]  # full short_message per part, UDH included when there are several
    acked_parts: set[int]  # 1-based part numbers the SMSC already accepted: never re-sent
    concat_ref: int | None
    possible_duplicate: bool
    urgent: bool
    sender: str | None
    expires_at: datetime | None
    # SMSC error answers so far, plus this attempt. Only an SMSC error counts (delivery.attempts is
    # raised by _record_failures): a claim lost to a link flap or a shutdown must never use up the
    # give-up budget, or a few flaps plus one RSYSERR would fail an alert never sent.
    attempts: int = 1
    cancelled: bool = False

    @property
    def esm_class(self) -> int:
        return 0x40 if len(self.parts) > 1 else 0

    def parts_to_send(self) -> list[int]:
        return [n for n in range(1, len(self.parts) + 1) if n not in self.acked_parts]


@dataclass(frozen=True)
class Ack:
    delivery_id: int
    part_no: int  # 1-based
    message_id: str  # as the SMSC sent it


@dataclass(frozen=True)
class Failure:
    delivery_id: int
    code: int  # SMPP command_status (or -1 for "no answer")
    reason: str  # readable
    permanent: bool
    retry_at: datetime | None = None  # transient: when to try again


# --- helpers ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _encoded(text: str):  # noqa: ANN202 - EncodedSms
    from bin_console.encoding import encode

    return encode(text)


def _insert(s: Session, table):  # noqa: ANN001, ANN202
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


def owner_id(suffix: str = "") -> str:
    """host:pid[#suffix] — recover() uses the pid to find rows of dead senders on this host."""
    base = f"{socket.gethostname()}:{os.getpid()}"
    return f"{base}#{suffix}" if suffix else base


def _dead_local_owners(s: Session, owner: str) -> list[str]:
    host = socket.gethostname()
    owners = s.execute(
        select(DT.c.claimed_by).where(DT.c.state == "submitting", DT.c.claimed_by.like(f"{host}:%")).distinct()
    ).scalars()
    dead = []
    for o in owners:
        if not o or o == owner:
            continue
        pid_text = o[len(host) + 1 :].split("#", 1)[0]
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            dead.append(o)
        except (ValueError, PermissionError, OSError):
            continue
    return dead


# --- recovery, expiry, claim --------------------------------------------------------------------------


def recover(db, owner: str) -> int:  # noqa: ANN001
    """At start: own 'submitting' rows, rows of dead senders on this host and any row whose lease
    expired -> queued. possible_duplicate when a part may have gone out (on-wire marker set and
    not every part acked). Returns the number of rows requeued."""
    with db.write() as s:
        return _recover(s, owner, utcnow())


def _recover(s: Session, owner: str, now: datetime, *, own: bool = True, exclude: str | None = None) -> int:
    """`exclude`: the periodic reaper's own owner id: a live sender's rows are never requeued by
    itself (it may still be sending them), only by others once the lease is really gone."""
    who = [DT.c.lease_until < now]
    if own:
        who.append(DT.c.claimed_by == owner)
        dead = _dead_local_owners(s, owner)
        if dead:
            who.append(DT.c.claimed_by.in_(dead))
    may_have_gone = (DT.c.submitted_at.isnot(None)) & (DT.c.parts_acked < DT.c.parts_total)
    res = s.execute(
        update(DT)
        .where(DT.c.state == "submitting", or_(*who), *([DT.c.claimed_by != exclude] if exclude else []))
        .values(
            state="queued",
            claimed_by=None,
            lease_until=None,
            possible_duplicate=case((may_have_gone, True), else_=DT.c.possible_duplicate),
            updated_at=now,
        )
    )
    return res.rowcount or 0


def reap_expired_leases(db) -> int:  # noqa: ANN001
    """Any sender may run this: rows of a sender that died elsewhere come back after their lease."""
    with db.write() as s:
        return _recover(s, "", utcnow(), own=False)


def expire_due(db, *, channel: str = "sms") -> int:  # noqa: ANN001
    """Queued rows of alerts past expires_at -> expired (a part not submitted by then never goes)."""
    with db.write() as s:
        return _expire_due(s, utcnow(), channel)


def _expire_due(s: Session, now: datetime, channel: str = "sms") -> int:
    due = select(AT.c.id).where(AT.c.expires_at.isnot(None), AT.c.expires_at <= now)
    res = s.execute(
        update(DT)
        .where(DT.c.state == "queued", DT.c.channel == channel, DT.c.alert_id.in_(due))
        .values(state="expired", error=EXPIRED_REASON, final_at=now, updated_at=now, next_attempt_at=None)
    )
    return res.rowcount or 0


def claim(db, owner: str, limit: int, lease_s: float, *, training: bool | None = None) -> list[WorkItem]:  # noqa: ANN001
    """Lease up to `limit` queued SMS rows (oldest first) to `owner`; rows expired first.

    `training`: only alerts with that training flag. A sender bound to the training SMSC must never
    take a real alert (it would be "sent" to the simulator and lost), and a real sender must never
    send a training alert to members' phones, even when both share one database.
    """
    with db.write() as s:
        return _claim(s, owner, limit, lease_s, utcnow(), training=training)


def _claim(
    s: Session, owner: str, limit: int, lease_s: float, now: datetime, *, training: bool | None = None
) -> list[WorkItem]:
    _expire_due(s, now)
    conditions = [
        DT.c.state == "queued",
        DT.c.channel == "sms",
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
        )
        .returning(
            DT.c.id,
            DT.c.alert_id,
            DT.c.address,
            DT.c.possible_duplicate,
            DT.c.concat_ref,
            DT.c.parts_total,
            DT.c.parts_acked,
            DT.c.attempts,
        )
    ).all()
    if not rows:
        return []
    rows.sort(key=lambda r: r.id)
    alert_ids = sorted({r.alert_id for r in rows})
    alerts = {
        a.id: a
        for a in s.execute(
            select(AT.c.id, AT.c.text, AT.c.urgency, AT.c.sender, AT.c.expires_at, AT.c.cancelled_at).where(
                AT.c.id.in_(alert_ids)
            )
        )
    }
    acked: dict[int, set[int]] = {}
    with_acks = [r.id for r in rows if r.parts_acked]
    for chunk in _chunks(with_acks):
        for d_id, part_no in s.execute(select(PT.c.delivery_id, PT.c.part_no).where(PT.c.delivery_id.in_(chunk))):
            acked.setdefault(d_id, set()).add(part_no)

    # Concatenation reference: fixed at first submit (a re-send reuses it) and unique among the
    # long messages in flight to the same handset, else the phone could merge two alerts.
    need_ref = [r for r in rows if r.concat_ref is None and len(_encoded(alerts[r.alert_id].text).parts) > 1]
    refs: dict[int, int] = {}
    fixups: list[dict] = []
    if need_ref:
        claimed_ids = [r.id for r in rows]
        used: dict[str, set[int]] = {}
        addrs = sorted({r.address for r in need_ref})
        for chunk in _chunks(addrs):
            for addr, ref in s.execute(
                select(DT.c.address, DT.c.concat_ref).where(
                    DT.c.address.in_(chunk),
                    DT.c.state.in_(("submitting", "submitted")),
                    DT.c.concat_ref.isnot(None),
                    DT.c.id.notin_(claimed_ids),
                )
            ):
                used.setdefault(addr, set()).add(ref)
        for r in need_ref:
            taken = used.setdefault(r.address, set())
            ref = r.id & 0xFF
            for _ in range(256):
                if ref not in taken:
                    break
                ref = (ref + 1) & 0xFF
            taken.add(ref)
            refs[r.id] = ref
    items: list[WorkItem] = []
    cancelled: list[int] = []
    for r in rows:
        a = alerts[r.alert_id]
        enc = _encoded(a.text)
        ref = r.concat_ref if r.concat_ref is not None else refs.get(r.id)
        n_parts = len(enc.parts)
        if r.id in refs or n_parts != r.parts_total:
            fixups.append({"b_id": r.id, "b_ref": ref, "b_total": n_parts})
        if a.cancelled_at is not None and not r.parts_acked:
            cancelled.append(r.id)
            continue
        from bin_console.encoding import add_udh

        parts = add_udh(enc.parts, ref or 0) if n_parts > 1 else list(enc.parts)
        items.append(
            WorkItem(
                delivery_id=r.id,
                alert_id=r.alert_id,
                destination=r.address.strip().lstrip("+"),
                data_coding=enc.data_coding,
                parts=parts,
                acked_parts=acked.get(r.id, set()),
                concat_ref=ref,
                possible_duplicate=bool(r.possible_duplicate),
                urgent=a.urgency == "urgent",
                sender=a.sender,
                expires_at=a.expires_at,
                attempts=r.attempts + 1,
            )
        )
    if fixups:
        s.execute(
            update(DT)
            .where(DT.c.id == bindparam("b_id"))
            .values(concat_ref=bindparam("b_ref"), parts_total=bindparam("b_total")),
            fixups,
        )
    if cancelled:
        _close_items(s, cancelled, "cancelled", CANCELLED_REASON, now)
    return items


def renew_leases(
    s: Session, owner: str, lease_s: float, now: datetime | None = None, *, ids: Sequence[int] | None = None
) -> int:
    """Extend the lease of `owner`'s rows; with `ids`, only those (the rows the sender still holds,
    so a row it lost track of is not kept leased for ever). Returns the number of rows renewed."""
    now = now or utcnow()
    values = {"lease_until": now + timedelta(seconds=lease_s)}
    mine = (DT.c.claimed_by == owner, DT.c.state == "submitting")
    if ids is None:
        return s.execute(update(DT).where(*mine).values(**values)).rowcount or 0
    return len(renew_held(s, owner, ids, lease_s, now))


def renew_held(s: Session, owner: str, ids: Sequence[int], lease_s: float, now: datetime) -> list[int]:
    """Extend the leases of these rows if still ours; returns the ids renewed (the others are lost)."""
    out: list[int] = []
    for chunk in _chunks(sorted(set(ids))):
        out.extend(
            s.execute(
                update(DT)
                .where(DT.c.id.in_(chunk), DT.c.claimed_by == owner, DT.c.state == "submitting")
                .values(lease_until=now + timedelta(seconds=lease_s))
                .returning(DT.c.id)
            ).scalars()
        )
    return out


def mark_on_wire(s: Session, delivery_ids: Sequence[int], now: datetime, *, owner: str | None = None) -> list[int]:
    """Committed before the first submit_sm of these deliveries: recovery may then flag them.

    With `owner`: only rows still leased to it; returns the ids marked, and only those may be sent
    (a row whose lease ran out may already be another sender's)."""
    if owner is not None:
        out: list[int] = []
        for chunk in _chunks(list(delivery_ids)):
            out.extend(
                s.execute(
                    update(DT)
                    .where(DT.c.id.in_(chunk), DT.c.claimed_by == owner, DT.c.state == "submitting")
                    .values(submitted_at=func.coalesce(DT.c.submitted_at, now), updated_at=now)
                    .returning(DT.c.id)
                ).scalars()
            )
        return out
    for chunk in _chunks(list(delivery_ids)):
        s.execute(
            update(DT).where(DT.c.id.in_(chunk), DT.c.submitted_at.is_(None)).values(submitted_at=now, updated_at=now)
        )
    return list(delivery_ids)


def _mine(owner: str | None) -> list:
    """Guard for the sender's updates: the row is still leased to this sender."""
    return [] if owner is None else [DT.c.claimed_by == owner, DT.c.state == "submitting"]


def _close_items(
    s: Session, ids: Sequence[int], state: str, reason: str, now: datetime, owner: str | None = None
) -> None:
    for chunk in _chunks(list(ids)):
        s.execute(
            update(DT)
            .where(DT.c.id.in_(chunk), DT.c.state.in_(("submitting", "queued")), *_mine(owner))
            .values(state=state, error=reason, final_at=now, updated_at=now, claimed_by=None, lease_until=None)
        )


def close_items(
    s: Session, ids: Sequence[int], state: str, now: datetime | None = None, *, owner: str | None = None
) -> None:
    """Claimed rows the sender drops: 'expired' (past expires_at) or 'cancelled' (alert cancelled)."""
    reason = EXPIRED_REASON if state == "expired" else CANCELLED_REASON
    _close_items(s, ids, state, reason, now or utcnow(), owner)


def cancelled_alerts(s: Session, alert_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(alert_ids))
    out: set[int] = set()
    for chunk in _chunks(ids):
        out.update(s.execute(select(AT.c.id).where(AT.c.id.in_(chunk), AT.c.cancelled_at.isnot(None))).scalars())
    return out


# --- results of submission ------------------------------------------------------------------------------


def record_acks(db, acks: Sequence[Ack]) -> None:  # noqa: ANN001
    """One transaction for the batch: part rows, parts_acked, 'submitted' once all parts are in."""
    with db.write() as s:
        _record_acks(s, acks, utcnow())


def _record_acks(s: Session, acks: Sequence[Ack], now: datetime, *, owner: str | None = None) -> None:
    """Part rows are stored whoever holds the row now (the part did go out); the state change
    only while it is still ours (`owner`)."""
    if not acks:
        return
    rows = [
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
    ids = sorted({a.delivery_id for a in acks})
    n_acked = select(func.count()).select_from(PT).where(PT.c.delivery_id == DT.c.id).scalar_subquery()
    for chunk in _chunks(ids):
        s.execute(update(DT).where(DT.c.id.in_(chunk)).values(parts_acked=n_acked, updated_at=now))
        s.execute(
            update(DT)
            .where(DT.c.id.in_(chunk), DT.c.state == "submitting", DT.c.parts_acked >= DT.c.parts_total, *_mine(owner))
            .values(
                state="submitted",
                submitted_at=now,
                claimed_by=None,
                lease_until=None,
                next_attempt_at=None,
                error=None,
                error_code=None,
            )
        )
    _rematch_orphans(s, [r["message_id"] for r in rows], now)


def _rematch_orphans(s: Session, new_ids: Sequence[str], now: datetime) -> None:
    """A receipt can beat its submit_sm_resp: retry the orphans whose id matches a new ack."""
    # an orphan from a TLV that lost its last character carries the id minus one character
    variants = sorted({v for i in new_ids for v in id_variants(i)} | {i[:-1] for i in new_ids if len(i) > 1})
    found = []
    for chunk in _chunks(variants):
        found.extend(
            s.execute(
                select(OT.c.id, OT.c.message_id, OT.c.alt_ids, OT.c.stat, OT.c.err, OT.c.raw).where(
                    OT.c.message_id.in_(chunk), OT.c.resolved.is_(False)
                )
            ).all()
        )
    _retry_orphans(s, found, now)


def rematch_orphans(s: Session, now: datetime, *, max_age_s: float = 86400.0, limit: int = 500) -> int:
    """Housekeeping: retry unresolved recent orphans. Needed with two senders: B can store an
    orphan while A's ack is still uncommitted, after A's commit-time re-match already ran.
    Returns the number resolved."""
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
    unmatched = _apply_receipts(s, receipts, now, store_orphans=False)
    still = {id(r) for r in unmatched}
    done = [o.id for o, r in zip(found, receipts, strict=True) if id(r) not in still]
    if done:
        s.execute(update(OT).where(OT.c.id.in_(done)).values(resolved=True))
    return len(done)


def record_failures(db, failures: Sequence[Failure]) -> None:  # noqa: ANN001
    """Permanent -> failed with code and reason; transient -> queued again at retry_at."""
    with db.write() as s:
        _record_failures(s, failures, utcnow())


def _record_failures(s: Session, failures: Sequence[Failure], now: datetime, *, owner: str | None = None) -> None:
    perm = [f for f in failures if f.permanent]
    trans = [f for f in failures if not f.permanent]
    if perm:
        s.execute(
            update(DT)
            # or_, not in_(): an expanding IN cannot run as executemany (two failures in one batch)
            .where(DT.c.id == bindparam("b_id"), or_(DT.c.state == "submitting", DT.c.state == "queued"), *_mine(owner))
            .values(
                state="failed",
                attempts=DT.c.attempts + 1,
                error_code=bindparam("b_code"),
                error=bindparam("b_reason"),
                final_at=now,
                updated_at=now,
                claimed_by=None,
                lease_until=None,
            ),
            [{"b_id": f.delivery_id, "b_code": f.code, "b_reason": f.reason[:200]} for f in perm],
        )
    if trans:
        s.execute(
            update(DT)
            .where(DT.c.id == bindparam("b_id"), DT.c.state == "submitting", *_mine(owner))
            .values(
                state="queued",
                attempts=DT.c.attempts + 1,
                error_code=bindparam("b_code"),
                error=bindparam("b_reason"),
                next_attempt_at=bindparam("b_at"),
                updated_at=now,
                claimed_by=None,
                lease_until=None,
                # the SMSC answered with an error: nothing of it was accepted, no duplicate risk
                submitted_at=case((DT.c.parts_acked == 0, None), else_=DT.c.submitted_at),
            ),
            [
                {"b_id": f.delivery_id, "b_code": f.code, "b_reason": f.reason[:200], "b_at": f.retry_at or now}
                for f in trans
            ],
        )


def release(db, delivery_ids: Sequence[int], *, possible_duplicate: bool) -> None:  # noqa: ANN001
    """Claimed rows back to the queue (link lost, shutdown); flagged when a part was in flight."""
    with db.write() as s:
        _release(s, delivery_ids, possible_duplicate, utcnow())


def _release(
    s: Session, delivery_ids: Sequence[int], possible_duplicate: bool, now: datetime, *, owner: str | None = None
) -> None:
    """With `owner`: only rows still leased to it (a row reaped and re-claimed by another sender
    is that sender's now)."""
    values: dict = {"state": "queued", "claimed_by": None, "lease_until": None, "updated_at": now}
    if possible_duplicate:
        values["possible_duplicate"] = True
    mine = [DT.c.state == "submitting"]
    if owner is not None:
        mine.append(DT.c.claimed_by == owner)
    for chunk in _chunks(sorted(set(delivery_ids))):
        s.execute(update(DT).where(DT.c.id.in_(chunk), *mine).values(**values))


def settle_submitted(s: Session, delivery_ids: Sequence[int], now: datetime, *, owner: str | None = None) -> None:
    """Rows whose every part is already acked (an earlier run died before the state change)."""
    for chunk in _chunks(sorted(set(delivery_ids))):
        s.execute(
            update(DT)
            .where(DT.c.id.in_(chunk), DT.c.state == "submitting", DT.c.parts_acked >= DT.c.parts_total, *_mine(owner))
            .values(state="submitted", submitted_at=now, claimed_by=None, lease_until=None, updated_at=now)
        )


def flag_possible_duplicate(s: Session, delivery_ids: Sequence[int], now: datetime) -> None:
    """A part of these rows was in flight when the link died: it may have reached the SMSC."""
    for chunk in _chunks(sorted(set(delivery_ids))):
        s.execute(update(DT).where(DT.c.id.in_(chunk)).values(possible_duplicate=True, updated_at=now))


# --- receipts -----------------------------------------------------------------------------------------------


def apply_receipts(db, receipts: Sequence[Receipt]) -> None:  # noqa: ANN001
    """Idempotent; receipts whose id matches no part are kept in receipt_orphan."""
    with db.write() as s:
        _apply_receipts(s, receipts, utcnow())


def _apply_receipts(s: Session, receipts: Sequence[Receipt], now: datetime, *, store_orphans: bool = True) -> list:
    if not receipts:
        return []
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
        _store_orphans(s, unmatched, now)
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


def _store_orphans(s: Session, receipts: Sequence[Receipt], now: datetime) -> None:
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


def store_reply(db, source: str, text: str) -> int:  # noqa: ANN001
    """Keep a member's reply (even from an unknown number), link it, honour STOP words. Returns reply id."""
    with db.write() as s:
        return _store_reply(s, source, text, utcnow())


REPLY_DEDUPE_S = 600  # a redelivered reply (our deliver_sm_resp was lost) arrives within minutes
FRAGMENT_MAX_AGE_S = 3600  # a long reply whose other parts never came (or were joined already)


def _store_reply(s: Session, source: str, text: str, now: datetime) -> int:
    text = text.replace("\x00", "")  # PostgreSQL refuses NUL in text; it carries nothing
    e164 = normalise_msisdn(source)
    # the SMSC redelivers a reply whose answer it did not get: same source and text shortly
    # after is that copy, not a new message (it would show twice in the inbox)
    seen = s.execute(
        select(Reply.id)
        .where(
            Reply.source == e164[:20],
            Reply.received_at >= now - timedelta(seconds=REPLY_DEDUPE_S),
            Reply.text == text,
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
    if opt_out and members:
        s.execute(
            update(MT)
            .where(MT.c.mobile == e164)
            .values(sms_opt_out=True, opt_out_at=case((MT.c.opt_out_at.is_(None), now), else_=MT.c.opt_out_at))
        )
        _audit_opt_out(s, reply.id, members)
    return int(reply.id)


def expire_fragments(s: Session, now: datetime, max_age_s: float = FRAGMENT_MAX_AGE_S) -> int:
    """Housekeeping: drop parts of long replies that never completed (e.g. the redelivered last
    part of a reply already joined), so they do not linger for ever."""
    cutoff = now - timedelta(seconds=max_age_s)
    return s.execute(MoFragment.__table__.delete().where(MoFragment.__table__.c.received_at < cutoff)).rowcount or 0


def _audit_opt_out(s: Session, reply_id: int, member_ids: list[int]) -> None:
    try:
        from bin_console import audit
    except ImportError:  # audit module not installed in this build: the reply row is the record
        return
    audit.append(
        s,
        _sender_actor(),
        "member.opt_out",
        object_ref=f"reply:{reply_id}",
        detail={"via": "sms_reply", "members": member_ids},
    )


@functools.lru_cache(maxsize=1)
def _sender_actor():  # noqa: ANN202
    from bin_console.actor import Actor

    a = Actor.current()
    return Actor(os_user=a.os_user, ssh_client=None, host=a.host, login_uid=a.login_uid)


__all__ = [
    "Ack",
    "Failure",
    "WorkItem",
    "apply_receipts",
    "claim",
    "expire_due",
    "record_acks",
    "record_failures",
    "recover",
    "release",
    "store_reply",
    "normalise_msisdn",
]
