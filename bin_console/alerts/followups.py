"""Follow-ups: a closing message ("all clear") goes to the members an earlier alert went to.

Who: the members of the original's delivery rows, at their current address, less those who have
left or opted out since (STOP on any of their rows counts, as in the alert fan-out), and less the rows
that never left: cancelled (by the dispatcher) or expired (past the alert's deadline, before it was
sent or, by the SMSC's receipt, before it reached the phone). An "all clear" for a message someone
never got only confuses them. A row that failed (undeliverable, rejected, failed: a wrong or dead
number, a refused address) stays in: that member is one the original was meant for, and the
follow-up goes to their current address (perhaps corrected since, or by e-mail when asked), so it
can still inform them. How: each by
the channel the original reached them on, or all by e-mail when asked. The follow-up is written by
`alerts.create_alert(..., follow_up_of=ID)`, which links it; this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from bin_console.data.models import Alert, Delivery, Member

# Delivery states of rows whose message never reached the member and never will (see the module doc)
NEVER_SENT = ("cancelled", "expired")


@dataclass(frozen=True)
class FollowUpTargets:
    targets: list[tuple]  # (member_id, address, channel, member language, network id)
    skipped_opt_out: int
    skipped_no_address: int
    skipped_left: int
    skipped_duplicate: int


def follow_up_targets(session: Session, original_id: int, *, by_email: bool) -> FollowUpTargets:
    """The original's members, reached again by their channel (or by e-mail when `by_email`)."""
    rows = session.execute(
        select(
            col(Delivery.member_id),
            col(Delivery.channel),
            col(Member.mobile),
            col(Member.email),
            col(Member.status),
            col(Member.sms_opt_out),
            col(Member.email_opt_out),
            col(Member.language),
            col(Member.network_id),
        )
        .join(Member, col(Member.id) == col(Delivery.member_id))
        .where(col(Delivery.alert_id) == original_id, col(Delivery.state).not_in(NEVER_SENT))
        .order_by(col(Delivery.id))
    ).all()
    opted: dict[str, set[str | None]] = {
        "sms": set(
            session.scalars(
                select(col(Member.mobile)).where(col(Member.sms_opt_out).is_(True), col(Member.mobile).isnot(None))
            )
        ),
        "email": {
            a.lower()
            for a in session.scalars(
                select(col(Member.email)).where(col(Member.email_opt_out).is_(True), col(Member.email).isnot(None))
            )
            if a is not None  # never: the query skips NULL, which the column type allows
        },
    }
    seen: set[tuple[str, str | None]] = set()  # (channel, address); only reachable ones are added
    targets: list[tuple] = []
    left = opt_out = no_addr = dup = 0
    for member_id, channel, mobile, email, status, sms_opt, email_opt, language, network_id in rows:
        channel = "email" if by_email else channel
        address = email if channel == "email" else mobile
        key = (channel, address.lower() if channel == "email" and address else address)
        if status != "active":
            left += 1
        elif (sms_opt if channel == "sms" else email_opt) or (address and key[1] in opted[channel]):
            opt_out += 1
        elif not address:
            no_addr += 1
        elif key in seen:  # by e-mail, a member the original reached twice (SMS + e-mail copy) gets one
            dup += 1
        else:
            seen.add(key)
            targets.append((member_id, address, channel, language, network_id))
    return FollowUpTargets(targets, opt_out, no_addr, left, dup)


def follow_ups_of(session: Session, alert_ids: list[int]) -> dict[int, list[int]]:
    """alert id -> ids of its follow-ups, oldest first (the thread the history shows)."""
    out: dict[int, list[int]] = {a: [] for a in alert_ids}
    if alert_ids:
        q = (
            select(col(Alert.follow_up_of), col(Alert.id))
            .where(col(Alert.follow_up_of).in_(alert_ids))
            .order_by(col(Alert.id))
        )
        for parent, child in session.execute(q):
            assert parent is not None and child is not None  # stored follow-ups of these alerts
            out[parent].append(child)
    return out
