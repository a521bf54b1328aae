"""The dispatcher's words for what several screens and the CLI show: one place, so the network
screen, compose, the confirm window and `bin-console send` say the same thing the same way.

Plain Python (no Textual, no database): screens, widgets and the CLI all import it. The words are
N_() msgids: functions here return them in the active language; a caller of a constant uses _().
"""

from __future__ import annotations

from typing import Protocol

from bin_console.i18n import N_, _, ngettext, number

# Why a member gets no message (alerts.RecipientPlan.skipped_* / Alert.skipped_*).
OPTED_OUT = N_("opted out")
NO_MOBILE = N_("no mobile")
NO_EMAIL = N_("no e-mail")


def no_address(channel: str) -> str:
    """'no mobile' for SMS, 'no e-mail' for e-mail (channel as in RecipientPlan.channel), translated."""
    return _(NO_MOBILE) if channel == "sms" else _(NO_EMAIL)


def channel_of(urgency: str) -> str:
    """Urgent alerts go by SMS, the others by e-mail (alerts.plan_alert)."""
    return "sms" if urgency == "urgent" else "email"


class SkipCounts(Protocol):
    """A RecipientPlan or an Alert row: how many members were skipped, per reason (read only here,
    so a frozen RecipientPlan fits too)."""

    @property
    def skipped_opt_out(self) -> int: ...
    @property
    def skipped_no_address(self) -> int: ...
    @property
    def skipped_left(self) -> int: ...
    @property
    def skipped_duplicate(self) -> int: ...


def skip_reasons(channel: str, counts: SkipCounts) -> str:
    """'3 opted out, 5 no mobile, 1 duplicate': the reasons that have a count, "" when none."""
    # One message per reason and count: French agrees ("3 désinscrits"), so no "{n} {label}" gluing.
    no_address_reason = (
        ngettext("{n} no mobile", "{n} no mobile", counts.skipped_no_address)
        if channel == "sms"
        else ngettext("{n} no e-mail", "{n} no e-mail", counts.skipped_no_address)
    )
    reasons = [
        (counts.skipped_opt_out, ngettext("{n} opted out", "{n} opted out", counts.skipped_opt_out)),
        (counts.skipped_no_address, no_address_reason),
        (counts.skipped_left, ngettext("{n} left or pending", "{n} left or pending", counts.skipped_left)),
        (counts.skipped_duplicate, ngettext("{n} duplicate", "{n} duplicates", counts.skipped_duplicate)),
    ]
    return ", ".join(message.format(n=number(n)) for n, message in reasons if n)


def skipped_of(channel: str, counts: SkipCounts) -> str:
    """'skipped: 3 opted out, 5 no mobile' or 'nobody skipped'."""
    reasons = skip_reasons(channel, counts)
    return _("skipped: {reasons}").format(reasons=reasons) if reasons else _("nobody skipped")


# Delivery states (Delivery.state, stored in English) as the screens and the CLI show them.
STATES = {
    # Translators: delivery states of messages (history, monitor, `bin-console alerts show`)
    "queued": N_("queued"),
    "submitting": N_("submitting"),
    "submitted": N_("submitted"),
    "delivered": N_("delivered"),
    "undeliverable": N_("undeliverable"),
    "expired": N_("expired"),
    "rejected": N_("rejected"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
}


def state_label(state: str) -> str:
    """A delivery state in the active language ('delivered' -> 'afgeleverd'); unknown ones literal."""
    label = STATES.get(state)
    return _(label) if label else state


# sender_status states of a sender or reader (SMPP, e-mail, IMAP), as the monitor shows them.
SENDER_STATES = {
    # Translators: state of a sender (SMSC link, e-mail sender, reply reader)
    "idle": N_("idle"),
    "bound": N_("bound"),
    "connecting": N_("connecting"),
    "reconnecting": N_("reconnecting"),
    "throttled": N_("throttled"),
    "stopped": N_("stopped"),
    "config_error": N_("configuration error"),
    "error": N_("error"),  # e-mail writes failing for long, an IMAP reader failing for a whole lease
}


def sender_state_label(state: str) -> str:
    """A sender's state in the active language; unknown ones literal."""
    label = SENDER_STATES.get(state)
    return _(label) if label else state


def kind_label(kind: str) -> str:
    """How a network kind is written: 'BIN', 'Z-BIN' (stored as ZBIN)."""
    upper = kind.upper()
    return "Z-BIN" if upper.replace("-", "") == "ZBIN" else upper
