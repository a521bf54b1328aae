"""Reads the Reply-To mailbox over IMAP (stdlib imaplib) in its own thread; each mail becomes a Reply.

Nothing is read twice: the last UID is stored with the replies in one transaction, and only means
something with its UIDVALIDITY (a changed one starts from the beginning; replies already stored are
recognised by Message-ID). Messages are fetched with BODY.PEEK and the mailbox is opened read-only:
the console never changes a police mailbox. TLS unless the host is loopback (config.py enforces);
[imap] ca_file names the CA bundle of the server's certificate (like [smtp]), timeout bounds every
socket operation (connect, login, each command).

One mail that cannot be read (an unknown charset, a broken MIME structure: anything) is kept as an
"unreadable e-mail" reply with its raw text and the reader moves on: the read position is saved
past it, so the replies and unsubscribes after it are still read. The loop survives any exception
(one log line each, no traceback, no secret).

One reader per mailbox: every console (and `bin-console sender`) may start one, but only the
holder of the "imap" sender_status row reads; the others wait, and take over once the holder stopped,
has failed for a whole lease (its settings do not work here: a wrong password), or its row is older
than the lease (a crashed console). Two readers overlapping anyway (a stalled
holder) store nothing twice: replies.py serialises the Message-ID check and the insert.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from bin_console.alerts.outbox import new_owner_id
from bin_console.alerts.outbox_writer import connection_lost
from bin_console.channels.email.replies import store_dead_letter, store_email_reply
from bin_console.config import ImapSettings
from bin_console.data.models import ImapState, SenderStatus, utcnow
from bin_console.trust.actor import Actor
from bin_console.trust.credentials import Secret

log = logging.getLogger("bin_console.email")

FETCH_BATCH = 50
ACCOUNT = "imap"
LEASE_MIN_S = 120.0  # another reader takes over a holder silent for max(this, 4 polls)


def _one_line(exc: BaseException) -> str:
    """An exception as one short log line: its text may come from a mail (untrusted, multi-line)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]


