"""The outbox for e-mail: claim, outcomes, release — channel-neutral twins of outbox.py's SMS functions.

Same rules as the SMS outbox (bin_console/outbox.py): a claim is one ``UPDATE .. RETURNING`` in
``db.write()`` (BEGIN IMMEDIATE on SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL), rows are leased,
and recovery uses ``outbox.recover`` unchanged (it is not channel-specific). What differs:

* the "on the wire" marker (``submitted_at``) is committed in the claim itself, so every claimed
  message is marked before its DATA; a crash flags at most one claim batch (``possible_duplicate``)
  and every message that may have been accepted is among them. A row released untouched (its
  session never reached DATA) loses the marker again.
* an e-mail has one "part": the relay's 250 after the final dot sets ``parts_acked = 1`` and state
  ``submitted``, whoever holds the row by then (the mail did go out: it must never go again).
* every outcome of one batch (accepted, failed, retried, released) is written in ONE transaction.

The lead folds these into the engine's channel-neutral outbox port at merge.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from bin_console import outbox
from bin_console.data.models import utcnow
from bin_console.data.tables import ALERT, ALERT_TEXT, DELIVERY, MEMBER, MEMBER_EMAIL_TOKEN

CHANNEL = "email"
DT = DELIVERY
AT = ALERT
ATT = ALERT_TEXT
MT = MEMBER
TT = MEMBER_EMAIL_TOKEN
CHUNK = 500


@dataclass(frozen=True)
class EmailWork:
    delivery_id: int
    alert_id: int
    member_id: int | None
    address: str
    text: str
    language: str
    token: str  # the member's unsubscribe token
    possible_duplicate: bool
    attempts: int  # SMTP error answers so far, this attempt included
    expires_at: datetime | None


@dataclass
class Outcomes:
    """What one batch learnt; written by ``write_outcomes`` in one transaction."""

    accepted: list[int] = field(default_factory=list)
    failed: list[tuple[int, int, str]] = field(default_factory=list)  # (id, SMTP code, server's text)
    retry: list[tuple[int, int, str, datetime]] = field(default_factory=list)  # (id, code, text, when)
    untouched: list[int] = field(default_factory=list)  # never reached DATA: back to the queue, no flag
    ambiguous: list[int] = field(default_factory=list)  # no answer after the final dot: flagged

    @property
    def answered(self) -> int:
        return len(self.accepted) + len(self.failed) + len(self.retry)

    def __bool__(self) -> bool:
        return bool(self.accepted or self.failed or self.retry or self.untouched or self.ambiguous)


def _chunks(seq: Sequence, n: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _insert(s: Session, table):
    return (pg_dialect if s.get_bind().dialect.name == "postgresql" else sqlite_dialect).insert(table)


def claim(
    db,
    owner: str,
    limit: int,
    lease_s: float,
    *,
    training: bool | None = None,
    outcomes: Outcomes | None = None,
) -> list[EmailWork]:
    """Lease up to `limit` queued e-mail rows (oldest first), marked on the wire in the same commit.

    `training`: only alerts with that flag (a training mail server never gets a real alert, a real
    relay never a training one). Rows of alerts past their expiry are expired first. `outcomes`:
    the previous batch's answers, stored in the same transaction (one commit per batch, not three:
    on a busy disk every fsync costs more than the SMTP exchanges of the batch)."""
    with db.write() as s:
        now = utcnow()
        if outcomes:
            _write_outcomes(s, owner, outcomes, now)
        _expire_due(s, now)
        return _claim(s, owner, limit, lease_s, now, training)


def _expire_due(s: Session, now: datetime) -> None:
    """Queued e-mail of alerts past expires_at -> expired: never sent late (as outbox.expire_due)."""
    # the few expired alerts first: as a subquery, SQLite walked every queued row on each claim
    # (10,000 queued e-mails made each claim scan 10,000 rows)
    due = list(s.execute(select(AT.c.id).where(AT.c.expires_at.isnot(None), AT.c.expires_at <= now)).scalars())
    if not due:
        return
    s.execute(
        update(DT)
        .where(DT.c.alert_id.in_(due), DT.c.state == "queued", DT.c.channel == CHANNEL)
        .values(state="expired", error=outbox.EXPIRED_REASON, final_at=now, updated_at=now, next_attempt_at=None)
    )


def _claim(s: Session, owner: str, limit: int, lease_s: float, now: datetime, training: bool | None) -> list[EmailWork]:
    live_alerts = select(AT.c.id).where(AT.c.cancelled_at.is_(None))
    if training is not None:
        live_alerts = live_alerts.where(AT.c.training.is_(training))
    pick = (
        select(DT.c.id)
        .where(
            DT.c.state == "queued",
            DT.c.channel == CHANNEL,
            or_(DT.c.next_attempt_at.is_(None), DT.c.next_attempt_at <= now),
            DT.c.alert_id.in_(live_alerts),
        )
        .order_by(DT.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = s.execute(
        update(DT)
        .where(DT.c.id.in_(pick.scalar_subquery()))
        .values(
            state="submitting",
            claimed_by=owner,
            lease_until=now + timedelta(seconds=lease_s),
            submitted_at=now,
            updated_at=now,
        )
        .returning(
            DT.c.id, DT.c.alert_id, DT.c.member_id, DT.c.address, DT.c.possible_duplicate, DT.c.attempts, DT.c.language
        )
    ).all()
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: r.id)
    alerts: dict[int, str] = dict(
        s.execute(select(AT.c.id, AT.c.text).where(AT.c.id.in_(sorted({r.alert_id for r in rows})))).all()
    )
    expiry = dict(s.execute(select(AT.c.id, AT.c.expires_at).where(AT.c.id.in_(list(alerts)))).all())
    # each row's own language version (alert_text on (alert_id, language)); "" is Alert.text
    versions = {
        (a, lang): t
        for a, lang, t in s.execute(
            select(ATT.c.alert_id, ATT.c.language, ATT.c.text).where(ATT.c.alert_id.in_(list(alerts)))
        )
    }
    member_ids = sorted({r.member_id for r in rows if r.member_id is not None})
    languages: dict[int, str] = {}
    for chunk in _chunks(member_ids):
        languages.update(s.execute(select(MT.c.id, MT.c.language).where(MT.c.id.in_(chunk))).all())
    tokens = tokens_for(s, member_ids, now)
    return [
        EmailWork(
            delivery_id=r.id,
            alert_id=r.alert_id,
            member_id=r.member_id,
            address=r.address,
            text=versions.get((r.alert_id, r.language), alerts[r.alert_id]),
            language=r.language or languages.get(r.member_id, "nl"),
            token=tokens.get(r.member_id, ""),
            possible_duplicate=bool(r.possible_duplicate),
            attempts=r.attempts + 1,
            expires_at=expiry[r.alert_id],
        )
        for r in rows
    ]


def tokens_for(s: Session, member_ids: Sequence[int], now: datetime) -> dict[int, str]:
    """Each member's unsubscribe token, made on first need: 32 random bytes, never guessable."""
    have: dict[int, str] = {}
    for chunk in _chunks(list(member_ids)):
        have.update(s.execute(select(TT.c.member_id, TT.c.token).where(TT.c.member_id.in_(chunk))).all())
    missing = [m for m in member_ids if m not in have]
    if missing:
        # two senders may make one member's token at once: the first one stored wins
        s.execute(
            _insert(s, TT).on_conflict_do_nothing(index_elements=["member_id"]),
            [{"member_id": m, "token": secrets.token_urlsafe(32), "created_at": now} for m in missing],
        )
        for chunk in _chunks(missing):
            have.update(s.execute(select(TT.c.member_id, TT.c.token).where(TT.c.member_id.in_(chunk))).all())
    return have


