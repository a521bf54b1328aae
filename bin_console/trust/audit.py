"""Append-only, hash-chained audit log: who did what, in the same transaction as the deed.

Each entry's ``hash`` is sha256(prev_hash + canonical JSON of its fields, its sequence number included),
so editing a row breaks its own hash and deleting one leaves a gap in the sequence and a broken link.
Sequence numbers are the row ids, assigned here (last id + 1) under a lock, never by the database
sequence: a rolled-back transaction on PostgreSQL would otherwise burn an id and look like a deletion.
Appends are serialised by the caller's write transaction (BEGIN IMMEDIATE on SQLite) and, on
PostgreSQL, by a transaction-scoped advisory lock.

Truncating the tail is not detectable from inside the database; anchor the head (seq, hash) elsewhere
(shared notes/reliability.md §4.1). Keep personal data out of ``detail``: ids and counts, not numbers.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from bin_console.data.models import AuditEntry, utcnow
from bin_console.i18n import _, ngettext, number
from bin_console.trust.actor import Actor

# Arbitrary constant shared by every bin-console process: "serialise audit appends".
_ADVISORY_KEY = 0x42494E41  # "BINA"


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _ts_text(ts: datetime) -> str:
    # Microseconds: both SQLite (text) and PostgreSQL (timestamptz) keep them, so a re-read hashes the same.
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def compute_hash(entry: AuditEntry) -> str:
    fields = {
        "seq": entry.id,
        "ts": _ts_text(entry.ts),
        "os_user": entry.os_user,
        "login_uid": entry.login_uid,
        "ssh_client": entry.ssh_client,
        "host": entry.host,
        "action": entry.action,
        "object_ref": entry.object_ref,
        "detail": entry.detail,
    }
    return hashlib.sha256((entry.prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def append(session: Session, actor: Actor, action: str, object_ref: str = "", detail: dict | None = None) -> AuditEntry:
    """Add one entry inside the caller's (write) transaction; it commits or rolls back with the deed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
    last = session.execute(
        select(col(AuditEntry.id), col(AuditEntry.hash)).order_by(col(AuditEntry.id).desc()).limit(1)
    ).first()
    # the chain's rows are stored ones: their id is never None (SQLModel types it Optional for new rows)
    entry = AuditEntry(
        id=(last[0] or 0) + 1 if last else 1,
        ts=utcnow(),
        os_user=actor.os_user[:64],
        login_uid=actor.login_uid,
        ssh_client=(actor.ssh_client or None) and actor.ssh_client[:64],
        host=(actor.host or "")[:64],
        action=action[:40],
        object_ref=str(object_ref)[:80],
        detail=canonical_json(detail or {}),
        prev_hash=last[1] if last else "",
    )
    entry.hash = compute_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def verify(db, *, batch: int = 2000) -> list[str]:
    """Walk the chain in id order; return the problems found (empty list: the chain is intact)."""
    problems: list[str] = []
    expected_seq = 1
    prev_hash = ""
    with db.read() as s:
        last_id = 0
        while True:
            q = select(AuditEntry).where(col(AuditEntry.id) > last_id).order_by(col(AuditEntry.id)).limit(batch)
            rows = s.scalars(q).all()
            if not rows:
                break
            for e in rows:
                if e.id != expected_seq:
                    gap = _("gap: expected seq {expected}, found {found} (entries deleted)")
                    problems.append(gap.format(expected=expected_seq, found=e.id))
                if e.prev_hash != prev_hash:
                    broken = _("seq {seq}: prev_hash does not match the previous entry (chain broken)")
                    problems.append(broken.format(seq=e.id))
                if compute_hash(e) != e.hash:
                    problems.append(_("seq {seq}: row hash mismatch (row altered)").format(seq=e.id))
                prev_hash = e.hash
                expected_seq = e.id + 1
                last_id = e.id
            s.expunge_all()
    return problems


def count(db) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def cmd_audit_verify(args, settings) -> int:
    from bin_console.cli.runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        problems = verify(db)
        n = count(db)
    finally:
        db.dispose()
    if problems:
        for p in problems[:100]:
            print(p)
        if len(problems) > 100:
            print(_("... and {n} more").format(n=number(len(problems) - 100)))
        broken = ngettext(
            "audit chain BROKEN: {problems} problem in {n} entries",
            "audit chain BROKEN: {problems} problems in {n} entries",
            len(problems),
        )
        print(broken.format(problems=number(len(problems)), n=number(n)), file=sys.stderr)
        return 1
    print(ngettext("audit chain intact: {n} entry", "audit chain intact: {n} entries", n).format(n=number(n)))
    return 0
