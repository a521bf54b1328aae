"""The e-mail sender: a driver on the outbox port (bin_console/alerts/outbox.py), `connections` SMTP sessions.

Embedded in the console beside the SMS sender, or run by `bin-console sender --channel email`.
Each session thread sends; the database work of all of them is done by ONE writer thread, the
outbox writer the SMS sender uses (bin_console/alerts/outbox_writer.py): it runs every job that is
waiting in one transaction, so the claims and answers of all sessions share a commit (on a busy
disk a commit with its fsync costs more than the SMTP exchanges of a batch), and an SMTP session
never waits for the database while it has claimed mail to send:
* a session asks for its next batch (``ClaimEmail``: ``outbox.claim(..., channel="email")`` plus
  the members' unsubscribe tokens) while it still sends the last one; its rows are marked "on the
  wire" MARK_CHUNK at a time, one chunk ahead (``MarkEmail``; a batch that starts at once has its
  first chunk marked in the claim's own commit), and a row is sent only once its marker's commit
  returned; the mark closes the chunk's rows of a cancelled alert instead (``CheckCancelled``, with
  every lease renewal and every CANCEL_CHECK_S, drops the other held ones);
* per message it waits for the pace slot the sessions share (pacer.py; inside its loop, so leases
  are renewed and the row checked again when the slot comes), renders the message from
  the alert's template (message.py: built once per alert and language, then only To, Date,
  Message-ID and List-Unsubscribe per member) and runs MAIL/RCPT/DATA over its reused session;
* its answers go to the writer as the port's typed jobs (``Settle``, ``Release``,
  bin_console/alerts/outbox_jobs.py) at most every `flush_s` or `batch` answers, and with its next claim;
* its leases are renewed every third of a lease; a row whose lease was not renewed in time (the
  database is behind) is not sent until it is, and a row the renewal did not return is dropped
  (it was reaped: another sender's now).
So:
* a kill -9 loses nothing: claimed rows come back through ``outbox.recover`` (flagged: they carried
  the marker) and are sent again with the same Message-ID; flagged are at most the rows marked
  and not answered and the accepted ones whose ack was not stored (answers go every chunk): about
  three chunks per session, and no more than a rate-limited session holds (a second's worth);
* what the relay accepted is never sent again: its 250 is an ``Ack(delivery_id, 1, message_id)``,
  and a row whose part is acked is only settled by the next claim, never re-sent;
* a message that cannot be built or sent (a non-ASCII address, any unexpected exception before
  DATA) is a permanent ``Failure`` of that delivery with the reason; an unexpected exception
  inside DATA (``NoAnswer``: it may have been accepted) is retried like a 4xx and flagged a
  possible duplicate, never failed at once; an unexpected exception of the session loop itself
  sets the status "error ..." and restarts the session with back-off;
* 4xx (greylisting, rate limits) is a transient ``Failure`` retried after `retry_initial_s`,
  doubling; 5xx a permanent one with the server's code and text; a dropped session is reopened
  with back-off and only the message inside DATA at that moment is flagged a possible duplicate
  (released with ``possible_duplicate``; the others lose the claim's marker, or stay with the
  session that lost its connection and go out once it is back).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bin_console.alerts import outbox
from bin_console.alerts.outbox_jobs import CheckCancelled, Release, RenewLeases, Settle, WriterJob, WriteStatus
from bin_console.alerts.outbox_writer import DbWriter
from bin_console.channels.email.message import MessageTemplate
from bin_console.channels.email.pacer import Pacer
from bin_console.channels.email.smtp_link import (
    Answer,
    LinkDown,
    LinkRefused,
    NoAnswer,
    SmtpLink,
    Unsendable,
    check_address,
)
from bin_console.channels.email.tokens import tokens_for
from bin_console.config import SmtpSettings
from bin_console.data.models import utcnow
from bin_console.trust.credentials import Secret

log = logging.getLogger("bin_console.email")

ACCOUNT = "email"
CHANNEL = "email"
# Leases as short as the SMS sender's (a killed sender's rows are back within about this), but
# never shorter than two SMTP timeouts: a session renews between messages, and one message
# stuck in a slow command must not outlive its lease (another sender would send it again).
LEASE_S = 12.0
BATCH = 128  # rows per claim without a rate limit (a claim's fixed cost is about 10 ms of CPU)
RATE_LIMITED_CLAIM_S = 1.0  # rate limited: a session claims about this many seconds of sending
NO_ANSWER = -1  # Failure.code of a message that never got a server's answer
TEMPLATES = 16  # message templates kept (one per alert and language being sent)
# A session marks its rows "on the wire" in chunks of this many, one chunk ahead of sending (when
# half of the marked ones are sent, the next chunk is asked for), and hands its answers over every
# chunk, so after a kill -9 about three chunks per session come back flagged as possible
# duplicates (marked ahead, and accepted with the ack not stored), not the batch and a half it
# holds. 32, not 16: with 16 the marker's round trip through the writer stalled the sessions
# (bench_email.py, 2 sessions: 253-306 msg/s against 430 before; 32: 425).
MARK_CHUNK = 32
CANCEL_CHECK_S = 1.0  # held rows of a cancelled alert are dropped within about this (and at each mark)


@dataclass(slots=True)
class Work:
    """One claimed e-mail, the unsubscribe token of its member ("" when the member is gone), and
    until when (monotonic) its lease surely holds."""

    row: outbox.ClaimedRow
    token: str
    lease_end: float = 0.0
    marked: bool = False  # the "on the wire" marker is committed: only then may it be sent


@dataclass
class ClaimEmail(WriterJob[list[Work]]):
    """``outbox.claim`` of e-mail rows, marked on the wire, with the members' unsubscribe tokens
    (made on first need) in the same transaction."""

    droppable = True  # a claim that failed is simply asked again
    owner: str
    limit: int
    lease_s: float
    training: bool | None
    asked_at: float  # monotonic time the claim was asked for: its lease began after it

    mark_parts: int = MARK_CHUNK  # the first rows marked in the claim's commit (0: none, marked later)

    def run(self, s: Session) -> list[Work]:
        rows = outbox.claim(
            s,
            self.owner,
            self.limit,
            self.lease_s,
            channel=CHANNEL,
            training=self.training,
            mark_parts=self.mark_parts,
        )
        tokens = tokens_for(s, sorted({r.member_id for r in rows if r.member_id is not None}), utcnow())
        lease_end = self.asked_at + self.lease_s
        return [
            Work(r, tokens.get(r.member_id, "") if r.member_id is not None else "", lease_end, r.on_wire) for r in rows
        ]


@dataclass
class MarkEmail(WriterJob[tuple[list[int], set[int]]]):
    """The next chunk of a session's rows marked "on the wire" (``outbox.mark_on_wire``), after
    closing those of a cancelled alert as 'cancelled'. Result: (ids marked: still ours, alerts
    found cancelled). A row in neither was reaped (another sender's now): never sent."""

    droppable = True  # a mark that failed is asked again; nothing of the chunk goes before
    owner: str
    rows: list[tuple[int, int]]  # (delivery id, alert id)

    def run(self, s: Session) -> tuple[list[int], set[int]]:
        gone = outbox.cancelled_alerts(s, {a for _, a in self.rows})
        dropped = [d for d, a in self.rows if a in gone]
        if dropped:
            outbox.close(s, self.owner, dropped, "cancelled")
        marked = outbox.mark_on_wire(s, self.owner, [d for d, a in self.rows if a not in gone])
        return marked, gone


@dataclass
class SettleEmail(Settle):
    """``Settle`` for e-mail: the acks of one-part deliveries stored in a fixed number of
    statements (``outbox.record_single_part_acks``)."""

    def store_acks(self, s: Session, now: datetime) -> None:
        outbox.record_single_part_acks(s, self.owner, self.acks, now=now)


@dataclass
class Answers:
    """What one session learnt since it last handed its answers over; stored by the port's jobs (``jobs``)."""

    acks: list[outbox.Ack] = field(default_factory=list)
    failures: list[outbox.Failure] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)  # past expires_at while waiting for a pace slot
    settled: list[int] = field(default_factory=list)  # claimed with their one part already acked
    unsent: list[int] = field(default_factory=list)  # never reached DATA: back to the queue, unmarked
    ambiguous: list[int] = field(default_factory=list)  # no answer after the final dot: flagged
    cancelled: list[int] = field(default_factory=list)  # their alert was cancelled while held: closed unsent

    @property
    def answered(self) -> int:
        return len(self.acks) + len(self.failures)

    def __bool__(self) -> bool:
        lists = (self.acks, self.failures, self.expired, self.settled, self.unsent, self.ambiguous, self.cancelled)
        return any(lists)

    def jobs(self, owner: str) -> list[WriterJob]:
        jobs: list[WriterJob] = []
        if self.acks or self.failures or self.expired or self.settled or self.cancelled:
            jobs.append(
                SettleEmail(
                    owner=owner,
                    acks=self.acks,
                    failures=self.failures,
                    expired=self.expired,
                    settled=self.settled,
                    cancelled=self.cancelled,
                )
            )
        if self.ambiguous or self.unsent:
            jobs.append(Release(owner=owner, on_wire=self.ambiguous, unsent=self.unsent, clear_marker=True))
        return jobs


