"""`bin-console console`: build everything the TUI needs, say clearly what is wrong before the TUI
starts (exit 78), then run it with the mouse off.

The SMPP password is fetched here as a credentials.Secret (never a plain str) and handed to the
embedded SenderRunner; the training SMSC needs none. Logs go to the log file only while the TUI owns
the terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .config import Settings

EX_CONFIG = 78
log = logging.getLogger(__name__)


def _fail(message: str) -> int:
    print(f"bin-console: {message}", file=sys.stderr)
    return EX_CONFIG


def apply_console_options(args: Any, settings: Settings) -> Settings:
    theme = getattr(args, "theme", None)
    if theme:
        settings.ui_theme = theme
    if getattr(args, "no_blink", False):
        settings.cursor_blink = False
    return settings


def build_sender(db: Any, settings: Settings) -> Any:
    """The embedded sender; raises CredentialStoreUnavailable / SecretMissing when the password is missing."""
    from .sender import SenderRunner

    password = None
    if not settings.smpp.training:
        from .credentials import get_secret

        password = get_secret("smpp", settings)
    return SenderRunner(db, settings.smpp, password=password)


def run_console(settings: Settings, db: Any, *, sender: Any = None) -> int:
    from .app import BinConsoleApp

    app = BinConsoleApp(settings, db, sender=sender, training=settings.smpp.training)
    app.run(mouse=False)
    # The App stops the sender in a thread when it unmounts (never on the event loop); give it a
    # bounded time to hand over outstanding resps and unbind before the process exits.
    if not app.join_sender():
        log.warning("embedded sender still stopping at exit; queued messages stay queued")
    return int(app.return_code or 0)


def cmd_console(args: Any, settings: Settings) -> int:
    from .credentials import CredentialStoreUnavailable
    from .data.schema import SchemaError
    from .runtime import open_db

    settings = apply_console_options(args, settings)
    try:
        db = open_db(settings)
    except SchemaError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - bad URL, unreadable file, server down
        return _fail(f"cannot open database: {type(exc).__name__}: {exc}")
    try:
        try:
            sender = build_sender(db, settings)
            from .channels.email.service import start_email_channel

            # the e-mail sender (and reply reader) run beside the SMS sender, in their own threads
            email_parts = start_email_channel(db, settings)
        except CredentialStoreUnavailable as exc:
            return _fail(str(exc))
        except LookupError as exc:  # credentials.SecretMissing
            return _fail(str(exc))
        try:
            from .logsetup import configure_logging

            configure_logging(settings, to_file=True)
        except Exception as exc:  # noqa: BLE001 - logging must not stop a dispatcher from working
            print(f"bin-console: logging not configured: {exc}", file=sys.stderr)
        try:
            return run_console(settings, db, sender=sender)
        finally:
            for part in email_parts:
                part.stop()
    finally:
        db.dispose()