def member_for_token(s: Session, token: str) -> int | None:
    return s.execute(select(TT.c.member_id).where(TT.c.token == token)).scalar()


def write_outcomes(db, owner: str, out: Outcomes, *, renew: Sequence[int] = (), lease_s: float = 0.0) -> list[int]:
    """Store one batch's outcomes; with `renew`, extend those rows' leases in the same commit and
    return the ids still ours (a row not returned was reaped: the sender must drop it)."""
    with db.write() as s:
        now = utcnow()
        _write_outcomes(s, owner, out, now)
        return outbox.renew_held(s, owner, renew, lease_s, now) if renew else []


def _write_outcomes(s: Session, owner: str, out: Outcomes, now: datetime) -> None:
    mine = (DT.c.claimed_by == owner, DT.c.state == "submitting")
    done = dict(claimed_by=None, lease_until=None, updated_at=now)
    for chunk in _chunks(sorted(out.accepted)):
        # whoever holds the row now: the relay took it, it must never go again
        s.execute(
            update(DT)
            .where(DT.c.id.in_(chunk), DT.c.state.in_(("queued", "submitting")))
            .values(
                state="submitted",
                parts_acked=1,
                submitted_at=now,
                next_attempt_at=None,
                error=None,
                error_code=None,
                **done,
            )
        )
    if out.failed:
        s.execute(
            update(DT)
            .where(DT.c.id == bindparam("b_id"), *mine)
            .values(
                state="failed",
                attempts=DT.c.attempts + 1,
                error_code=bindparam("b_code"),
                error=bindparam("b_reason"),
                final_at=now,
                submitted_at=None,  # refused: nothing of it went out
                **done,
            ),
            [{"b_id": i, "b_code": c, "b_reason": r[:200]} for i, c, r in out.failed],
        )
    if out.retry:
        s.execute(
            update(DT)
            .where(DT.c.id == bindparam("b_id"), *mine)
            .values(
                state="queued",
                attempts=DT.c.attempts + 1,
                error_code=bindparam("b_code"),
                error=bindparam("b_reason"),
                next_attempt_at=bindparam("b_at"),
                submitted_at=None,  # a 4xx answer: the relay did not take it
                **done,
            ),
            [{"b_id": i, "b_code": c, "b_reason": r[:200], "b_at": at} for i, c, r, at in out.retry],
        )
    for chunk in _chunks(sorted(out.untouched)):
        s.execute(update(DT).where(DT.c.id.in_(chunk), *mine).values(state="queued", submitted_at=None, **done))
    for chunk in _chunks(sorted(out.ambiguous)):
        s.execute(update(DT).where(DT.c.id.in_(chunk), *mine).values(state="queued", possible_duplicate=True, **done))


def close_expired(db, owner: str, ids: Sequence[int]) -> None:
    """Claimed rows whose alert expired while they waited for a rate-limit slot: never sent late."""
    with db.write() as s:
        outbox.close_items(s, ids, "expired", utcnow(), owner=owner)
