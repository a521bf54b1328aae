"""The sender's database writer: one thread that commits the SMPP thread's work in batches.

Why a thread: a commit waits for fsync (several ms on SQLite with synchronous=FULL, a network
round trip on PostgreSQL). If the thread that owns the SMPP socket waited for every commit, the
send window would sit idle during it. Here the SMPP thread hands over jobs and goes on sending;
the writer runs every job that is waiting in ONE transaction and posts the results back (the
SMPP thread is woken through `notify`). Jobs run in submission order, so "mark on the wire"
always commits before the acks of the same deliveries, and a release after everything before it.

Failure policy: a batch that fails is retried with back-off (the data is in the jobs, nothing is
lost); `droppable` jobs (claims, markers, renewals, receipts/replies: repeated or redelivered)
are answered with the exception instead of being retried. `isolated` jobs run in a savepoint, so
a bad receipt or reply cannot roll back the acks committed with it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session

from bin_console.alerts.outbox_jobs import WriterJob

log = logging.getLogger("bin_console.channels.smpp.sender")


def connection_lost(exc: BaseException) -> bool:
    """The database connection itself failed (server restart, pg_terminate_backend, network):
    no job is at fault, so the whole batch is retried and one line says so, instead of each job
    in it being refused with its own traceback."""
    if isinstance(exc, PendingRollbackError):  # what a session says after its connection died
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class DbWriter:
    STUCK_AFTER = 5  # failed attempts of one batch before on_stuck is told (then every 5 more)

    def __init__(
        self,
        db,
        notify: Callable[[], None],
        *,
        max_batch: int = 64,
        on_stuck: Callable[[int, BaseException], None] | None = None,
    ) -> None:
        self.db = db
        self.notify = notify
        # called on this thread while a batch keeps failing: the sender shows it in sender_status
        # (its SMPP thread cannot, its status jobs wait behind the failing batch)
        self.on_stuck = on_stuck
        self.max_batch = max_batch
        self._q: queue.Queue[WriterJob | None] = queue.Queue()
        self._results: deque[tuple[WriterJob, object]] = deque()
        self._busy = 0
        self._cond = threading.Condition()
        self._stopping = False
        # one Session for every batch, begun and closed each time: the same transaction as
        # db.write() for ~120 us less per commit (a sender commits every few milliseconds)
        self._session = Session(db.write_engine, expire_on_commit=False)
        self._thread = threading.Thread(target=self._loop, name="sms-sender-db", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return not self._stopping and self._thread.is_alive()

    def submit(self, job: WriterJob) -> None:
        with self._cond:
            self._busy += 1
        self._q.put(job)

    def results(self) -> list[tuple[WriterJob, object]]:
        out = []
        while self._results:
            out.append(self._results.popleft())
        return out

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self.wait_idle(timeout)
        self._stopping = True
        self._q.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            job = self._q.get()
            if job is None:
                return
            jobs = [job]
            while len(jobs) < self.max_batch:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._q.put(None)  # stop after this batch
                    break
                jobs.append(nxt)
            self._run_batch(jobs)

    def _run_batch(self, jobs: list[WriterJob]) -> None:
        attempt = 0
        while jobs:
            try:
                out = []
                s = self._session
                with s.begin():  # db.write()'s transaction, in the writer's one session
                    for job in jobs:
                        if job.isolated:
                            try:
                                with s.begin_nested():
                                    out.append((job, job.run(s)))
                            except Exception as exc:  # answered to the SMSC, logged
                                if connection_lost(exc):
                                    raise
                                log.exception("could not store %s; the SMSC will redeliver", type(job).__name__)
                                out.append((job, exc))
                        else:
                            out.append((job, job.run(s)))
                s.close()  # nothing kept between batches: no identity map that grows, no connection held
                self._post(out)
                if attempt:
                    log.info("database writes resumed after %d failed attempt(s)", attempt)
                return
            except Exception as exc:  # retried below, never lost silently
                self._session.close()
                attempt += 1
                # one line per failed attempt, no traceback: a dropped connection (pg_terminate_backend)
                # is an expected event, answered by the retry on a new connection
                what = "connection lost" if connection_lost(exc) else "write failed"
                log.warning("database %s (%s); retrying, attempt %d", what, exc.__class__.__name__, attempt)
                dropped: list[tuple[WriterJob, object]] = [(j, exc) for j in jobs if j.droppable]
                jobs = [j for j in jobs if not j.droppable]
                if self._stopping and attempt >= 5:
                    log.error(
                        "giving up %d database job(s): recover() requeues their rows at the next start", len(jobs)
                    )
                    dropped += [(j, exc) for j in jobs]
                    jobs = []
                self._post(dropped)
                if jobs and self.on_stuck is not None and attempt % self.STUCK_AFTER == 0:
                    try:
                        self.on_stuck(attempt, exc)
                    except Exception:  # only a status display
                        log.exception("could not report the failing database writes")
                if jobs:
                    time.sleep(min(2.0, 0.1 * 2 ** (attempt - 1)))

    def _post(self, out: list[tuple[WriterJob, object]]) -> None:
        if not out:
            return
        self._results.extend(out)
        with self._cond:
            self._busy -= len(out)
            self._cond.notify_all()
        self.notify()
