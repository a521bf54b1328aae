"""Closing-message reminders: after an urgent SMS alert, a follow-up ("all clear") is due.

The state lives in the database (alert.follow_up_of, alert.reminder_dismissed_at), so a reminder
survives a restart and every console of the database shows the same ones. A reminder is due once
the alert is `after_minutes` old (Settings.followup_reminder_minutes) until a follow-up of it exists
or a dispatcher dismisses it (audited). Follow-ups, cancelled and e-mail alerts need none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from bin_console.data.models import Alert, utcnow
from bin_console.i18n import _
from bin_console.trust import audit
from bin_console.trust.actor import Actor

DEFAULT_AFTER_MINUTES = 45


@dataclass(frozen=True)
class Reminder:
    alert_id: int
    created_at: datetime
    text: str
    due_since: datetime  # when the closing message became due


def _due(now: datetime, after_minutes: int):
    follow_up = aliased(Alert)
    return (
        col(Alert.urgency) == "urgent",
        col(Alert.follow_up_of).is_(None),
        col(Alert.cancelled_at).is_(None),
        col(Alert.reminder_dismissed_at).is_(None),
        col(Alert.created_at) <= now - timedelta(minutes=after_minutes),
        ~exists().where(col(follow_up.follow_up_of) == col(Alert.id)),
    )


def due_reminders(db, now: datetime | None = None, *, after_minutes: int = DEFAULT_AFTER_MINUTES) -> list[Reminder]:
    """Urgent alerts older than `after_minutes` with no follow-up and not dismissed, oldest first."""
    now = now or utcnow()
    q = (
        select(col(Alert.id), col(Alert.created_at), col(Alert.text))
        .where(*_due(now, after_minutes))
        .order_by(col(Alert.created_at))
    )
    with db.read() as s:
        return [
            Reminder(aid, created, text, created + timedelta(minutes=after_minutes))
            for aid, created, text in s.execute(q)
        ]


def dismiss_reminder(db, alert_id: int, actor: Actor) -> None:
    """No closing message for this alert: its reminder ends (audited; a second call changes nothing)."""
    with db.write() as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise ValueError(_("alert {id} does not exist").format(id=alert_id))
        if alert.reminder_dismissed_at is not None:
            return
        alert.reminder_dismissed_at = utcnow()
        alert.reminder_dismissed_by = actor.label()[:64]
        audit.append(s, actor, "alert.reminder_dismissed", f"alert:{alert_id}", {})
