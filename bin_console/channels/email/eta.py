"""How long an e-mail alert takes to go out, before it is sent: the dispatcher must see it.

A relay's rate limit dominates everything else (a Microsoft 365 mailbox allows about 30 messages a
minute: 2,000 members take more than an hour). Without a limit, a reused session sends a message in
a few milliseconds; the estimate then uses a conservative 20 per second per session.
"""

from __future__ import annotations

from datetime import timedelta

from bin_console.config import SmtpSettings

UNLIMITED_PER_S = 20.0  # per SMTP session, a relay on the LAN; benchmarks/bench_email.py measures more


def email_eta(recipients: int, settings: SmtpSettings) -> timedelta:
    """Time until the last of `recipients` e-mails is handed to the relay (greylisting retries aside)."""
    if recipients <= 0:
        return timedelta(0)
    if settings.max_per_minute > 0:
        # evenly spaced (channels/email/pacer.py): the first goes at once, then one every 60/max s
        return timedelta(minutes=(recipients - 1) / settings.max_per_minute)
    return timedelta(seconds=recipients / (UNLIMITED_PER_S * max(settings.connections, 1)))
