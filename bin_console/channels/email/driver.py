"""The e-mail sender: a driver on the outbox port (bin_console/outbox.py), `connections` SMTP sessions.

Embedded in the console beside the SMS sender, or run by `bin-console sender --channel email`.
Each session thread loops: claim a small batch with the "on the wire" marker in the claim's own
commit (``outbox.claim(..., channel="email", mark=True)``), then per message wait for the shared
pace slot, build it, MAIL/RCPT/DATA over the reused session, and keep the answer. The answers of
a batch (the port's typed jobs ``Settle`` and ``Release``, bin_console/outbox_jobs.py) are committed
in ONE transaction with the next claim or with the renewal of the rows the session still holds,
at most every `flush_s` or `batch` answers: on a busy disk every fsync costs more than the SMTP
exchanges of the batch. So:
* a kill -9 loses nothing: claimed rows come back through ``outbox.recover`` (flagged: they carried
  the marker) and are sent again with the same Message-ID;
* what the relay accepted is never sent again: its 250 is an ``Ack(delivery_id, 1, message_id)``,
  and a row whose part is acked is only settled by the next claim, never re-sent;
* 4xx (greylisting, rate limits) is a transient ``Failure`` retried after `retry_initial_s`,
  doubling; 5xx a permanent one with the server's code and text; a dropped session is reopened
  with back-off and only the message inside DATA at that moment is flagged a possible duplicate
  (released with ``possible_duplicate``; the others lose the claim's marker).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message

from sqlalchemy.exc import SQLAlchemyError

from bin_console import outbox
from bin_console.channels.email.message import build_message
from bin_console.channels.email.pacer import Pacer
from bin_console.channels.email.smtp_link import Answer, LinkDown, LinkRefused, SmtpLink, wire_bytes
from bin_console.channels.email.tokens import tokens_for
from bin_console.config import SmtpSettings
from bin_console.credentials import Secret
from bin_console.data.models import utcnow
from bin_console.outbox_jobs import Claim, Release, RenewLeases, Settle, WriterJob, WriteStatus

log = logging.getLogger("bin_console.email")

ACCOUNT = "email"
CHANNEL = "email"
# Leases as short as the SMS sender's (a killed sender's rows are back within about this), but
# never shorter than two SMTP timeouts: a session renews between messages, and one message
# stuck in a slow command must not outlive its lease (another sender would send it again).
LEASE_S = 12.0


@dataclass(frozen=True)
class Work:
    """One claimed e-mail and the unsubscribe token of its member ("" when the member is gone)."""

    row: outbox.ClaimedRow
    token: str


@dataclass
class Answers:
    """What one session learnt since its last commit; stored by the port's jobs (``jobs``)."""

    acks: list[outbox.Ack] = field(default_factory=list)
    failures: list[outbox.Failure] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)  # past expires_at while waiting for a pace slot
    settled: list[int] = field(default_factory=list)  # claimed with their one part already acked
    unsent: list[int] = field(default_factory=list)  # never reached DATA: back to the queue, unmarked
    ambiguous: list[int] = field(default_factory=list)  # no answer after the final dot: flagged

    @property
    def answered(self) -> int:
        return len(self.acks) + len(self.failures)

    def __bool__(self) -> bool:
        return bool(self.acks or self.failures or self.expired or self.settled or self.unsent or self.ambiguous)

    def jobs(self, owner: str) -> list[WriterJob]:
        return [
            Settle(owner=owner, acks=self.acks, failures=self.failures, expired=self.expired, settled=self.settled),
            Release(owner=owner, on_wire=self.ambiguous, unsent=self.unsent, clear_marker=True),
        ]


