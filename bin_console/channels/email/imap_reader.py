"""Reads the Reply-To mailbox over IMAP (stdlib imaplib) in its own thread; each mail becomes a Reply.

Nothing is read twice: the last UID is stored with the replies in one transaction, and only means
something with its UIDVALIDITY (a changed one starts from the beginning; replies already stored are
recognised by Message-ID). Messages are fetched with BODY.PEEK and the mailbox is opened read-only:
the console never changes a police mailbox. TLS unless the host is loopback (config.py enforces).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import threading
from email import message_from_bytes, policy

from sqlalchemy.exc import SQLAlchemyError

from bin_console.actor import Actor
from bin_console.channels.email.replies import store_email_reply
from bin_console.config import ImapSettings
from bin_console.credentials import Secret
from bin_console.data.models import ImapState, SenderStatus, utcnow
from bin_console.outbox import new_owner_id

log = logging.getLogger("bin_console.email")

FETCH_BATCH = 50
ACCOUNT = "imap"


class ImapReader:
    def __init__(self, db, settings: ImapSettings, *, password: Secret | None) -> None:  # noqa: ANN001
        self.db = db
        self.cfg = settings
        self._password = password
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error = ""
        self.key = f"{settings.username}@{settings.host}/{settings.mailbox}"[:254]
        self._actor = Actor.current()
        self._owner = new_owner_id(ACCOUNT)[:120]

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="email-imap", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
                self.last_error = ""
                self._status("bound", f"IMAP {self.cfg.host} {self.cfg.mailbox}")
            except (imaplib.IMAP4.error, OSError, SQLAlchemyError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("reading replies from %s failed: %s", self.key, self.last_error)
                self._status("reconnecting", f"IMAP {self.cfg.host}: {self.last_error}")
            self._stop.wait(self.cfg.poll_s)
        self._status("stopped", "")

    def _status(self, state: str, detail: str) -> None:
        """sender_status row "imap": every console's status line can say that replies are not read."""
        try:
            with self.db.write() as s:
                row = s.get(SenderStatus, ACCOUNT)
                if row is None:
                    row = SenderStatus(account=ACCOUNT)
                    s.add(row)
                row.state, row.detail, row.owner, row.updated_at = state, detail[:200], self._owner, utcnow()
        except SQLAlchemyError as exc:
            log.warning("cannot write the IMAP status: %s", type(exc).__name__)

    def _connect(self) -> imaplib.IMAP4:
        cfg = self.cfg
        if cfg.security == "tls":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(cfg.host, cfg.port, ssl_context=ssl.create_default_context())
        else:
            imap = imaplib.IMAP4(cfg.host, cfg.port, timeout=30)
            if cfg.security == "starttls":
                imap.starttls(ssl_context=ssl.create_default_context())
        if self._password is None:
            imap.logout()
            raise imaplib.IMAP4.error("no imap password: run 'bin-console credentials set imap'")
        imap.login(cfg.username, self._password.reveal())
        return imap

    def poll_once(self) -> int:
        """Read every new mail; returns how many were stored."""
        imap = self._connect()
        try:
            typ, data = imap.select(self.cfg.mailbox, readonly=True)
            if typ != "OK":
                raise imaplib.IMAP4.error(f"cannot open mailbox {self.cfg.mailbox!r}: {data}")
            uidvalidity = int(imap.response("UIDVALIDITY")[1][0])
            last = self._position(uidvalidity)
            typ, data = imap.uid("SEARCH", None, f"UID {last + 1}:*")
            # "n:*" always matches the newest message, even when its UID is below n
            uids = sorted(u for u in (int(x) for x in (data[0] or b"").split()) if u > last)
            stored = 0
            for i in range(0, len(uids), FETCH_BATCH):
                chunk = uids[i : i + FETCH_BATCH]
                typ, parts = imap.uid("FETCH", ",".join(map(str, chunk)), "(UID BODY.PEEK[])")
                mails = _fetched(parts)
                with self.db.write() as s:
                    now = utcnow()
                    for _uid, raw in sorted(mails.items()):
                        store_email_reply(s, message_from_bytes(raw, policy=policy.default), now, self._actor)
                        stored += 1
                    self._save(s, uidvalidity, chunk[-1])
            return stored
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

    def _position(self, uidvalidity: int) -> int:
        with self.db.read() as s:
            row = s.get(ImapState, self.key)
            if row is None or row.uidvalidity != uidvalidity:
                return 0
            return row.last_uid

    def _save(self, s, uidvalidity: int, last_uid: int) -> None:  # noqa: ANN001
        row = s.get(ImapState, self.key)
        if row is None:
            row = ImapState(mailbox=self.key)
            s.add(row)
        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, utcnow()


def _fetched(parts: list) -> dict[int, bytes]:
    """imaplib's FETCH answer -> {uid: raw message}."""
    out: dict[int, bytes] = {}
    for part in parts:
        if not isinstance(part, tuple):
            continue
        head, raw = part
        words = head.decode("ascii", "replace").replace("(", " ").split()
        if "UID" in words:
            out[int(words[words.index("UID") + 1])] = raw
    return out
