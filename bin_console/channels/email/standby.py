"""One e-mail sender per database: a console's embedded sender waits while another one is alive.

Every EmailSender keeps [smtp] max_per_minute with its own pacer, so two of them (two consoles, or a
console and `bin-console sender --channel email|both`) together send at twice the relay's limit. A
console therefore starts its embedded sender only when no other e-mail sender is alive (the "email"
sender_status row is fresh: cli/send.py sender_service_bound, the check `bin-console send` makes),
and checks again every few seconds while it waits: when the other one stops (or its heartbeat
goes stale after a crash), this console takes over and nothing stays queued.

The check and the start are one step: a console that finds no live sender writes the "email"
row ("connecting", fresh) in the same write transaction (SQLite's write lock, a row lock on
PostgreSQL), so of two consoles started in the same second one starts and the other waits
(before, both found none and both sent, at twice the relay's limit).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

log = logging.getLogger("bin_console.email")

ACCOUNT = "email"  # channels/email/driver.py: the e-mail sender's sender_status row
CHECK_S = 5.0  # the e-mail sender's heartbeat is 5 s, its row is stale after 10 s (SENDER_FRESH_S)


def other_email_sender_alive(db, claim: str = "") -> bool:
    """True while another e-mail sender is alive; else this console takes the role in the same
    transaction (the "email" row: "connecting", fresh, owner ``claim``) and False: it is to start
    its sender now."""
    from datetime import timedelta

    from sqlalchemy.exc import IntegrityError

    from bin_console.cli.send import SENDER_FRESH_S
    from bin_console.data.models import SenderStatus, utcnow

    try:
        with db.write() as s:
            row = s.get(SenderStatus, ACCOUNT, with_for_update=True)
            now = utcnow()  # once the lock is held: a wait for it must not age the claim
            if row is not None and row.state not in ("stopped", "config_error"):
                if now - _aware(row.updated_at) < timedelta(seconds=SENDER_FRESH_S):
                    return True
            if row is None:
                row = SenderStatus(account=ACCOUNT)
                s.add(row)
            row.state, row.detail, row.owner, row.updated_at = "connecting", "", claim[:120], now
    except IntegrityError:  # another console inserted the row at the same moment: it starts
        return True
    return False


def release_claim(db, claim: str) -> None:
    """A start that failed gives the role back at once ("stopped"), if the row is still this
    claim's: left "connecting" and fresh, it held every console off, this one too, for 10 s."""
    from bin_console.data.models import SenderStatus, utcnow

    with db.write() as s:
        row = s.get(SenderStatus, ACCOUNT, with_for_update=True)
        if row is not None and row.owner == claim and row.state == "connecting":
            row.state, row.updated_at = "stopped", utcnow()


def _aware(when):
    from datetime import UTC

    return when.replace(tzinfo=UTC) if when.tzinfo is None else when  # SQLite gives naive UTC


class StandbySender:
    """Starts ``make()``'s sender at once when no other e-mail sender is alive, else when that one
    is gone. ``stop()`` stops whichever was started; ``running`` says whether this one sends."""

    def __init__(
        self,
        db,
        make: Callable[[], Any],
        *,
        check_s: float = CHECK_S,
        alive: Callable[[Any], bool] | None = None,
    ) -> None:
        self.db = db
        self._make = make
        self.check_s = check_s
        self._claim = f"standby-{uuid.uuid4().hex}"
        self._alive = alive or (lambda db: other_email_sender_alive(db, self._claim))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sender: Any = None

    @property
    def running(self) -> bool:
        return self.sender is not None and bool(self.sender.running)

    def start(self) -> None:
        """The first check now (before the console's TUI runs, so the common case starts at once)."""
        self._stop.clear()
        if not self._try_start():
            log.info("e-mail sender not started here yet (another one runs, or the database is away): waiting")
            self._thread = threading.Thread(target=self._wait, name="email-standby", daemon=True)
            self._thread.start()

    def _try_start(self) -> bool:
        try:
            busy = self._alive(self.db)
        except Exception as exc:  # the database is away: look again later, never stop the console
            log.warning("cannot tell whether another e-mail sender runs: %s", type(exc).__name__)
            return False
        if busy:
            return False
        with self._lock:
            if self._stop.is_set():
                self._give_back()
                return True
            sender = None
            try:
                sender = self._make()
                sender.start()  # recovers leftover rows first: a database call that can fail
            except Exception as exc:  # never a dead standby thread: stop what started, look again later
                log.warning("e-mail sender did not start (%s): trying again in %g s", type(exc).__name__, self.check_s)
                try:
                    if sender is not None:
                        sender.stop(timeout=1.0)
                except Exception:  # it never ran: nothing more to end
                    log.debug("stopping the unstarted e-mail sender failed", exc_info=True)
                self._give_back()
                return False
            self.sender = sender
        return True

    def _give_back(self) -> None:
        try:
            release_claim(self.db, self._claim)
        except Exception as exc:  # the database is away: the claim goes stale in SENDER_FRESH_S
            log.warning("could not give back the e-mail sender's claim: %s", type(exc).__name__)

    def _wait(self) -> None:
        while not self._stop.wait(self.check_s):
            if self._try_start():
                if self.sender is not None:
                    log.info("the other e-mail sender is gone: this console sends e-mail now")
                return

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stop.set()
            sender = self.sender
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if sender is not None:
            sender.stop(timeout=timeout)
