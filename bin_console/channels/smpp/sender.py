"""The SMS sender: one thread owns one smpplib Client and drains the outbox over SMPP.

Embedded in the console (``SenderRunner``) or run alone by ``bin-console sender`` (``cmd_sender``)
for control rooms where several consoles share one database. Design: shared notes/smpplib.md §4.

Two threads per runner: the SMPP thread (select() on the socket and a wake socketpair; the only
code that touches the Client) and a database writer (bin_console/alerts/outbox_writer.py) that commits
its work in batches, so an fsync never idles the send window. Per loop iteration:
  1. ask the writer for more rows when the in-memory queue runs low (every poll_interval, on
     wake(), and at once while claims come back full); holding nothing, a small claim whose
     first window of parts comes back marked on-wire in the claim's own commit (first submit);
  2. ask it to mark the next deliveries "on the wire" (delivery.submitted_at): a part is only
     sent once its delivery's marker is committed, and markers are only asked for while the
     parts "exposed" (marker asked for, ack not yet committed) stay within ``window``;
  3. pick the parts to send: at most ``window`` submit_sm outstanding, paced to ``max_tps``
     parts/s, not while throttled; write them with one sendall;
  4. read every PDU that is ready (one buffered recv after select() says readable); acks go to the
     writer at once when no earlier batch of them is still committing (group commit: the ones
     that arrive meanwhile go in the next); receipts and replies go at once and their
     deliver_sm_resp is sent only when the writer has stored them (ESME_RX_T_APPN if it could not,
     so the SMSC redelivers). The select() waits only for what can happen: while the bound or
     a claim holds things up, the writer's answer wakes the thread (it never spins).
Link loss (EOF, error, SMSC unbind, no submit_sm_resp within response_timeout, no answer to our
enquire_link): in-flight parts go back to the queue flagged possible_duplicate, a NEW Client is
made after a capped exponential back-off with jitter. A crash at any point loses nothing: rows
are leased, and the lease runs out unrenewed, so any sender requeues them (``outbox.claim``),
flagged when their marker is set and not all parts are acked. Because of the exposure bound a
kill -9 re-sends at most ``window`` parts and flags at most ``window`` deliveries, and every real
duplicate is among the flagged rows.
"""

from __future__ import annotations

import itertools
import logging
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bin_console.alerts import outbox, outbox_jobs
from bin_console.alerts.outbox_jobs import (
    CheckCancelled,
    Claim,
    Housekeeping,
    MarkOnWire,
    ReapExpiredLeases,
    Release,
    RenewLeases,
    Settle,
    WriterJob,
    WriteStatus,
)
from bin_console.alerts.outbox_writer import DbWriter
from bin_console.channels.smpp.deliver_sm import DEAD_AFTER, ReceiptPdu, ReplyPdu, StoreDeliverSm
from bin_console.channels.smpp.flow import FlowControl
from bin_console.channels.smpp.link import SmppLink
from bin_console.channels.smpp.mo import concat_from_pdu
from bin_console.channels.smpp.payload import PartCountMismatch, SmsWork, build
from bin_console.channels.smpp.receipts import is_receipt, parse_receipt
from bin_console.channels.smpp.status import classify, status_meaning
from bin_console.channels.smpp.submit_sm import destination, encode_submit_sm, source_fields, validity_for
from bin_console.channels.smpp.supervisor import LinkLost, Supervisor
from bin_console.config import SmppSettings
from bin_console.data.engine import Database
from bin_console.data.models import SenderStatus, utcnow
from bin_console.trust.credentials import Secret

log = logging.getLogger("bin_console.channels.smpp.sender")

ESME_RX_T_APPN = 0x64
NO_ANSWER = -1  # error_code for "no submit_sm_resp"
DEFAULT_LEASE_S = 12.0
PROBE_SILENCE_S = 1.0  # parts in flight and nothing heard for this long: send an enquire_link
THROTTLED_SHOWN_S = 2.0  # the state says "throttled" this long after the last throttle answer
FIRST_CLAIM_WINDOWS = 4  # a claim while holding nothing takes this many windows of rows

_runner_ids = itertools.count()


class _Item:
    """One claimed delivery while the sender holds it."""

    __slots__ = ("item", "unsent", "inflight", "acked", "outcome", "on_wire", "to_send", "leased_at")

    def __init__(self, item: SmsWork, leased_at: float, parts: list[int]) -> None:
        self.item = item
        # monotonic time before the last committed claim/renewal of its lease began: sending
        # stops when that is older than the lease minus a margin (another sender may reap it)
        self.leased_at = leased_at
        self.to_send = len(parts)
        self.unsent = len(parts)
        self.inflight = 0
        self.acked = 0
        # Failure | "expired" | "cancelled" | "lost" (no longer leased to us: nothing to write)
        self.outcome: outbox.Failure | str | None = None
        self.on_wire = False


def _nothing_sent(st: _Item) -> bool:
    """No part of it accepted or awaiting an answer: cancelling it sends nobody half a message.
    Not ``not st.on_wire``: the on-wire marker is committed ahead of sending (by the claim or
    MarkOnWire), and a marked row may wait minutes for a full window or a throttling SMSC."""
    return st.acked == 0 and st.inflight == 0 and st.unsent == st.to_send


@dataclass
class _Part:
    st: _Item
    part_no: int
    order: int  # original queue order: throttled parts go back to the head in this order


