"""`bin-console sender [--channel sms|email|both]`: the senders a control room runs once for all consoles.

The SMS sender keeps its own loop (bin_console/sender.py: cmd_sender, signals, exit codes); the
e-mail sender runs beside it in its own threads and stops when that loop ends. `--channel email`
runs the e-mail sender alone until SIGTERM/SIGINT.
"""

from __future__ import annotations

import signal
import sys
import threading

from bin_console.channels.email.driver import EmailSender

EX_CONFIG = 78


def build_email_sender(db, settings) -> EmailSender:
    """The e-mail sender for these settings; the relay password only when it wants a login
    (CredentialStoreUnavailable / SecretMissing otherwise, before anything starts)."""
    password = None
    if settings.smtp.username and not settings.smtp.training:
        from bin_console.credentials import get_secret

        password = get_secret("smtp", settings)
    return EmailSender(db, settings.smtp, password=password)


def cmd_sender(args, settings) -> int:
    from bin_console.runtime import open_db_or_exit

    channel = args.channel
    if channel == "email":
        from bin_console.logsetup import configure_logging

        configure_logging(settings, to_file=True, to_stderr=True)
    if channel == "sms":
        from bin_console.sender import cmd_sender as sms_sender

        return sms_sender(args, settings)
    db = open_db_or_exit(settings)
    try:
        try:
            email = build_email_sender(db, settings)
        except (RuntimeError, LookupError) as exc:  # CredentialStoreUnavailable, SecretMissing
            print(f"bin-console sender: {exc}", file=sys.stderr)
            return EX_CONFIG
        email.start()
        try:
            if channel == "both":
                from bin_console.sender import cmd_sender as sms_sender

                return sms_sender(args, settings)
            return _wait_for_signal()
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


def start_email_channel(db, settings) -> list:
    """Start the embedded e-mail sender (and the reply reader when [imap] names a host) for the
    console; returns what was started, each with .stop(). Raises like build_email_sender."""
    started: list = []
    email = build_email_sender(db, settings)
    reader = None
    if settings.imap.host:
        from bin_console.channels.email.imap_reader import ImapReader
        from bin_console.credentials import get_secret

        reader = ImapReader(db, settings.imap, password=get_secret("imap", settings))
    email.start()
    started.append(email)
    if reader is not None:
        reader.start()
        started.append(reader)
    return started
