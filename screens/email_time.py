"""'2,000 e-mails at 30/min: about 1 h 7 min' - the e-mail time to finish, as confirm and monitor say it.

The relay's rate limit (``[smtp] max_per_minute``) can make an e-mail alert take an hour; the
dispatcher must see that before sending, so a long one is styled to stand out.
"""

from __future__ import annotations

import math
from datetime import timedelta

from rich.text import Text

from bin_console.channels.email.eta import email_eta
from bin_console.config import SmtpSettings
from bin_console.i18n import _, ngettext, number

LONG = timedelta(minutes=10)  # longer than this is shown prominently


def duration_words(span: timedelta) -> str:
    """'about 1 h 7 min' (minutes rounded up: never promise earlier than it will be)."""
    minutes = math.ceil(span.total_seconds() / 60)
    if minutes <= 1:
        return _("under a minute")
    hours, mins = divmod(minutes, 60)
    if not hours:
        return _("about {m} min").format(m=mins)
    if not mins:
        return _("about {h} h").format(h=hours)
    return _("about {h} h {m} min").format(h=hours, m=mins)


def email_time(recipients: int, smtp: SmtpSettings) -> Text:
    """The time until the last of ``recipients`` e-mails is handed to the relay, with its rate."""
    span = email_eta(recipients, smtp)
    what = ngettext("{n} e-mail", "{n} e-mails", recipients).format(n=number(recipients))
    if smtp.max_per_minute:
        line = _("{what} at {rate}/min: {time}").format(
            what=what, rate=number(smtp.max_per_minute), time=duration_words(span)
        )
    else:
        line = _("{what} (no rate limit set): {time}").format(what=what, time=duration_words(span))
    return Text(line, style="bold reverse" if span > LONG else "")