class EmailSender:
    def __init__(
        self,
        db,
        settings: SmtpSettings,
        *,
        password: Secret | None,
        account: str = ACCOUNT,
        batch: int = BATCH,
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
        self._stuck: str | None = None  # why database writes fail, while they do (_writes_stuck)
        self.lease_s = lease_s if lease_s is not None else max(LEASE_S, 2 * settings.timeout)
        self.poll_s = poll_s
        self.flush_s = flush_s
        self.heartbeat_s = heartbeat_s
        self.reconnect_max_s = reconnect_max_s
        self.batch = self._batch_for(batch)
        # ask for the next batch while this many are still to send: unlimited, the claim's commit
        # overlaps the sending; rate limited the pace hides it (and a crash flags one batch at most)
        self.low_water = self.batch // 2 if settings.max_per_minute <= 0 else 0
        self.state = "stopped"
        self.detail = ""
        self._password = password
        self._pacer = Pacer(settings.max_per_minute)
        self._stop = threading.Event()
        self._wakes: list[threading.Event] = []
        self._poked: list[bool] = []
        self._inboxes: list[deque[tuple[WriterJob, object]]] = []
        self._ended: list[bool] = []
        self._threads: list[threading.Thread] = []
        self._writer: DbWriter | None = None
        self._links_up = 0
        self._lock = threading.Lock()

    def _batch_for(self, batch: int) -> int:
        """A rate-limited sender claims only what it sends in about RATE_LIMITED_CLAIM_S, and well
        within the lease."""
        if self.cfg.max_per_minute <= 0:
            return max(1, batch)
        per_s = self.cfg.max_per_minute / 60.0 / self.cfg.connections
        per_lease = per_s * self.lease_s / 2
        return max(1, min(batch, int(per_lease), int(per_s * RATE_LIMITED_CLAIM_S)))

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
        k = self.cfg.connections
        # session numbers 1..k on the writer's jobs (0: a job no session waits for)
        self._wakes = [threading.Event() for _ in range(k + 1)]
        self._poked = [False] * (k + 1)
        self._inboxes = [deque() for _ in range(k + 1)]
        self._ended = [False] * (k + 1)
        writer = self._writer = DbWriter(self.db, lambda: self._route(writer), on_stuck=self._writes_stuck)
        self._threads = [
            threading.Thread(target=self._session, args=(i,), name=f"email-smtp-{i}", daemon=True)
            for i in range(1, k + 1)
        ]
        self._threads.append(threading.Thread(target=self._heartbeat, name="email-status", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        # a session still inside an SMTP command after this stores its answer itself (_submit)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        writer, self._writer = self._writer, None
        if writer is not None:  # stores what the sessions handed over last
            writer.stop(max(10.0, timeout))
        self._set_state("stopped", "")

    def wake(self) -> None:
        for i, w in enumerate(self._wakes):
            self._poked[i] = True
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
        # while the writer's batch keeps failing, that is what the status line must say (nothing
        # is sent meanwhile: the next rows wait for their on-wire markers)
        stuck = self._stuck
        state, detail = ("error", stuck) if stuck else (self.state, self.detail)  # "MAIL OFF: database ..."
        status = WriteStatus(
            account=self.account, state=state, detail=detail, training=self.cfg.training, owner=self.owner
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
            try:
                self._write_status()
                with self.db.write() as s:
                    outbox.reap_expired_leases(s, exclude=self.owner)
            except SQLAlchemyError as exc:
                log.warning("lease reaper: %s", type(exc).__name__)
            except Exception:  # never a silently dead heartbeat (consoles would call this sender dead)
                log.exception("e-mail heartbeat")

    def _link_changed(self, delta: int) -> None:
        with self._lock:
            self._links_up += delta
            up = self._links_up
        if up > 0:
            self._set_state("bound", f"{self._where()}, {up} session(s)")

    # --- the writer ---------------------------------------------------------------------------------

    def _submit(self, jobs: list[WriterJob], session: int) -> None:
        writer = self._writer
        if writer is None or not writer.alive:  # a session that outlived stop()'s wait: store it here
            self._run_now(jobs)
            return
        for job in jobs:
            job.session = session
            writer.submit(job)

    def _run_now(self, jobs: list[WriterJob]) -> None:
        """Answers and releases stored on the calling thread (the writer is gone): retried a few
        times; if the database stays away, ``recover`` brings the rows back (flagged) at the next start."""
        jobs = [j for j in jobs if not isinstance(j, (ClaimEmail, RenewLeases))]
        for attempt in range(1, 6):
            try:
                with self.db.write() as s:
                    for job in jobs:
                        job.run(s)
                return
            except SQLAlchemyError as exc:
                log.error("e-mail outcomes not stored (%s, attempt %d); retrying", type(exc).__name__, attempt)
                time.sleep(min(0.1 * 2**attempt, 2.0))

    def _writes_stuck(self, attempt: int, exc: BaseException) -> None:
        """On the writer thread: its batch keeps failing (nothing is lost, it retries). Written to
        the status row directly (status jobs would queue behind the failing batch) and kept in the
        heartbeat's writes until a batch commits again."""
        self._stuck = f"database writes failing ({exc.__class__.__name__}, {attempt} attempts); retrying, nothing lost"
        log.error("e-mail sender: %s", self._stuck)
        self._write_status()

    def _route(self, writer: DbWriter) -> None:
        """On the writer's thread: each result to the session that asked. A claim answered after
        its session ended goes straight back to the queue. Never raises (the writer would take it
        for a failed commit and run the batch again)."""
        if self._stuck is not None:  # a batch committed: the database takes writes again
            self._stuck = None
            self._write_status()
        try:
            for job, result in writer.results():
                n = job.session
                if not 0 < n < len(self._inboxes):
                    continue
                if self._ended[n]:
                    if isinstance(job, ClaimEmail) and isinstance(result, list) and result:
                        ids = [w.row.delivery_id for w in result]
                        writer.submit(Release(owner=self.owner, unsent=ids, clear_marker=True))
                    continue
                self._inboxes[n].append((job, result))
                self._wakes[n].set()
        except Exception:
            log.exception("e-mail sender: a database result could not be handed on")

    # --- one SMTP session ---------------------------------------------------------------------------

    def _session(self, n: int) -> None:
        """One session, restarted with back-off after an unexpected exception: never a thread
        that died silently while the heartbeat says the channel is fine."""
        failures = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._run_session(n)
                return
            except Exception as exc:
                log.exception("e-mail session %d failed", n)
                failures = 1 if time.monotonic() - started > 60.0 else failures + 1
                delay = self._backoff(failures)
                self._set_state("error", f"session {n}: {type(exc).__name__}: {exc}; restart in {delay:.0f} s")
                if self._stop.wait(delay):
                    return
                self._ended[n] = False  # _finish released what it held; a late claim is routed to it again
                if self.state == "error":
                    self._link_changed(0)  # "bound" while another session is up
                    if self._links_up <= 0:
                        self._set_state("idle", self._where())

    def _run_session(self, n: int) -> None:
        link = SmtpLink(self.cfg, self._password)
        held: deque[Work] = deque()
        out = Answers()
        inbox, wake = self._inboxes[n], self._wakes[n]
        claiming = renewing = marking = checking = False
        next_claim = 0.0  # monotonic: no claim before (after an empty or refused one)
        last_flush = last_renew = last_check = time.monotonic()
        next_mark = 0.0  # monotonic: no mark before (after a failed one)
        slot: float | None = None  # the pace slot reserved for the next message (monotonic)
        failures = 0
        templates: OrderedDict[tuple[int, str, str], MessageTemplate] = OrderedDict()
        try:
            while not self._stop.is_set():
                # 1. what the writer answered
                while inbox:
                    job, result = inbox.popleft()
                    if isinstance(job, ClaimEmail):
                        claiming = False
                        if isinstance(result, BaseException):
                            log.warning("e-mail claim failed (%s); retrying", type(result).__name__)
                            next_claim = time.monotonic() + self.poll_s
                        elif not result:
                            next_claim = time.monotonic() + self.poll_s
                        else:
                            assert isinstance(result, list)
                            if not held:
                                last_renew = time.monotonic()
                            for work in result:
                                if work.row.parts_to_send():
                                    held.append(work)
                                else:  # the relay took it, the state change was lost (reaped before it was stored)
                                    out.settled.append(work.row.delivery_id)
                    elif isinstance(job, RenewLeases):
                        renewing = False
                        if isinstance(result, BaseException):
                            log.warning("e-mail lease renewal failed (%s); retrying", type(result).__name__)
                            last_renew = time.monotonic() - self.lease_s / 3 + min(1.0, self.lease_s / 12)
                        else:
                            assert isinstance(result, list)
                            held = self._renewed(held, job, result)
                    elif isinstance(job, MarkEmail):
                        marking = False
                        if isinstance(result, BaseException):
                            log.warning("e-mail on-wire marker failed (%s); retrying", type(result).__name__)
                            next_mark = time.monotonic() + min(1.0, self.poll_s)
                        else:
                            assert isinstance(result, tuple)
                            held = self._marked(held, job, result[0], result[1], out)
                    elif isinstance(job, CheckCancelled):
                        checking = False
                        if isinstance(result, set) and result:
                            held = self._drop_cancelled(held, result, out)
                if self._poked[n]:
                    self._poked[n] = False
                    next_claim = 0.0
                now = time.monotonic()
                # 2. the next batch, asked for while this one is still being sent
                if not claiming and len(held) <= self.low_water and now >= next_claim:
                    # a batch that starts at once is marked (and so checked for a cancel) by its own
                    # claim; one that waits behind the held rows gets its marks (and checks) in turn
                    claim = self._claim_job(mark_parts=0 if held else MARK_CHUNK)
                    self._submit([*out.jobs(self.owner), claim], n)
                    out = Answers()
                    last_flush = now
                    claiming = True
                if not held:
                    if out:
                        self._submit(out.jobs(self.owner), n)
                        out = Answers()
                    wait = self.poll_s if claiming else max(0.0, min(self.poll_s, next_claim - now))
                    wake.wait(wait)
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
                        self._submit(out.jobs(self.owner), n)
                        out = Answers()
                        next_claim = time.monotonic() + delay
                        self._stop.wait(delay)
                        continue
                    failures = 0
                    self._link_changed(+1)
                # 3. answers to the writer, leases renewed, cancellations looked up, the next chunk marked
                now = time.monotonic()
                # answers too go every chunk: an accepted mail whose ack is not stored at a kill -9
                # is sent again (flagged), so what is unstored stays about one chunk, as the markers
                if out and (out.answered >= MARK_CHUNK or now - last_flush >= self.flush_s):
                    self._submit(out.jobs(self.owner), n)
                    out = Answers()
                    last_flush = now
                renew = not renewing and now - last_renew >= self.lease_s / 3
                if renew:
                    ids = [w.row.delivery_id for w in held]
                    renewal = RenewLeases(owner=self.owner, delivery_ids=ids, lease_s=self.lease_s, asked_at=now)
                    self._submit([renewal], n)
                    renewing = True
                    last_renew = now
                if not checking and (renew or now - last_check >= CANCEL_CHECK_S):
                    self._submit([CheckCancelled(alert_ids={w.row.alert_id for w in held})], n)
                    checking = True
                    last_check = now
                if not marking and now >= next_mark:
                    chunk = self._next_chunk(held)
                    if chunk:
                        self._submit([MarkEmail(owner=self.owner, rows=chunk)], n)
                        marking = True
                work = held[0]
                row = work.row
                if row.expires_at is not None and utcnow() >= row.expires_at:
                    held.popleft()
                    out.expired.append(row.delivery_id)  # never sent late
                    continue
                if not work.marked or work.lease_end - now < self.lease_s / 2:
                    # not marked yet, or not renewed in time (the database is behind): another sender
                    # may take it once the lease runs out, so nothing of it goes before the answer is back
                    wake.wait(0.1)
                    wake.clear()
                    continue
                # 4. its pace slot: waited for here, so leases, marks and cancellations go on meanwhile
                if slot is None:
                    slot = self._pacer.reserve()
                wait = slot - time.monotonic()
                if wait > 0:
                    wake.wait(min(wait, self.lease_s / 6))
                    wake.clear()
                    continue
                slot = None
                try:
                    check_address(row.address)  # before anything is built or written
                    template = self._template(templates, row)
                    data = template.render(
                        delivery_id=row.delivery_id,
                        to_addr=row.address,
                        token=work.token,
                        possible_duplicate=row.possible_duplicate,
                    )
                    answer = link.send(self.cfg.from_addr, row.address, data)
                except LinkDown as exc:
                    held.popleft()
                    (out.ambiguous if exc.ambiguous else out.unsent).append(row.delivery_id)
                    self._link_changed(-1)
                    self._set_state("reconnecting", f"{self._where()}: {exc}")
                    self._submit(out.jobs(self.owner), n)
                    out = Answers()
                    last_flush = time.monotonic()
                    failures += 1
                    self._stop.wait(min(self._backoff(failures), 2.0))
                    continue
                except NoAnswer as exc:  # it may be in: retried as a flagged possible duplicate
                    held.popleft()
                    log.warning("e-mail delivery %d: %s", row.delivery_id, exc)
                    self._retry_unanswered(row, str(exc), out)
                    self._link_changed(-1)
                    continue
                except Exception as exc:  # this one message: a permanent failure, the others go on
                    held.popleft()
                    reason = str(exc) if isinstance(exc, Unsendable) else f"cannot be sent: {type(exc).__name__}: {exc}"
                    log.warning("e-mail delivery %d not sent: %s", row.delivery_id, reason)
                    out.failures.append(outbox.Failure(row.delivery_id, NO_ANSWER, reason[:500], True))
                    if not isinstance(exc, Unsendable) and link.connected:
                        link.abandon()  # where the exchange stopped is unknown: a fresh session
                        self._link_changed(-1)
                    continue
                held.popleft()
                self._classify(row, template.message_id(row.delivery_id, work.token), answer, out)
        finally:
            self._finish(n, held, out, claiming)
            if link.connected:
                self._link_changed(-1)
            link.close()

    def _next_chunk(self, held: deque[Work]) -> list[tuple[int, int]]:
        """The next MARK_CHUNK unmarked rows, once no more than half a chunk of marked ones is
        left to send (the marker's commit is back before they are needed)."""
        ahead = 0
        chunk: list[tuple[int, int]] = []
        for w in held:
            if w.marked:
                ahead += 1
                if ahead > MARK_CHUNK // 2:
                    return []
            else:
                chunk.append((w.row.delivery_id, w.row.alert_id))
                if len(chunk) >= MARK_CHUNK:
                    break
        return chunk

    def _marked(
        self, held: deque[Work], job: MarkEmail, marked: list[int], gone: set[int], answers: Answers
    ) -> deque[Work]:
        """Held rows after a mark: the marked ones may go; the chunk's rows of a cancelled alert
        were closed by the mark, the others it did not mark were reaped (another sender's now)."""
        asked, ok = {d for d, _ in job.rows}, set(marked)
        out: deque[Work] = deque()
        for w in held:
            if w.row.delivery_id in asked:
                if w.row.delivery_id not in ok:
                    continue
                w.marked = True
            out.append(w)
        return self._drop_cancelled(out, gone, answers) if gone else out

    def _drop_cancelled(self, held: deque[Work], gone: set[int], out: Answers) -> deque[Work]:
        """Held rows of a cancelled alert are not sent: closed as 'cancelled' with the next answers."""
        kept: deque[Work] = deque()
        for w in held:
            if w.row.alert_id in gone:
                out.cancelled.append(w.row.delivery_id)
                continue
            kept.append(w)
        return kept

    def _finish(self, n: int, held: deque[Work], out: Answers, claiming: bool) -> None:
        """A session ends: its answers and the rows it still holds (and a claim still with the
        writer, once answered) go back to the writer."""
        deadline = time.monotonic() + 5.0
        inbox, wake = self._inboxes[n], self._wakes[n]
        while claiming and self._writer is not None and time.monotonic() < deadline:
            while inbox:
                job, result = inbox.popleft()
                if isinstance(job, ClaimEmail):
                    claiming = False
                    if isinstance(result, list):
                        held.extend(result)
            if claiming:
                wake.wait(0.1)
                wake.clear()
        self._ended[n] = True  # a claim answered from now on is released by _route
        while inbox:  # answered between the last look and the flag
            job, result = inbox.popleft()
            if isinstance(job, ClaimEmail) and isinstance(result, list):
                held.extend(result)
        out.unsent.extend(w.row.delivery_id for w in held)
        if out:
            self._submit(out.jobs(self.owner), n)

    def _claim_job(self, mark_parts: int = MARK_CHUNK) -> ClaimEmail:
        return ClaimEmail(
            owner=self.owner,
            limit=self.batch,
            lease_s=self.lease_s,
            training=self.cfg.training,
            asked_at=time.monotonic(),
            mark_parts=mark_parts,
        )

    def _renewed(self, held: deque[Work], job: RenewLeases, kept: list[int]) -> deque[Work]:
        """Held rows after a renewal: the renewed ones hold a new lease, the ones it did not return
        were reaped (another sender's now: dropped); rows claimed since keep theirs."""
        asked, mine = set(job.delivery_ids), set(kept)
        lease_end = job.asked_at + self.lease_s
        out: deque[Work] = deque()
        for w in held:
            if w.row.delivery_id in asked:
                if w.row.delivery_id not in mine:
                    continue
                w.lease_end = max(w.lease_end, lease_end)
            out.append(w)
        return out

    def _template(self, cache: OrderedDict[tuple[int, str, str], MessageTemplate], row: outbox.ClaimedRow):
        """The message of the row's alert in its language, built once (a session's own cache)."""
        language = row.language or "nl"  # the member is gone: the console's first language
        key = (row.alert_id, language, row.text)
        template = cache.get(key)
        if template is None:
            template = cache[key] = MessageTemplate(self.cfg, alert_id=row.alert_id, text=row.text, language=language)
            while len(cache) > TEMPLATES:
                cache.popitem(last=False)
        return template

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

    def _retry_unanswered(self, row: outbox.ClaimedRow, reason: str, out: Answers) -> None:
        """Like a 4xx (retried with back-off until max_attempts), but flagged: it may have gone out."""
        if row.attempts < self.cfg.max_attempts:
            delay = min(self.cfg.retry_initial_s * 2 ** (row.attempts - 1), self.cfg.retry_max_s)
            retry_at = utcnow() + timedelta(seconds=delay)
            out.failures.append(outbox.Failure(row.delivery_id, NO_ANSWER, reason[:500], False, retry_at, True))
        else:
            reason = f"gave up after {row.attempts} attempts: {reason}"
            out.failures.append(outbox.Failure(row.delivery_id, NO_ANSWER, reason[:500], True, None, True))

    def _backoff(self, failures: int) -> float:
        return min(self.reconnect_max_s, 0.5 * 2 ** min(failures, 10)) * random.uniform(0.8, 1.2)