@dataclass
class _Buffers:
    """What the read loop learnt and the next transaction must store."""

    acks: list[outbox.Ack] = field(default_factory=list)
    failures: list[outbox.Failure] = field(default_factory=list)
    closed: list[tuple[str, int]] = field(default_factory=list)  # ("expired"|"cancelled", delivery_id)
    receipts: list[ReceiptPdu] = field(default_factory=list)
    replies: list[ReplyPdu] = field(default_factory=list)
    dsm_fps: dict[int, bytes] = field(default_factory=dict)  # seq -> fingerprint, every deliver_sm awaiting its resp
    settle: list[int] = field(default_factory=list)  # claimed rows whose parts were all acked already

    def __bool__(self) -> bool:
        return bool(self.acks or self.failures or self.closed or self.dsm_fps or self.settle)


class SenderRunner:
    """Owns one smpplib client in one thread; nothing else touches it."""

    def __init__(
        self,
        db: Database,
        smpp_settings: SmppSettings,
        *,
        password: Secret | None = None,
        account: str = "default",
        owner: str | None = None,
        lease_s: float | None = None,
        poll_interval: float = 0.5,
        heartbeat_s: float = 3.0,
        config_retry_s: float = 60.0,
        retry_delay_s: float = 30.0,
        max_attempts: int = 5,
        claim_batch: int | None = None,
        resend_bound: int | None = None,
        drain_timeout: float = 2.0,
    ) -> None:
        self.db = db
        self.cfg = smpp_settings
        self._password = password
        self.account = account
        n = next(_runner_ids)
        self.owner = owner or outbox.new_owner_id(account if n == 0 else f"{account[:6]}{n}")
        # Short leases, renewed every lease_s/4 while this sender lives: a row is only ever taken
        # over once its lease ran out unrenewed, so a crashed sender's rows come back within
        # ~lease_s and a live one's never (its id is unique per start; nothing is read from PIDs)
        self.lease_s = lease_s if lease_s is not None else DEFAULT_LEASE_S
        self.poll_interval = poll_interval
        self.heartbeat_s = heartbeat_s
        self.config_retry_s = config_retry_s
        self.retry_delay_s = retry_delay_s
        self.max_attempts = max_attempts
        self.window = max(1, int(smpp_settings.window))
        # parts a crash may re-send (sent, not refused, ack not committed); also how far markers
        # run ahead. The window by default (the bound); larger trades duplicates after a
        # crash for throughput when commits are slow (benchmarks/bench_send.py shows both)
        self.resend_bound = max(1, resend_bound or self.window)
        self.claim_batch = claim_batch or max(100, self.window * 10)
        self.drain_timeout = drain_timeout
        # renewals run every lease_s/4; sending pauses once the last committed one is older than
        # lease_s minus this margin, well before another sender's reaper can take the rows
        self._lease_margin = max(1.0, self.lease_s / 3)
        # unresolved receipt orphans are retried this often (another sender's ack may have
        # committed after its own re-match ran)
        self.orphan_every_s = 30.0
        self._next_orphans = 0.0
        self.state = "stopped"
        self.detail = ""
        self.stats = {"parts_sent": 0, "parts_acked": 0, "throttled": 0, "link_losses": 0, "binds": 0, "failures": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        # the writer thread's "results ready" signal: separate, so it does not count as wake()
        self._res_r, self._res_w = socket.socketpair()
        self._res_r.setblocking(False)
        self._res_w.setblocking(False)
        self._last_status_write = 0.0
        self._dsm_failures: dict[bytes, int] = {}  # deliver_sm fingerprint -> times refused
        self._session = 0  # bumped by _reset_session: stamps writer jobs (see _take_results)
        self._writer: DbWriter | None = None
        self._reset_session()

    # --- public -------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        with self.db.write() as s:
            n = outbox.recover(s, self.owner)
        if n:
            log.warning("requeued %d delivery(ies) left in flight by an earlier run", n)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sms-sender-{self.account}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Graceful: stop sending, wait briefly for outstanding resps, unbind, disconnect."""
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._thread = None

    def wake(self) -> None:
        """New work was queued: poll the database now, not at the next poll interval."""
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (already woken) or closed
            pass

    def _results_ready(self) -> None:
        try:
            self._res_w.send(b"\0")
        except OSError:
            pass

    @property
    def rate_tps(self) -> float | None:
        """The send rate the flow control settled on (parts/s), None while unpaced."""
        return self._flow.shown_rate()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- status -------------------------------------------------------------------------------------

    def _set_state(self, state: str, detail: str = "", *, force: bool = False) -> None:
        changed = (state, detail) != (self.state, self.detail)
        if changed:
            lvl = logging.ERROR if state == "config_error" else logging.INFO
            log.log(lvl, "SMPP link %s:%s %s%s", self.cfg.host, self.cfg.port, state, f": {detail}" if detail else "")
        self.state, self.detail = state, detail
        if changed or force or time.monotonic() - self._last_status_write >= self.heartbeat_s:
            self._write_status()

    def _status_job(self) -> WriteStatus:
        return WriteStatus(
            account=self.account,
            state=self.state,
            detail=self.detail[:200],
            training=self.cfg.training,
            owner=self.owner,
            rate_tps=self.rate_tps,
        )

    def _write_status(self) -> None:
        job = self._status_job()
        if self._writer is not None and self._writer.alive:
            # through the writer: a slow or locked database (BEGIN IMMEDIATE) must never stall the
            # SMPP thread, or sending and enquire_link answers would stop with it
            self._submit(job)
            self._last_status_write = time.monotonic()
            return
        try:
            with self.db.write() as s:
                outbox_jobs.write_status(s, job)
            self._last_status_write = time.monotonic()
        except SQLAlchemyError as exc:
            log.warning("cannot write sender status: %s", exc.__class__.__name__)

    def _writes_stuck(self, attempt: int, exc: BaseException) -> None:
        """On the writer thread: its batch keeps failing (nothing is lost, it retries). Shown in
        sender_status directly, since status jobs queue behind the failing batch."""
        detail = f"database writes failing ({exc.__class__.__name__}, {attempt} attempts); retrying, nothing lost"
        log.error("%s", detail)
        with self.db.write() as s:
            row = s.get(SenderStatus, self.account)
            if row is not None:
                row.detail = detail[:200]
                row.updated_at = utcnow()

    # --- thread -------------------------------------------------------------------------------------

    def _run(self) -> None:
        self._writer = DbWriter(self.db, self._results_ready, on_stuck=self._writes_stuck)
        supervisor = Supervisor(
            self.cfg, self._password, _Hooks(self), config_retry_s=self.config_retry_s, stats=self.stats
        )
        try:
            supervisor.run(self._stop)
        except Exception:  # never die silently: the console shows the state
            log.exception("SMS sender crashed")
            self.detail = "sender crashed (see log)"
        finally:
            self._writer.stop()
            self._set_state("stopped", "" if self._stop.is_set() else self.detail, force=True)

    def _idle(self, delay: float) -> None:
        """Wait without a link: keep expiring stale alerts and the heartbeat going."""
        end = time.monotonic() + delay
        next_house = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= end:
                return
            if now >= next_house:
                next_house = now + 1.0
                try:
                    with self.db.write() as s:
                        n = outbox.expire_due(s, channel="sms")
                    if n:
                        log.warning("%d delivery(ies) expired before they could be sent", n)
                except SQLAlchemyError as exc:
                    log.warning("database unavailable: %s", exc.__class__.__name__)
                self._set_state(self.state, self.detail)
            self._wait_wake(min(end - now, next_house - now, self.poll_interval))

    def _wait_wake(self, timeout: float) -> bool:
        r, _, _ = select.select([self._wake_r], [], [], max(0.0, timeout))
        if r:
            self._drain_wake()
            return True
        return False

    def _drain_wake(self) -> None:
        self._drain(self._wake_r)

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        try:
            while sock.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    # --- one session ----------------------------------------------------------------------------------

    def _reset_session(self) -> None:
        self._session += 1
        self._pending: deque[_Part] = deque()
        # window, pacing, throttle response, in-flight table (sequence -> part) and deadlines
        self._flow: FlowControl[_Part] = FlowControl(
            window=self.window,
            max_tps=float(self.cfg.max_tps or 0),
            response_timeout=float(self.cfg.response_timeout),
            started=time.monotonic(),
        )
        self._throttled_at = 0.0  # last throttle answer: the state shows "throttled" for a while
        self._items: dict[int, _Item] = {}
        self._unmarked: deque[_Item] = deque()  # claimed, not yet marked on-wire, in claim order
        # delivery id -> its parts "exposed": sent, and neither refused nor their ack committed.
        # After a crash exactly these may reach members twice, so their sum (_exposure) is kept
        # below the window: a part is only sent while _exposure < window.
        self._exposed: dict[int, int] = {}
        self._exposure = 0
        # deliveries whose marker is asked for or committed: markers run at most a window of
        # unsent parts ahead of sending (the commit is hidden, and few unsent rows get flagged)
        self._marked: set[int] = set()
        self._settles_inflight = 0  # Settle jobs not answered yet (group commit of acks)
        self._buf = _Buffers()
        self._order = itertools.count()
        self._throttled: list[_Part] = []
        self._src_cache: dict[str, dict] = {}
        self._claim_inflight = False
        self._more_waiting = False
        self._lease_paused = False
        self._cancel_inflight = False
        self._marks_inflight = False
        self._next_claim = 0.0
        self._db_retry_at = 0.0

    def _serve(self, client: SmppLink) -> None:
        self._reset_session()
        cfg = self.cfg
        sock = client.socket
        response_timeout = float(cfg.response_timeout)
        enquire_every = float(cfg.enquire_link_interval)
        enquire_timeout = float(cfg.enquire_link_timeout)
        now = time.monotonic()
        last_rx = now
        enquire_deadline: float | None = None
        next_house = now + 1.0
        next_renew = now + self.lease_s / 4
        next_reap = now + self.lease_s / 2
        draining_until: float | None = None
        woken = True
        while True:
            now = time.monotonic()
            self._take_results(client)
            if self._stop.is_set() and draining_until is None:
                draining_until = now + self.drain_timeout
            if draining_until is not None and (not self._flow.in_flight or now >= draining_until):
                return
            draining = draining_until is not None
            # 1. claim (the writer thread runs it; the items come back through _take_results):
            # at every poll tick / wake(), and at once while the last claim came back full
            if not draining and not self._claim_inflight and now >= self._db_retry_at:
                due = self._more_waiting
                if woken or now >= self._next_claim:
                    woken = False
                    due = True
                    self._next_claim = now + self.poll_interval
                    self._check_cancelled()
                if due and len(self._pending) < self.claim_batch:  # parts left: keep ~2 batches ahead
                    self._more_waiting = False
                    self._claim_inflight = True
                    self._submit(self._claim_job(now))
            # housekeeping
            if now >= next_house:
                next_house = now + 1.0
                self._housekeeping(renew=now >= next_renew, reap=now >= next_reap)
                if now >= next_renew:
                    next_renew = now + self.lease_s / 4
                if now >= next_reap:
                    next_reap = now + self.lease_s / 2
            # supervision
            if self._flow.overdue(now):
                raise LinkLost(f"no submit_sm_resp within {response_timeout:g} s")
            if enquire_deadline is not None and now > enquire_deadline:
                raise LinkLost(f"no answer to enquire_link within {enquire_timeout:g} s")
            # a link that went silent while parts wait for answers is probed at once: a blackholed
            # link (no FIN, no RST) is then found within PROBE_SILENCE_S + enquire_link_timeout,
            # not after the whole response_timeout (30 s) with sending stalled
            probe_after = min(enquire_every, PROBE_SILENCE_S) if self._flow.in_flight else enquire_every
            if enquire_deadline is None and now - last_rx >= probe_after:
                self._io(client.send_enquire_link)
                enquire_deadline = now + enquire_timeout
            # 2. hand decided rows and acks to the writer (group commit: see _flush); markers
            # ahead of the send position go with them, in the same commit (a commit is the
            # scarce resource: one fsync each). Alone only when no commit is under way.
            self._flush(force=draining)
            if not self._settles_inflight:
                self._request_marks()
            # 4. send what the window, the rate and the markers allow
            if not draining:
                if self.state == "throttled" and now - self._throttled_at > THROTTLED_SHOWN_S:
                    self._set_state("bound", "")
                self._send_ready(client, now)
            # 5. wait and read
            # Never a zero timeout for something that cannot happen yet: a claim under way, a
            # full exposure (room comes with a commit: the writer's result wakes us), a paused
            # lease. A spinning SMPP thread takes the GIL and a core from the writer it waits for.
            timeout = self.poll_interval
            if not draining:
                if not self._claim_inflight:
                    timeout = min(timeout, max(0.0, max(self._next_claim, self._db_retry_at) - now))
                if self._may_send_head():
                    timeout = min(timeout, self._flow.next_send_at(now) - now)
            if enquire_deadline is not None:
                timeout = min(timeout, max(0.0, enquire_deadline - now))
            elif self._flow.in_flight:
                timeout = min(timeout, max(0.0, last_rx + PROBE_SILENCE_S - now))
            timeout = min(timeout, max(0.0, self._flow.response_deadline() - now))
            try:
                r, _, _ = select.select([sock, self._wake_r, self._res_r], [], [], timeout)
            except (OSError, ValueError) as exc:
                raise LinkLost(f"socket error: {exc.__class__.__name__}") from None
            if self._wake_r in r:
                self._drain_wake()
                woken = True
            if self._res_r in r:
                self._drain(self._res_r)
            if sock in r:
                try:
                    pdus = client.read_ready()  # one recv, every complete PDU in it
                except Exception as exc:  # EOF, reset, garbage: the stream is unusable
                    raise LinkLost(f"read failed: {exc.__class__.__name__}") from None
                if pdus:
                    last_rx = time.monotonic()
                    enquire_deadline = None
                for pdu in pdus:
                    self._dispatch(client, pdu, last_rx)
                self._requeue_throttled()
                self._flush_deliver_sm()

    # --- the writer's jobs and results ---------------------------------------------------------------

    def _claim_job(self, asked_at: float) -> Claim:
        # Holding nothing (a new alert): a small first claim whose first rows come back marked
        # on-wire in the claim's own commit, so the first submit_sm waits for one commit of a
        # few rows, not a claim of claim_batch rows and then a marker commit. Nothing else can be
        # marked meanwhile (no rows held), so markers still run at most resend_bound parts ahead.
        idle = not self._items
        return Claim(
            owner=self.owner,
            limit=min(self.claim_batch, FIRST_CLAIM_WINDOWS * self.window) if idle else self.claim_batch,
            lease_s=self.lease_s,
            channel="sms",
            training=self.cfg.training,
            asked_at=asked_at,
            mark_parts=self.resend_bound if idle else 0,
        )

    def _request_marks(self) -> None:
        """Ask the writer to mark the next deliveries on-wire while the marked, unsent parts stay
        within one window (one delivery larger than the whole window goes alone)."""
        if self._marks_inflight:
            return
        live = {d for d in self._marked if (st := self._items.get(d)) and st.outcome is None and st.unsent}
        self._marked = live
        ahead = sum(self._items[d].unsent for d in live)
        room = self.resend_bound - ahead
        ids: list[int] = []
        while self._unmarked:
            st = self._unmarked[0]
            if st.outcome is not None or st.on_wire:
                self._unmarked.popleft()
                continue
            n = st.unsent
            if n > room and (ids or ahead):
                break
            self._unmarked.popleft()
            ids.append(st.item.delivery_id)
            self._marked.add(st.item.delivery_id)
            room -= n
        if ids:
            self._marks_inflight = True
            self._submit(MarkOnWire(owner=self.owner, delivery_ids=ids))

    def _expose(self, delivery_id: int, parts: int) -> None:
        self._exposed[delivery_id] = self._exposed.get(delivery_id, 0) + parts
        self._exposure += parts

    def _unexpose(self, delivery_id: int, parts: int | None = None) -> None:
        """`parts` None: all of the delivery's (it is settled, failed, closed or lost)."""
        have = self._exposed.get(delivery_id, 0)
        n = have if parts is None else min(parts, have)
        if have - n <= 0:
            self._exposed.pop(delivery_id, None)
        else:
            self._exposed[delivery_id] = have - n
        self._exposure -= n

    def _flush(self, *, force: bool = False) -> None:
        """Hand acks and decided rows to the writer: at once when no earlier batch is still
        committing, else with the next (`force`: now, e.g. before the receipts that follow)."""
        buf = self._buf
        if not (buf.acks or buf.failures or buf.closed or buf.settle):
            return
        if self._settles_inflight and not force:
            return
        job = Settle(
            owner=self.owner,
            acks=buf.acks,
            failures=buf.failures,
            expired=[d for st, d in buf.closed if st == "expired"],
            cancelled=[d for st, d in buf.closed if st == "cancelled"],
            settled=buf.settle,
        )
        buf.acks, buf.failures, buf.closed, buf.settle = [], [], [], []
        self._settles_inflight += 1
        self._submit(job)
        self._request_marks()

    def _on_settled(self, job: Settle) -> None:
        """Committed: those acks no longer need re-sending after a crash, so new parts may go."""
        self._settles_inflight -= 1
        for a in job.acks:
            self._unexpose(a.delivery_id, 1)
        for d in (*(f.delivery_id for f in job.failures), *job.expired, *job.cancelled, *job.settled):
            self._unexpose(d)

    def _flush_deliver_sm(self) -> None:
        """Receipts and replies: stored by the writer; their deliver_sm_resp goes out when it answers."""
        buf = self._buf
        if not buf.dsm_fps:
            return
        # acks first (same writer batch, no extra commit): a receipt usually follows its
        # submit_sm_resp closely and would otherwise be parked as an orphan and matched later
        self._flush(force=True)
        job = StoreDeliverSm(receipts=buf.receipts, replies=buf.replies, fingerprints=buf.dsm_fps)
        buf.receipts, buf.replies, buf.dsm_fps = [], [], {}
        self._submit(job)

    @property
    def _live_writer(self) -> DbWriter:
        """The writer _run started: the SMPP-thread methods using it only run inside _run."""
        if self._writer is None:
            raise RuntimeError("the sender thread is not running")
        return self._writer

    def _submit(self, job: WriterJob) -> None:
        job.session = self._session
        self._live_writer.submit(job)

    def _take_results(self, client: SmppLink | None) -> None:
        """Apply every writer result first, answer the deliver_sm afterwards: a failing write to
        the SMSC (LinkLost) must never skip a result, or a claim's rows would stay leased to us."""
        answers: list[tuple[list[int], set[int]]] = []
        res: Any  # what the job's kind returns (rows, ids, seqs) or the exception it raised
        for job, res in self._live_writer.results():
            failed = isinstance(res, BaseException)
            if job.session != self._session:
                # from a session that has ended: its items are gone. Claimed rows go back to the
                # queue (never sent); unanswered deliver_sm are redelivered by the SMSC.
                if isinstance(job, Claim) and not failed and res:
                    self._release_stale([row.delivery_id for row in res])
                continue
            if isinstance(job, Claim):
                self._claim_inflight = False
                if failed:
                    self._db_retry_at = time.monotonic() + 1.0
                    continue
                for row in res:
                    self._add_item(row, job.asked_at)
                if len(res) >= job.limit:
                    self._more_waiting = True  # claim again as soon as there is room
            elif isinstance(job, Settle):
                if failed:  # only when stopping for good: the rows stay leased until recovery
                    self._settles_inflight -= 1
                else:
                    self._on_settled(job)
            elif isinstance(job, MarkOnWire):
                self._on_marked(job, None if failed else set(res))
            elif isinstance(job, CheckCancelled):
                self._cancel_inflight = False
                if failed:
                    log.warning("cancel check failed (database): %s", res.__class__.__name__)
                else:
                    self._apply_cancelled(res)
            elif isinstance(job, RenewLeases):
                if not failed:
                    self._on_renewed(job, set(res))
            elif isinstance(job, StoreDeliverSm):
                refused = set(job.seqs) if failed else res
                # count per PDU only what failed alone (a whole failed batch is the database, not
                # the PDU): after DEAD_AFTER refusals it is stored raw and acknowledged
                for seq in () if failed else refused:
                    fp = job.fingerprints.get(seq)
                    if fp is not None:
                        if len(self._dsm_failures) > 1000:
                            self._dsm_failures.clear()
                        self._dsm_failures[fp] = self._dsm_failures.get(fp, 0) + 1
                if client is not None:
                    answers.append((job.seqs, refused))
        if client is None:
            return  # no answers were collected: the link is gone, the SMSC redelivers
        for seqs, refused in answers:
            for seq in seqs:
                self._io(client.respond, "deliver_sm_resp", seq, ESME_RX_T_APPN if seq in refused else 0)

    def _on_marked(self, job: MarkOnWire, marked: set[int] | None) -> None:
        """`marked` None: the job failed (ask again)."""
        self._marks_inflight = False
        if marked is None:
            for d in reversed(job.delivery_ids):
                self._marked.discard(d)
                st = self._items.get(d)
                if st is not None:
                    self._unmarked.appendleft(st)
            return
        for d in job.delivery_ids:
            st = self._items.get(d)
            if st is None or st.on_wire:
                continue
            if d in marked:
                st.on_wire = True
            else:
                self._marked.discard(d)
                self._lose(st)

    def _on_renewed(self, job: RenewLeases, renewed: set[int]) -> None:
        for d in job.delivery_ids:
            st = self._items.get(d)
            if st is None:
                continue
            if d in renewed:
                st.leased_at = max(st.leased_at, job.asked_at)
            else:
                self._lose(st)

    def _release_stale(self, ids: list[int]) -> None:
        log.info("releasing %d row(s) claimed by a session that has ended", len(ids))
        # never sent: a marker the claim set goes too, so a later crash does not flag them
        self._submit(Release(owner=self.owner, unsent=ids, clear_marker=True))

    def _io(self, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:
            raise LinkLost(f"write failed: {exc.__class__.__name__}") from None

    def _lose(self, st: _Item) -> None:
        """The row is no longer leased to us (lease ran out, reaped): send nothing more of it."""
        if st.outcome is None:
            log.error("delivery %d is no longer leased to this sender; not sending it", st.item.delivery_id)
        self._set_outcome(st, "lost")

    def _lease_ok(self, st: _Item, now: float) -> bool:
        return now < st.leased_at + self.lease_s - self._lease_margin

    def _add_item(self, row: outbox.ClaimedRow, leased_at: float) -> None:
        """`leased_at`: monotonic time the claim was asked for (its lease began after it)."""
        if row.delivery_id in self._items:  # a copy is still pending: never hold a row twice
            return
        parts = row.parts_to_send()
        if not parts:  # every part already acked by an earlier run: only the state is missing
            self._buf.settle.append(row.delivery_id)
            return
        try:
            work = build(row)
        except PartCountMismatch as exc:
            log.error("delivery %d cannot be sent: %s", row.delivery_id, exc)
            self._buf.failures.append(outbox.Failure(row.delivery_id, NO_ANSWER, f"cannot be sent: {exc}", True))
            return
        st = _Item(work, leased_at, parts)
        self._items[row.delivery_id] = st
        if row.on_wire:  # marked in the claim's commit
            st.on_wire = True
            self._marked.add(row.delivery_id)
        else:
            self._unmarked.append(st)
        for n in parts:
            self._pending.append(_Part(st, n, next(self._order)))

    def _may_send_head(self) -> bool:
        """The head of the queue could go as soon as the rate allows (nothing else holds it)."""
        if not self._pending or self._lease_paused:
            return False
        return self._pending[0].st.on_wire and self._flow.in_flight < self.window and self._exposure < self.resend_bound

    def _send_ready(self, client: SmppLink, now: float) -> None:
        """Send the head of the queue while the flow control allows, in order, only parts whose
        delivery's marker is committed and whose lease is fresh; one sendall for all of them."""
        now_dt = utcnow()
        validity: dict[datetime | None, str] = {}  # per expiry: one strftime per burst, not per part
        chunks: list[bytes] = []
        while self._pending and self._exposure < self.resend_bound and self._flow.may_send(now):
            p = self._pending[0]
            st = p.st
            if st.outcome is not None:
                self._pending.popleft()
                continue
            exp = st.item.expires_at
            if exp is not None and now_dt >= exp:
                self._pending.popleft()
                st.unsent -= 1
                self._set_outcome(st, "expired")
                continue
            if not st.on_wire:
                break  # its marker is not committed yet: wait, keep the order
            if not self._lease_ok(st, now):
                if not self._lease_paused:
                    log.warning("lease renewal late (database slow?): sending paused")
                self._lease_paused = True
                break  # the renewal (a writer job) has not committed: wait, keep the order
            self._pending.popleft()
            self._lease_paused = False
            seq = client.next_sequence()
            pdu = self._encode(seq, p, now_dt, validity)
            if pdu is None:
                continue
            chunks.append(pdu)
            # registered before the write: if the write dies half-way the part counts as in flight
            self._flow.sent(seq, p, now)
            self._expose(st.item.delivery_id, 1)
            st.unsent -= 1
            st.inflight += 1
        if not chunks:
            return
        try:
            client.sendall(b"".join(chunks))
        except Exception as exc:
            raise LinkLost(f"write failed: {exc.__class__.__name__}") from None
        self.stats["parts_sent"] += len(chunks)

    def _encode(self, seq: int, p: _Part, now_dt: datetime, validity: dict[datetime | None, str]) -> bytes | None:
        """The submit_sm of one part; None (and the delivery failed) when it cannot be built."""
        st, it = p.st, p.st.item
        try:
            sender = it.row.sender or self.cfg.sender
            src = self._src_cache.get(sender)
            if src is None:
                src = self._src_cache[sender] = source_fields(sender)
            return encode_submit_sm(
                seq,
                **src,
                destination_addr=destination(it.destination),
                short_message=it.parts[p.part_no - 1],
                data_coding=it.data_coding,
                esm_class=it.esm_class,
                registered_delivery=1,
                priority_flag=1 if it.row.urgent else 0,
                validity_period=self._validity(validity, it.expires_at, now_dt),
            )
        except Exception as exc:  # e.g. a non-Latin-1 sender: this delivery only
            log.exception("delivery %d cannot be encoded; marked failed", it.delivery_id)
            st.unsent = 0
            reason = f"cannot be sent: {exc.__class__.__name__} building the SMS"
            self._set_outcome(st, outbox.Failure(it.delivery_id, NO_ANSWER, reason, True))
            return None

    def _validity(self, cache: dict[datetime | None, str], expires_at: datetime | None, now_dt: datetime) -> str:
        v = cache.get(expires_at)
        if v is None:
            v = cache[expires_at] = validity_for(self.cfg.validity_minutes, expires_at, now_dt)
        return v

    # --- reading -------------------------------------------------------------------------------------------

    def _dispatch(self, client: SmppLink, pdu, now: float) -> None:
        cmd = pdu.command
        if cmd in ("submit_sm_resp", "generic_nack"):
            self._on_submit_resp(pdu, cmd, now)
        elif cmd == "deliver_sm":
            self._on_deliver_sm(pdu)
        elif cmd == "enquire_link":
            self._io(client.respond, "enquire_link_resp", pdu.sequence, 0)
        elif cmd == "unbind":
            try:
                client.respond("unbind_resp", pdu.sequence, 0)
            except Exception:  # the link is going anyway
                pass
            raise LinkLost("the SMSC unbound the session")
        elif cmd in ("enquire_link_resp", "alert_notification", "unbind_resp"):
            pass
        else:
            log.info("ignored SMPP %s", cmd)

    def _on_submit_resp(self, pdu, cmd: str, now: float) -> None:
        status = int(pdu.status or 0)
        kind = "transient" if cmd == "generic_nack" else classify(status)
        seq = pdu.sequence
        if kind == "ok":
            p = self._flow.accepted(seq, now)
        elif kind == "throttle":
            p = self._flow.throttled(seq, now)
        else:
            p = self._flow.failed(seq)
        if p is None:
            return  # late answer to a part we already gave up on
        st = p.st
        st.inflight -= 1
        if kind == "ok":
            raw = pdu.message_id
            mid = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw or "")
            self._buf.acks.append(outbox.Ack(st.item.delivery_id, p.part_no, mid))
            st.acked += 1
            self.stats["parts_acked"] += 1
        else:  # refused: that part did not go out, it cannot reach the member twice
            self._unexpose(st.item.delivery_id, 1)
        if kind == "throttle":
            self.stats["throttled"] += 1
            self._throttled.append(p)
            st.unsent += 1
            self._throttled_at = now
            rate = self._flow.shown_rate()
            self._set_state("throttled", f"{status_meaning(status)}; rate now {rate:g} parts/s")
        elif kind != "ok" and st.outcome is None:
            self.stats["failures"] += 1
            reason = status_meaning(status) if cmd != "generic_nack" else f"generic_nack: {status_meaning(status)}"
            permanent = kind == "permanent" or st.item.row.attempts >= self.max_attempts
            if permanent and kind != "permanent":
                reason = f"gave up after {st.item.row.attempts} attempts: {reason}"
            retry_at = None if permanent else utcnow() + timedelta(seconds=self.retry_delay_s * st.item.row.attempts)
            st.outcome = outbox.Failure(st.item.delivery_id, status, reason, permanent, retry_at)
        self._maybe_done(st)

    def _requeue_throttled(self) -> None:
        if self._throttled:
            for p in sorted(self._throttled, key=lambda q: q.order, reverse=True):
                self._pending.appendleft(p)
            self._throttled = []

    def _on_deliver_sm(self, pdu) -> None:
        seq = pdu.sequence
        fp = _fingerprint(pdu)
        self._buf.dsm_fps[seq] = fp
        dead = self._dsm_failures.get(fp, 0) >= DEAD_AFTER
        if is_receipt(pdu.esm_class):
            rc = parse_receipt(
                pdu.short_message,
                receipted_message_id=pdu.receipted_message_id,
                message_state=pdu.message_state,
                message_payload=pdu.message_payload,
            )
            if rc is not None:
                self._buf.receipts.append(ReceiptPdu(seq, rc, dead))
            return
        src = pdu.source_addr
        source = src.decode("latin-1") if isinstance(src, bytes) else str(src or "")
        concat, payload = concat_from_pdu(pdu)
        self._buf.replies.append(ReplyPdu(seq, source, concat, payload, int(pdu.data_coding or 0), dead))

    # --- item bookkeeping ---------------------------------------------------------------------------------

    def _set_outcome(self, st: _Item, outcome: outbox.Failure | str) -> None:
        if st.outcome is None:
            st.outcome = outcome
        self._maybe_done(st)

    def _maybe_done(self, st: _Item) -> None:
        """Settle an item once nothing of it is in flight any more."""
        if st.inflight:
            return
        if st.outcome is None:
            if st.acked >= st.to_send:
                self._items.pop(st.item.delivery_id, None)
            return
        self._items.pop(st.item.delivery_id, None)
        if st.outcome == "lost":
            self._unexpose(st.item.delivery_id)
            return  # another sender's row now: nothing of ours to write
        if isinstance(st.outcome, outbox.Failure):
            self._buf.failures.append(st.outcome)
        else:
            self._buf.closed.append((st.outcome, st.item.delivery_id))

    def _check_cancelled(self) -> None:
        """Rows of an alert cancelled after we claimed them: drop the ones not yet on the wire.
        The query runs on the writer (never a database call on the SMPP thread)."""
        if self._cancel_inflight:
            return
        alert_ids = {st.item.row.alert_id for st in self._items.values() if st.outcome is None and _nothing_sent(st)}
        if not alert_ids:
            return
        self._cancel_inflight = True
        self._submit(CheckCancelled(alert_ids=alert_ids))

    def _apply_cancelled(self, gone: set[int]) -> None:
        for st in list(self._items.values()):
            if st.item.row.alert_id in gone and st.outcome is None and _nothing_sent(st):
                st.unsent = 0
                self._set_outcome(st, "cancelled")

    def _housekeeping(self, *, renew: bool, reap: bool) -> None:
        if renew:
            # only the rows held in memory: a row we no longer hold must be free for the reaper
            self._submit(
                RenewLeases(
                    owner=self.owner, delivery_ids=sorted(self._items), lease_s=self.lease_s, asked_at=time.monotonic()
                )
            )
        now = time.monotonic()
        if now >= self._next_orphans:
            self._next_orphans = now + self.orphan_every_s
            self._submit(Housekeeping())
        if reap:  # rows of senders that died elsewhere; never our own (we may still be sending them)
            self._submit(ReapExpiredLeases(exclude=self.owner))
        self._set_state(self.state, self.detail)

    def _end_session(self, client: SmppLink, *, graceful: bool) -> None:
        """Store what was read, give every held row back to the queue, close the link."""
        live = client if graceful else None
        # let the writer finish (a claim may still bring items back), then settle decided rows
        self._live_writer.wait_idle(30.0)
        self._safe_take_results(live)
        in_flight = {p.st.item.delivery_id for p in self._flow.in_flight_parts()}
        for st in list(self._items.values()):
            if st.outcome is not None:  # decided (failed/expired/cancelled): store it, do not requeue
                st.inflight = 0
                self._maybe_done(st)
        self._flush(force=True)
        self._flush_deliver_sm()
        rest = [d for d in self._items if d not in in_flight]
        flagged = sorted(in_flight)
        self._submit(Release(owner=self.owner, on_wire=flagged, unsent=rest))
        if not self._live_writer.wait_idle(30.0):
            log.error("database unavailable: claimed rows stay leased until recover() or lease expiry")
        self._safe_take_results(live)
        if in_flight:
            log.warning("%d delivery(ies) were in flight: re-sent, flagged possible duplicate", len(in_flight))
        if graceful:
            try:
                client.unbind_within(1.0)
            except Exception:  # best effort
                pass
        client.close_quietly()
        self._reset_session()

    def _safe_take_results(self, client: SmppLink | None) -> None:
        try:
            self._take_results(client)
        except LinkLost:
            self._take_results(None)


class _Hooks:
    """The runner as the supervisor sees it (SessionHooks)."""

    def __init__(self, runner: SenderRunner) -> None:
        self.r = runner

    def set_state(self, state: str, detail: str) -> None:
        self.r._set_state(state, detail)

    def idle(self, delay: float) -> None:
        self.r._idle(delay)

    def serve(self, link: SmppLink) -> None:
        self.r._serve(link)

    def end_session(self, link: SmppLink, *, graceful: bool) -> None:
        self.r._end_session(link, graceful=graceful)


def _fingerprint(pdu) -> bytes:
    """Identifies a redelivered deliver_sm (new sequence number, same content)."""
    parts = [pdu.source_addr, pdu.short_message, pdu.message_payload]
    return b"\x1f".join(p if isinstance(p, bytes) else str(p or "").encode("latin-1", "replace") for p in parts)


# --- CLI ---------------------------------------------------------------------------------------------------


def cmd_sender(args, settings) -> int:
    """`bin-console sender`: the SMS sender in the foreground until SIGTERM/SIGINT."""
    from bin_console.cli.runtime import open_db_or_exit

    _configure_logging(settings)
    password = None
    if not settings.smpp.training:
        try:
            from bin_console.trust.credentials import get_secret

            password = get_secret("smpp", settings)
        except Exception as exc:  # CredentialStoreUnavailable, SecretMissing
            print(f"bin-console sender: {exc}", file=sys.stderr)
            return 78
    db = open_db_or_exit(settings)
    runner = SenderRunner(db, settings.smpp, password=password)
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info(
        "sender %s for %s:%s%s",
        runner.owner,
        settings.smpp.host,
        settings.smpp.port,
        " (TRAINING SMSC)" if settings.smpp.training else "",
    )
    runner.start()
    code = 0
    shown = ""
    try:
        while not stop.wait(0.2):
            # a refused bind is never a reason to exit: the operator may fix the SMSC side at
            # any time, and a sender that is not running sends nothing. Say it loudly, keep trying.
            if runner.state == "config_error" and runner.detail != shown:
                shown = runner.detail
                print(f"bin-console sender: {runner.detail}", file=sys.stderr, flush=True)
            if not runner.running:
                code = 1
                break
    finally:
        runner.stop(timeout=10.0)
        db.dispose()
    return code


def _configure_logging(settings) -> None:
    """The service logs to its file and to stderr (the journal), both through logsetup's filters:
    smpplib's PDU dumps dropped, registered secrets redacted."""
    from bin_console.trust.logsetup import configure_logging

    configure_logging(settings, to_file=True, to_stderr=True)


__all__ = ["SenderRunner", "cmd_sender", "LinkLost"]
