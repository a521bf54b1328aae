"""`bin-console console`: build everything the TUI needs, say clearly what is wrong before the TUI
starts (exit 78), then run it with the mouse off.

The SMPP password is fetched here as a credentials.Secret (never a plain str) and handed to the
embedded SenderRunner; the training SMSC needs none. Without a password, a secure keyring or an
[smpp] account the console still opens (readiness.py): the App gets the reason as ``sms_block``;
likewise without the SMTP/IMAP password (channels/email/service.py) as ``email_block``. The embedded
e-mail sender starts only when [smtp] is configured and no other e-mail sender runs for the database
(channels/email/standby.py); the IMAP reader reads only while it holds the mailbox (imap_reader.py).
Logs go to the log file only while the TUI owns the terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from bin_console.config import ConfigError, Settings
from bin_console.i18n import _
from bin_console.terminal import cursor_blink_wanted

EX_CONFIG = 78
log = logging.getLogger(__name__)


def _fail(message: str) -> int:
    print(f"bin-console: {message}", file=sys.stderr)
    return EX_CONFIG


def apply_console_options(args: Any, settings: Settings) -> Settings:
    if args.theme:
        settings.ui_theme = args.theme
    if args.no_blink:
        settings.cursor_blink = False
    # "auto" becomes true/false here, once, for this terminal: off over SSH and on the Linux VT.
    settings.cursor_blink = cursor_blink_wanted(settings.cursor_blink)
    return settings


def build_sender(db: Any, settings: Settings) -> tuple[Any, Any]:
    """(embedded sender or None, sms_block): no password or account is no reason not to open the console.

    sms_block is None when SMS can be sent, else the readiness.Readiness saying why not and the fix.
    """
    from bin_console.channels.smpp.sender import SenderRunner
    from bin_console.trust.readiness import smpp_password

    readiness, password = smpp_password(settings)
    if not readiness.ok:
        log.warning("SMS sending is off: %s", readiness.reason)
        return None, readiness
    return SenderRunner(db, settings.smpp, password=password), None


def run_console(
    settings: Settings,
    db: Any,
    *,
    sender: Any = None,
    sms_block: Any = None,
    email_block: Any = None,
    email_sending: bool = False,
) -> int:
    from bin_console.app import BinConsoleApp

    app = BinConsoleApp(
        settings,
        db,
        sender=sender,
        training=settings.smpp.training,
        sms_block=sms_block,
        email_block=email_block,
        email_sending=email_sending,
    )
    app.run(mouse=False)
    # The App stops the sender in a thread when it unmounts (never on the event loop); give it a
    # bounded time to hand over outstanding resps and unbind before the process exits.
    if not app.join_sender():
        log.warning("embedded sender still stopping at exit; queued messages stay queued")
    return int(app.return_code or 0)


def cmd_console(args: Any, settings: Settings) -> int:
    from bin_console.app import check_keymap
    from bin_console.cli.runtime import create_database_if_missing, open_db, schema_message
    from bin_console.data.schema import SchemaError

    settings = apply_console_options(args, settings)
    try:
        check_keymap(settings.keys)  # a [keys] typo is said before the TUI starts, not silently ignored
    except ConfigError as exc:
        return _fail(str(exc))
    rc = create_database_if_missing(settings)  # a console works on a new SQLite file from the start
    if rc:
        return rc
    try:
        db = open_db(settings)
    except SchemaError as exc:
        return _fail(schema_message(exc))
    except Exception as exc:  # bad URL, unreadable file, server down
        return _fail(_("cannot open database: {error}").format(error=f"{type(exc).__name__}: {exc}"))
    try:
        sender, sms_block = build_sender(db, settings)
        from bin_console.channels.email.service import start_email_channel

        # the e-mail sender (and reply reader) run beside the SMS sender, in their own threads; like
        # SMS, a missing mail password is no reason not to open the console: the status line says it.
        # Only with [smtp] configured, and one sender (one reader) per database: a console whose
        # sender waits for another's to stop does not count as sending here (the quit guard)
        email = start_email_channel(db, settings)
        email_block = next((r for r in (email.sending, email.replies) if not r.ok), None)
        if email_block is not None:
            log.warning("%s", email_block.sentence())
        try:
            from bin_console.trust.logsetup import configure_logging

            configure_logging(settings, to_file=True)
        except Exception as exc:  # logging must not stop a dispatcher from working
            print(_("bin-console: logging not configured: {error}").format(error=exc), file=sys.stderr)
        try:
            return run_console(
                settings,
                db,
                sender=sender,
                sms_block=sms_block,
                email_block=email_block,
                email_sending=email.sending_here,
            )
        finally:
            email.stop()
    finally:
        db.dispose()