class EmailSender:
    def __init__(
        self,
        db,  # noqa: ANN001
        settings: SmtpSettings,
        *,
        password: Secret | None,
        account: str = ACCOUNT,
        batch: int = 20,
        lease_s: float | None = None,
        poll_s: float = 1.0,
        flush_s: float = 0.5,
        heartbeat_s: float = 5.0,
        reconnect_max_s: float = 30.0,
    ) -> None:
        self.db = db
        self.cfg = settings
        self.account = account
        self.owner = outbox.new_owner_id(account)
        self.lease_s = lease_s if lease_s is not None else max(LEASE_S, 2 * settings.timeout)
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
        with self.db.write() as s:
            n = outbox.recover(s, self.owner)
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
        status = WriteStatus(
            account=self.account, state=self.state, detail=self.detail, training=self.cfg.training, owner=self.owner
        )
        try:
            with self.db.write() as s:
                status.run(s)
        except SQLAlchemyError as exc:
            log.warning("cannot write e-mail sender status: %s", type(exc).__name__)

    def _heartbeat(self) -> None:
        """Keeps the status row fresh (consoles call a sender dead after a silence) and, as every
        sender does, brings back rows whose sender died elsewhere once their lease ran out."""
        while not self._stop.wait(self.heartbeat_s):
            self._write_status()
            try:
                with self.db.write() as s:
                    outbox.reap_expired_leases(s, exclude=self.owner)
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
        held: deque[Work] = deque()
        out = Answers()
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
                    out = Answers()
                    for work in claimed:
                        if work.row.parts_to_send():
                            held.append(work)
                        else:  # the relay took it, the state change was lost (reaped before it was stored)
                            out.settled.append(work.row.delivery_id)
                    last_flush = last_renew = time.monotonic()
                    if not held:
                        if not out:
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
                        out.unsent.extend(w.row.delivery_id for w in held)
                        held.clear()
                        self._flush(out, [])
                        out = Answers()
                        self._stop.wait(delay)
                        continue
                    failures = 0
                    self._link_changed(+1)
                now = time.monotonic()
                renew_due = now - last_renew >= self.lease_s / 3
                if renew_due or (out and (out.answered >= self.batch or now - last_flush >= self.flush_s)):
                    renew = [w.row.delivery_id for w in held] if renew_due else []
                    kept = self._flush(out, renew)
                    out = Answers()
                    last_flush = now
                    if renew_due:
                        last_renew = now
                        mine = set(kept)
                        held = deque(w for w in held if w.row.delivery_id in mine)  # the others were reaped
                        if not held:
                            continue
                row = held[0].row
                if row.expires_at is not None and utcnow() >= row.expires_at:
                    held.popleft()
                    out.expired.append(row.delivery_id)  # never sent late
                    continue
                if not self._pacer.wait(self._stop):
                    break
                msg = self._message(held[0])
                try:
                    answer = link.send(self.cfg.from_addr, row.address, wire_bytes(msg))
                except LinkDown as exc:
                    held.popleft()
                    (out.ambiguous if exc.ambiguous else out.unsent).append(row.delivery_id)
                    self._link_changed(-1)
                    self._set_state("reconnecting", f"{self._where()}: {exc}")
                    self._flush(out, [w.row.delivery_id for w in held])
                    out = Answers()
                    failures += 1
                    self._stop.wait(min(self._backoff(failures), 2.0))
                    continue
                held.popleft()
                self._classify(row, str(msg["Message-ID"]), answer, out)
        finally:
            out.unsent.extend(w.row.delivery_id for w in held)
            if out:
                self._flush(out, [])
            if link.connected:
                self._link_changed(-1)
            link.close()

    def _claim(self, out: Answers) -> list[Work] | None:
        """Store the last answers and lease the next batch (marked on the wire) in one commit; None
        when that failed."""
        claim = Claim(
            owner=self.owner,
            limit=self.batch,
            lease_s=self.lease_s,
            channel=CHANNEL,
            training=self.cfg.training,
            asked_at=time.monotonic(),
            mark=True,
        )
        try:
            with self.db.write() as s:
                for job in out.jobs(self.owner):
                    job.run(s)
                rows = claim.run(s)
                tokens = tokens_for(s, sorted({r.member_id for r in rows if r.member_id is not None}), utcnow())
        except SQLAlchemyError as exc:
            log.warning("e-mail claim failed (%s); retrying", type(exc).__name__)
            return None
        return [Work(r, tokens.get(r.member_id, "")) for r in rows]

    def _flush(self, out: Answers, renew: list[int]) -> list[int]:
        """Commit a batch's answers, with `renew` the leases of those rows in the same commit;
        returns the ids still ours (a row not returned was reaped: the session drops it). A
        failing database is retried: the answers are only in memory."""
        jobs = out.jobs(self.owner)
        renewal = RenewLeases(owner=self.owner, delivery_ids=renew, lease_s=self.lease_s, asked_at=time.monotonic())
        attempt = 0
        while True:
            try:
                with self.db.write() as s:
                    for job in jobs:
                        job.run(s)
                    return renewal.run(s) if renew else []
            except SQLAlchemyError as exc:
                attempt += 1
                log.error("e-mail outcomes not stored (%s, attempt %d); retrying", type(exc).__name__, attempt)
                time.sleep(min(0.1 * 2**attempt, 5.0))

    def _message(self, work: Work) -> Message:
        row = work.row
        return build_message(
            self.cfg,
            alert_id=row.alert_id,
            delivery_id=row.delivery_id,
            to_addr=row.address,
            text=row.text,
            language=row.language or "nl",  # the member is gone: the console's first language
            token=work.token,
            possible_duplicate=row.possible_duplicate,
        )

    def _classify(self, row: outbox.ClaimedRow, message_id: str, answer: Answer, out: Answers) -> None:
        if answer.accepted:
            out.acks.append(outbox.Ack(row.delivery_id, 1, message_id))  # an e-mail is one part
        elif answer.transient and row.attempts < self.cfg.max_attempts:
            delay = min(self.cfg.retry_initial_s * 2 ** (row.attempts - 1), self.cfg.retry_max_s)
            retry_at = utcnow() + timedelta(seconds=delay)
            out.failures.append(outbox.Failure(row.delivery_id, answer.code, answer.describe(), False, retry_at))
        elif answer.transient:
            reason = f"gave up after {row.attempts} attempts: {answer.describe()}"
            out.failures.append(outbox.Failure(row.delivery_id, answer.code, reason, True))
        else:
            out.failures.append(outbox.Failure(row.delivery_id, answer.code, answer.describe(), True))

    def _backoff(self, failures: int) -> float:
        return min(self.reconnect_max_s, 0.5 * 2 ** min(failures, 10)) * random.uniform(0.8, 1.2)
