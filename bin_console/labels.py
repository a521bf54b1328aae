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


def skipped(channel: str, *, opted_out: int, no_address_: int, left: int, duplicate: int) -> str:
    """'skipped: 3 opted out, 5 no mobile, 1 duplicate' (reasons with a count only), or 'nobody skipped'."""
    reasons = [
        (opted_out, OPTED_OUT),
        (no_address_, no_address(channel)),
        (left, LEFT_OR_PENDING),
        (duplicate, DUPLICATE),
    ]
    shown = [f"{n:,} {label}" for n, label in reasons if n]
    return "skipped: " + ", ".join(shown) if shown else "nobody skipped"


class SkipCounts(Protocol):
    skipped_opt_out: int
    skipped_no_address: int
    skipped_left: int
    skipped_duplicate: int


def skipped_of(channel: str, counts: SkipCounts) -> str:
    """``skipped()`` for anything with the skipped_* counts (a RecipientPlan or an Alert row)."""
    return skipped(
        channel,
        opted_out=counts.skipped_opt_out,
        no_address_=counts.skipped_no_address,
        left=counts.skipped_left,
        duplicate=counts.skipped_duplicate,
    )


def kind_label(kind: str) -> str:
    """How a network kind is written: 'BIN', 'Z-BIN' (stored as ZBIN)."""
    upper = kind.upper()
    return "Z-BIN" if upper.replace("-", "") == "ZBIN" else upper