class ImapReader:
    def __init__(self, db, settings: ImapSettings, *, password: Secret | None) -> None:
        self.db = db
        self.cfg = settings
        self._password = password
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error = ""
        self.key = f"{settings.username}@{settings.host}/{settings.mailbox}"[:254]
        self._actor = Actor.current()
        self._owner = new_owner_id(ACCOUNT)[:120]
        self.lease_s = max(LEASE_MIN_S, 4 * settings.poll_s)
        self.holder = False  # this reader holds the "imap" row (reads); False: another one does
        self._failing_since: float | None = None  # monotonic time of the first failure in a row

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
                if not self._claim():
                    self._failing_since = None  # another reader holds the mailbox: no streak of ours
                else:
                    self.poll_once()
                    self.last_error = ""
                    self._failing_since = None
                    self._status("bound", f"IMAP {self.cfg.host} {self.cfg.mailbox}")
            except Exception as exc:  # IMAP, network, database or anything else: the loop goes on
                self._failed(exc)
            self._stop.wait(self.cfg.poll_s)
        self._status("stopped", "")

    def _failed(self, exc: BaseException) -> None:
        """A failing holder writes "reconnecting"; once it has failed for a whole lease, "error":
        its row then counts as free (see _claim), so a reader on another console whose settings
        work takes over, instead of waiting behind a holder that renews its lease while it fails
        (a wrong password on one console kept every reply unread)."""
        self.last_error = _one_line(exc)
        log.warning("reading replies from %s failed: %s", self.key, self.last_error)
        if not self.holder:  # a failure while only waiting (the claim itself): no streak of reads
            self._failing_since = None
            return
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        state = "error" if now - self._failing_since >= self.lease_s else "reconnecting"
        self._status(state, f"IMAP {self.cfg.host}: {self.last_error}")

    def _claim(self) -> bool:
        """Hold (or renew) the "imap" row: free, ours, stopped, failing for a whole lease, or silent
        for longer than the lease."""
        now = utcnow()
        try:
            with self.db.write() as s:
                row = s.get(SenderStatus, ACCOUNT, with_for_update=True)
                if row is None:
                    s.add(SenderStatus(account=ACCOUNT, state="connecting", owner=self._owner, updated_at=now))
                elif row.owner == self._owner:
                    row.updated_at = now
                elif (
                    row.state in ("stopped", "error")  # ended, or failing for a whole lease
                    or row.updated_at < now - timedelta(seconds=self.lease_s)
                ):
                    # taken over: "connecting" at once, so the one that left it in "error" does not
                    # count it as free again while this one reads
                    row.owner, row.updated_at, row.state = self._owner, now, "connecting"
                else:
                    self.holder = False
                    return False
        except SQLAlchemyError:
            self.holder = False  # e.g. another reader inserted the row at the same moment: next poll
            raise
        self.holder = True
        return True

    def _status(self, state: str, detail: str) -> None:
        """sender_status row "imap": every console's status line can say that replies are not read.
        Only the holder writes it (a waiting reader leaves the holder's row alone)."""
        if not self.holder:
            return
        try:
            with self.db.write() as s:
                # locked: a takeover committed meanwhile is seen here, never overwritten (PostgreSQL)
                row = s.get(SenderStatus, ACCOUNT, with_for_update=True)
                if row is None:
                    row = SenderStatus(account=ACCOUNT)
                    s.add(row)
                elif row.owner != self._owner:
                    self.holder = False  # taken over while this one was silent too long
                    return
                row.state, row.detail, row.owner, row.updated_at = state, detail[:200], self._owner, utcnow()
        except SQLAlchemyError as exc:
            log.warning("cannot write the IMAP status: %s", type(exc).__name__)

    def _connect(self) -> imaplib.IMAP4:
        cfg = self.cfg
        if cfg.security == "tls":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(cfg.host, cfg.port, ssl_context=self._tls(), timeout=cfg.timeout)
        else:
            imap = imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout)
            if cfg.security == "starttls":
                imap.starttls(ssl_context=self._tls())
        if self._password is None:
            imap.logout()
            raise imaplib.IMAP4.error("no imap password: run 'bin-console credentials set imap'")
        imap.login(cfg.username, self._password.reveal())
        return imap

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cfg.ca_file or None)

    def poll_once(self) -> int:
        """Read every new mail; returns how many were stored."""
        imap = self._connect()
        try:
            typ, data = imap.select(self.cfg.mailbox, readonly=True)
            if typ != "OK":
                raise imaplib.IMAP4.error(f"cannot open mailbox {self.cfg.mailbox!r}: {data}")
            uidvalidity = int(imap.response("UIDVALIDITY")[1][0])
            last = self._position(uidvalidity)
            typ, data = imap.uid("SEARCH", f"UID {last + 1}:*")  # no CHARSET: the criteria are ASCII
            # "n:*" always matches the newest message, even when its UID is below n
            uids = sorted(u for u in (int(x) for x in (data[0] or b"").split()) if u > last)
            stored = 0
            for i in range(0, len(uids), FETCH_BATCH):
                chunk = uids[i : i + FETCH_BATCH]
                typ, parts = imap.uid("FETCH", ",".join(map(str, chunk)), "(UID BODY.PEEK[])")
                mails = _fetched(parts)
                with self.db.write() as s:
                    now = utcnow()
                    for uid, raw in sorted(mails.items()):
                        if self._store(s, uid, raw, now):
                            stored += 1
                    self._save(s, uidvalidity, chunk[-1])
            return stored
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

    def _store(self, s, uid: int, raw: bytes, now) -> bool:
        """One mail as a reply; one that cannot be, as an unreadable reply. A lost database connection
        is raised (the batch is retried, the position not saved); anything else costs that mail only."""
        try:
            with s.begin_nested():
                store_email_reply(s, message_from_bytes(raw, policy=policy.default), now, self._actor)
            return True
        except Exception as exc:
            if connection_lost(exc):
                raise
            reason = _one_line(exc)
        log.warning("mail UID %s in %s cannot be read (%s): kept as an unreadable reply", uid, self.key, reason)
        try:
            with s.begin_nested():
                store_dead_letter(s, raw, now, reason.split(":", 1)[0])
            return True
        except Exception as exc:
            if connection_lost(exc):
                raise
            log.warning("mail UID %s in %s skipped, not even its raw text stored: %s", uid, self.key, _one_line(exc))
            return False

    def _position(self, uidvalidity: int) -> int:
        with self.db.read() as s:
            row = s.get(ImapState, self.key)
            if row is None or row.uidvalidity != uidvalidity:
                return 0
            return row.last_uid

    def _save(self, s, uidvalidity: int, last_uid: int) -> None:
        row = s.get(ImapState, self.key)
        if row is None:
            row = ImapState(mailbox=self.key)
            s.add(row)
        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, utcnow()
        # renew the lease with every batch: a long first read of a full mailbox is no silence
        s.execute(
            update(SenderStatus)
            .where(col(SenderStatus.account) == ACCOUNT, col(SenderStatus.owner) == self._owner)
            .values(updated_at=utcnow())
        )


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
