"""The dispatcher's words for what several screens and the CLI show: one place, so the network
screen, compose, the confirm window and `bin-console send` say the same thing the same way.

Plain Python (no Textual, no database): screens, widgets and the CLI all import it.
"""

from __future__ import annotations

from typing import Protocol

# Why a member gets no message (alerts.RecipientPlan.skipped_* / Alert.skipped_*).
OPTED_OUT = "opted out"
NO_MOBILE = "no mobile"
NO_EMAIL = "no e-mail"
LEFT_OR_PENDING = "left or pending"
DUPLICATE = "duplicate"  # the same address in two targeted networks: sent once


def no_address(channel: str) -> str:
    """'no mobile' for SMS, 'no e-mail' for e-mail (channel as in RecipientPlan.channel)."""
    return NO_MOBILE if channel == "sms" else NO_EMAIL


def channel_of(urgency: str) -> str:
    """Urgent alerts go by SMS, the others by e-mail (alerts.plan_alert)."""
    return "sms" if urgency == "urgent" else "email"


class SkipCounts(Protocol):
    """A RecipientPlan or an Alert row: how many members were skipped, per reason."""

    skipped_opt_out: int
    skipped_no_address: int
    skipped_left: int
    skipped_duplicate: int


def skip_reasons(channel: str, counts: SkipCounts) -> str:
    """'3 opted out, 5 no mobile, 1 duplicate': the reasons that have a count, "" when none."""
    reasons = [
        (counts.skipped_opt_out, OPTED_OUT),
        (counts.skipped_no_address, no_address(channel)),
        (counts.skipped_left, LEFT_OR_PENDING),
        (counts.skipped_duplicate, DUPLICATE),
    ]
    return ", ".join(f"{n:,} {label}" for n, label in reasons if n)


def skipped_of(channel: str, counts: SkipCounts) -> str:
    """'skipped: 3 opted out, 5 no mobile' or 'nobody skipped'."""
    reasons = skip_reasons(channel, counts)
    return f"skipped: {reasons}" if reasons else "nobody skipped"


def kind_label(kind: str) -> str:
    """How a network kind is written: 'BIN', 'Z-BIN' (stored as ZBIN)."""
    upper = kind.upper()
    return "Z-BIN" if upper.replace("-", "") == "ZBIN" else upper
