"""The e-mail sender: `connections` SMTP sessions drain the e-mail outbox, one message per member.

Embedded in the console beside the SMS sender, or run by `bin-console sender --channel email`.
Each session thread loops: claim a small batch (marked on the wire in the claim's commit, see
store.py), then per message wait for the shared pace slot, build it, MAIL/RCPT/DATA over the reused
session, and keep the answer; the answers of a batch and the renewal of the rows it still holds are
committed together, at most every `flush_s` or `batch` answers. So:
* a kill -9 loses nothing: claimed rows come back through `outbox.recover` (flagged: they carried
  the marker) and are sent again with the same Message-ID;
* what the relay accepted is never sent again by this sender (its 250 is stored before the row is
  released, and `write_outcomes` settles it whoever holds it);
* 4xx (greylisting, rate limits) is retried after `retry_initial_s`, doubling; 5xx fails that
  recipient with the server's code and text; a dropped session is reopened with back-off and only
  the message inside DATA at that moment is flagged a possible duplicate.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bin_console import outbox
from bin_console.channels.email import store
from bin_console.channels.email.message import build_message
from bin_console.channels.email.pacer import Pacer
from bin_console.channels.email.smtp_link import Answer, LinkDown, LinkRefused, SmtpLink, wire_bytes
from bin_console.config import SmtpSettings
from bin_console.credentials import Secret
from bin_console.data.models import SenderStatus, utcnow

log = logging.getLogger("bin_console.email")

ACCOUNT = "email"


class EmailSender:
    def __init__(
        self,
        db,
        settings: SmtpSettings,
        *,
        password: Secret | None,
        account: str = ACCOUNT,
        batch: int = 20,
        lease_s: float = 120.0,
        poll_s: float = 1.0,
        flush_s: float = 0.5,
        heartbeat_s: float = 5.0,
        reconnect_max_s: float = 30.0,
    ) -> None:
        self.db = db
        self.cfg = settings
        self.account = account
        self.owner = outbox.owner_id(account)
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.flush_s = flush_s
        self.heartbeat_s = heartbeat_s
        self.reconnect_max_s = reconnect_max_s
        self.batch = self._batch_for(batch)
        self.state = "stopped"
        self.detail = ""
        self._password = password
        self._pacer = Pacer(settings.max_per_minute)
        self._stop = threading.Event()
        self._wakes: list[threading.Event] = []
        self._threads: list[threading.Thread] = []
        self._links_up = 0
        self._lock = threading.Lock()

    def _batch_for(self, batch: int) -> int:
        """A rate-limited sender claims only what it can send well within the lease."""
        if self.cfg.max_per_minute <= 0:
            return batch
        per_lease = self.cfg.max_per_minute * self.lease_s / 60.0 / 2 / self.cfg.connections
        return max(1, min(batch, int(per_lease)))

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        n = outbox.recover(self.db, self.owner)
        if n:
            log.info("e-mail sender: %d claimed message(s) of an earlier run back in the queue", n)
        self._set_state("idle", self._where())  # connects when there is mail to send
        self._wakes = [threading.Event() for _ in range(self.cfg.connections)]
        self._threads = [
            threading.Thread(target=self._session, args=(i,), name=f"email-smtp-{i}", daemon=True)
            for i in range(self.cfg.connections)
        ]
        self._threads.append(threading.Thread(target=self._heartbeat, name="email-status", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        self._set_state("stopped", "")

    def wake(self) -> None:
        for w in self._wakes:
            w.set()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # --- status -------------------------------------------------------------------------------------

    def _where(self) -> str:
        rate = f", {self.cfg.max_per_minute}/min" if self.cfg.max_per_minute else ""
        return f"SMTP {self.cfg.host}:{self.cfg.port}{rate}"

    def _set_state(self, state: str, detail: str) -> None:
        changed = (state, detail) != (self.state, self.detail)
        self.state, self.detail = state, detail
        if changed:
            log.log(logging.ERROR if state == "config_error" else logging.INFO, "e-mail %s: %s", state, detail)
            self._write_status()

    def _write_status(self) -> None:
        try:
            with self.db.write() as s:
                row = s.get(SenderStatus, self.account)
                if row is None:
                    row = SenderStatus(account=self.account)
                    s.add(row)
                row.state, row.detail = self.state, self.detail[:200]
                row.training, row.owner = self.cfg.training, self.owner[:120]
                row.updated_at = utcnow()
        except SQLAlchemyError as exc:
            log.warning("cannot write e-mail sender status: %s", type(exc).__name__)

    def _heartbeat(self) -> None:
        """Keeps the status row fresh (consoles call a sender dead after a silence) and, as every
        sender does, brings back rows whose sender died elsewhere once their lease ran out."""
        while not self._stop.wait(self.heartbeat_s):
            self._write_status()
            try:
                outbox.reap_expired_leases(self.db)
            except SQLAlchemyError as exc:
                log.warning("lease reaper: %s", type(exc).__name__)

    def _link_changed(self, delta: int) -> None:
        with self._lock:
            self._links_up += delta
            up = self._links_up
        if up > 0:
            self._set_state("bound", f"{self._where()}, {up} session(s)")

    # --- one SMTP session ---------------------------------------------------------------------------

    def _session(self, n: int) -> None:
        link = SmtpLink(self.cfg, self._password)
        held: deque[store.EmailWork] = deque()
        out = store.Outcomes()
        wake = self._wakes[n]
        last_flush = last_renew = time.monotonic()
        failures = 0
        try:
            while not self._stop.is_set():
                if not held:
                    claimed = self._claim(out)
                    if claimed is None:  # the database refused: the answers stay in `out`, try again
                        self._stop.wait(self.poll_s)
                        continue
                    out = store.Outcomes()
                    held.extend(claimed)
                    last_flush = last_renew = time.monotonic()
                    if not held:
                        wake.wait(self.poll_s)
                        wake.clear()
                        continue
                if not link.connected:
                    try:
                        link.connect()
                    except LinkRefused as exc:
                        failures += 1
                        delay = self._backoff(failures)
                        state = "config_error" if exc.config else "reconnecting"
                        self._set_state(state, f"{exc}; retry in {delay:.0f} s")
                        out.untouched.extend(w.delivery_id for w in held)
                        held.clear()
                        self._flush(out, [])
                        out = store.Outcomes()
                        self._stop.wait(delay)
                        continue
                    failures = 0
                    self._link_changed(+1)
                work = held[0]
                if work.expires_at is not None and utcnow() >= work.expires_at:
                    held.popleft()
                    store.close_expired(self.db, self.owner, [work.delivery_id])
                    continue
                if not self._pacer.wait(self._stop):
                    break
                try:
                    answer = link.send(self.cfg.from_addr, work.address, self._wire(work))
                except LinkDown as exc:
                    held.popleft()
                    (out.ambiguous if exc.ambiguous else out.untouched).append(work.delivery_id)
                    self._link_changed(-1)
                    self._set_state("reconnecting", f"{self._where()}: {exc}")
                    self._flush(out, [w.delivery_id for w in held])
                    out = store.Outcomes()
                    failures += 1
                    self._stop.wait(min(self._backoff(failures), 2.0))
                    continue
                held.popleft()
                self._classify(work, answer, out)
                now = time.monotonic()
                if held and (out.answered >= self.batch or now - last_flush >= self.flush_s):
                    renew = [w.delivery_id for w in held] if now - last_renew >= self.lease_s / 3 else []
                    kept = self._flush(out, renew)
                    out = store.Outcomes()
                    last_flush = now
                    if renew:
                        last_renew = now
                        held = deque(w for w in held if w.delivery_id in set(kept))
        finally:
            out.untouched.extend(w.delivery_id for w in held)
            if out:
                self._flush(out, [])
            if link.connected:
                self._link_changed(-1)
            link.close()

    def _claim(self, out: store.Outcomes) -> list[store.EmailWork] | None:
        """Store the last answers and lease the next batch in one commit; None when that failed."""
        try:
            return store.claim(self.db, self.owner, self.batch, self.lease_s, training=self.cfg.training, outcomes=out)
        except SQLAlchemyError as exc:
            log.warning("e-mail claim failed (%s); retrying", type(exc).__name__)
            return None

    def _flush(self, out: store.Outcomes, renew: list[int]) -> list[int]:
        """Commit a batch's answers; a failing database is retried (the answers are only in memory)."""
        attempt = 0
        while True:
            try:
                return store.write_outcomes(self.db, self.owner, out, renew=renew, lease_s=self.lease_s)
            except SQLAlchemyError as exc:
                attempt += 1
                log.error("e-mail outcomes not stored (%s, attempt %d); retrying", type(exc).__name__, attempt)
                time.sleep(min(0.1 * 2**attempt, 5.0))

    def _wire(self, work: store.EmailWork) -> bytes:
        msg = build_message(
            self.cfg,
            alert_id=work.alert_id,
            delivery_id=work.delivery_id,
            to_addr=work.address,
            text=work.text,
            language=work.language,
            token=work.token,
            possible_duplicate=work.possible_duplicate,
        )
        return wire_bytes(msg)

    def _classify(self, work: store.EmailWork, answer: Answer, out: store.Outcomes) -> None:
        if answer.accepted:
            out.accepted.append(work.delivery_id)
        elif answer.transient and work.attempts < self.cfg.max_attempts:
            delay = min(self.cfg.retry_initial_s * 2 ** (work.attempts - 1), self.cfg.retry_max_s)
            out.retry.append((work.delivery_id, answer.code, answer.describe(), utcnow() + timedelta(seconds=delay)))
        elif answer.transient:
            reason = f"gave up after {work.attempts} attempts: {answer.describe()}"
            out.failed.append((work.delivery_id, answer.code, reason))
        else:
            out.failed.append((work.delivery_id, answer.code, answer.describe()))

    def _backoff(self, failures: int) -> float:
        return min(self.reconnect_max_s, 0.5 * 2 ** min(failures, 10)) * random.uniform(0.8, 1.2)
