"""`bin-console sender [--channel sms|email|both]` and the console's e-mail channel, each with its readiness.

The SMS sender keeps its own loop (bin_console/channels/smpp/sender.py: cmd_sender, signals, exit codes); the
e-mail sender runs beside it in its own threads and stops when that loop ends. `--channel email`
runs the e-mail sender alone until SIGTERM/SIGINT. Like SMS (bin_console/trust/readiness.py), a missing
SMTP/IMAP password or keyring never stops the console opening nor the SMS side running: the
readiness says why e-mail is off and the fix.
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass, field

from bin_console.channels.email.driver import EmailSender
from bin_console.config import Settings
from bin_console.i18n import _
from bin_console.trust.credentials import Secret
from bin_console.trust.readiness import Readiness, password_readiness

EX_CONFIG = 78
SEND_OFF = "E-mail cannot be sent"
READ_OFF = "E-mail replies cannot be read"


def smtp_password(settings: Settings) -> tuple[Readiness, Secret | None]:
    """The relay's password only when it wants a login; the training mail server and a relay
    that trusts the host need none."""
    if settings.smtp.training or not settings.smtp.username:
        return Readiness(True, what=SEND_OFF), None
    return password_readiness(settings, "smtp", what=SEND_OFF)


def imap_password(settings: Settings) -> tuple[Readiness, Secret | None]:
    """Only when [imap] names a host (empty: replies by e-mail are not read, nothing is off)."""
    if not settings.imap.host:
        return Readiness(True, what=READ_OFF), None
    return password_readiness(settings, "imap", what=READ_OFF)


@dataclass
class EmailChannel:
    """What the console started for e-mail, and why the rest is off."""

    sending: Readiness
    replies: Readiness
    parts: list = field(default_factory=list)  # EmailSender, ImapReader: each has .stop()

    @property
    def sending_here(self) -> bool:
        """This console's own e-mail sender runs (not one waiting while another sender runs)."""
        return any(getattr(part, "sender", None) is not None and part.running for part in self.parts)

    def stop(self) -> None:
        for part in self.parts:
            part.stop()


def start_email_channel(db, settings: Settings) -> EmailChannel:  # data.engine.Database
    """Start the embedded e-mail sender when [smtp] is configured and, when [imap] names a host, the
    reply reader; each only when its password could be read (the other still starts). The sender
    waits while another e-mail sender is alive for this database (standby.py: one pacer, one
    max_per_minute); the reader likewise while another reader holds the mailbox (imap_reader.py)."""
    from bin_console.channels.email.standby import StandbySender

    if not settings.smtp.configured:  # no [smtp]: no e-mail is sent from here, and nothing is "off"
        sending, smtp_secret = Readiness(True, what=SEND_OFF), None
    else:
        sending, smtp_secret = smtp_password(settings)
    replies, imap_secret = imap_password(settings)
    channel = EmailChannel(sending, replies)
    if settings.smtp.configured and sending.ok:
        email = StandbySender(db, lambda: EmailSender(db, settings.smtp, password=smtp_secret))
        email.start()
        channel.parts.append(email)
    if settings.imap.host and replies.ok:
        from bin_console.channels.email.imap_reader import ImapReader

        reader = ImapReader(db, settings.imap, password=imap_secret)
        reader.start()
        channel.parts.append(reader)
    return channel


def cmd_sender(args, settings: Settings) -> int:  # argparse.Namespace
    from bin_console.channels.smpp.sender import cmd_sender as sms_sender
    from bin_console.cli.runtime import open_db_or_exit

    channel = args.channel
    if channel == "sms":
        return sms_sender(args, settings)
    if channel == "email":
        from bin_console.trust.logsetup import configure_logging

        configure_logging(settings, to_file=True, to_stderr=True)
    if not settings.smtp.configured:  # no [smtp] section: there is no relay to send to
        if channel == "both":
            return sms_sender(args, settings)
        print(_("bin-console sender: the configuration has no [smtp] section: no e-mail to send"), file=sys.stderr)
        return EX_CONFIG
    ready, password = smtp_password(settings)
    if not ready.ok:
        # one line, and the SMS side runs on: e-mail being off is no reason to stop SMS
        print(f"bin-console sender: {ready.sentence()}", file=sys.stderr)
        return sms_sender(args, settings) if channel == "both" else EX_CONFIG
    db = open_db_or_exit(settings)
    try:
        from bin_console.channels.email.standby import StandbySender

        # like a console's: it waits while another e-mail sender is alive (one pacer, one limit)
        email = StandbySender(db, lambda: EmailSender(db, settings.smtp, password=password))
        email.start()
        try:
            return sms_sender(args, settings) if channel == "both" else _wait_for_signal()
        finally:
            email.stop(timeout=10.0)
    finally:
        db.dispose()


def _wait_for_signal() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    return 0
