"""Follow-ups: a closing message ("all clear") goes to the members an earlier alert went to.

Who: the members of the original's delivery rows, at their current address, less those who have
left or opted out since (STOP on any of their rows counts, as in the alert fan-out). How: each by
the channel the original reached them on, or all by e-mail when asked. The follow-up is written by
`alerts.create_alert(..., follow_up_of=ID)`, which links it; this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .data.models import Alert, Delivery, Member


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
            Delivery.member_id,
            Delivery.channel,
            Member.mobile,
            Member.email,
            Member.status,
            Member.sms_opt_out,
            Member.email_opt_out,
            Member.language,
            Member.network_id,
        )
        .join(Member, Member.id == Delivery.member_id)
        .where(Delivery.alert_id == original_id)
        .order_by(Delivery.id)
    ).all()
    opted = {
        "sms": set(
            session.scalars(select(Member.mobile).where(Member.sms_opt_out.is_(True), Member.mobile.isnot(None)))
        ),
        "email": {
            a.lower()
            for a in session.scalars(
                select(Member.email).where(Member.email_opt_out.is_(True), Member.email.isnot(None))
            )
        },
    }
    seen: set[tuple[str, str]] = set()
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
        q = select(Alert.follow_up_of, Alert.id).where(Alert.follow_up_of.in_(alert_ids)).order_by(Alert.id)
        for parent, child in session.execute(q):
            out[parent].append(child)
    return out
