"""Logging: a private rotating file, smpplib's PDU dumps dropped, known secrets redacted.

smpplib logs every PDU in hex at DEBUG (``>>b'...'`` / ``<<b'...'``), bind password, phone numbers
and message texts included (shared notes/reliability.md §4.5). So: the ``smpp*`` loggers are pinned
to INFO, every handler drops records whose message starts with ">>" or "<<" and anything below INFO
from an ``smpp*`` logger, and the formatter replaces every registered secret (and its hex form) by
``***`` in the final text, tracebacks included. Nothing goes to stderr unless asked: while the TUI
runs, a stray line would corrupt the screen.
"""

from __future__ import annotations

import binascii
import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

from bin_console.config import log_dir

LOG_FILE = "bin-console.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
# shorter "secrets" would blank ordinary words out of every line, so they are not redacted; the
# credentials module refuses to store them (credentials.validate)
MIN_SECRET_LEN = 4
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"

# smpplib's own loggers ("smpp.Client.<id>") and the wire logger our SMPP client passes to smpplib
SMPP_LOGGERS = ("smpp", "bin_console.smpp")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def redact(secret) -> None:  # a credentials.Secret or a str
    """Register a secret value: it (and its hex/upper-hex forms) never reaches a log line."""
    value = secret.reveal() if hasattr(secret, "reveal") else str(secret)
    if not value or len(value) < MIN_SECRET_LEN:
        return
    raw = value.encode("utf-8")
    forms = {value, binascii.hexlify(raw).decode(), binascii.hexlify(raw).decode().upper()}
    with _secrets_lock:
        _secrets.update(forms)


def scrub(text: str) -> str:
    with _secrets_lock:
        forms = sorted(_secrets, key=len, reverse=True)
    for form in forms:
        if form in text:
            text = text.replace(form, "***")
    return text


class PduDumpFilter(logging.Filter):
    """Drop smpplib's hex dumps (they carry the bind password, numbers, texts) and smpp DEBUG chatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg if isinstance(record.msg, str) else str(record.msg)
        if msg.startswith((">>", "<<")):
            return False
        return not (record.name.startswith(SMPP_LOGGERS) and record.levelno < logging.INFO)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _private_file(path: Path) -> None:
    """Create the log file 0600 before the handler opens it, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """Rotated files stay 0600 too (the process umask normally sees to it; this does not rely on it)."""

    def _open(self):
        _private_file(Path(self.baseFilename))
        return super()._open()


_OURS = "_bin_console_handler"


def configure_logging(
    settings=None,  # reserved for a future [logging] section
    *,
    to_file: bool = True,
    level: int = logging.INFO,
    to_stderr: bool = False,
    directory: Path | None = None,
) -> Path | None:
    """Install our handlers on the root logger (idempotent); returns the log file path, if any."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _OURS, False):
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    # pin smpplib's loggers (and the wire logger handed to it) to INFO or above
    for name in SMPP_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(SMPP_LOGGERS):
            lg = logging.getLogger(name)
            if lg.level != logging.NOTSET and lg.level < logging.INFO:
                lg.setLevel(logging.INFO)
    fmt = RedactingFormatter(_FORMAT)
    handlers: list[logging.Handler] = []
    path: Path | None = None
    if to_file:
        d = Path(directory) if directory else log_dir()
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(d, 0o700)
        path = d / LOG_FILE
        _private_file(path)
        handlers.append(_PrivateRotatingHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"))
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    if not handlers:
        handlers.append(logging.NullHandler())  # keeps logging.lastResort off stderr
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(PduDumpFilter())
        setattr(h, _OURS, True)
        root.addHandler(h)
    logging.captureWarnings(True)
    return path
