"""The training mail server: a real SMTP server (aiosmtpd) on loopback that keeps what it receives.

The demo and `bin-console smtp-sim` run it so a trainee can read the e-mails that went out (in
memory, and in a Maildir when one is given: any mail reader opens it), and the tests use it as the
relay, with the faults real relays have: greylisting (451 once per recipient), a refused mailbox
(550), a connection dropped after the message was taken but before the 250 (RFC 1047), a stall
after DATA. Nothing leaves the machine: it only listens on loopback and relays nothing.
"""

from __future__ import annotations

import asyncio
import mailbox
import signal
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    at: float  # time.monotonic() when it was taken: the pace a relay saw

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


class _Handler:
    def __init__(self, sim: SmtpSim) -> None:
        self.sim = sim

    async def handle_RCPT(self, server, session: Session, envelope: Envelope, address: str, rcpt_options) -> str:
        sim = self.sim
        key = address.lower()
        if key in sim.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        with sim.lock:
            first = sim.greylist and key not in sim._greylisted
            sim._greylisted.add(key)
        if first:
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        sim = self.sim
        # decode_data is off (aiosmtpd's default): the content is the bytes as received
        assert not isinstance(envelope.content, str)
        content = bytes(envelope.content or b"")
        mail = ReceivedMail(envelope.mail_from or "", tuple(envelope.rcpt_tos), content, time.monotonic())
        with sim.lock:
            sim.count += 1
            n = sim.count
            if sim.keep:
                sim.received.append(mail)
            drop = sim.drop_at == n
            stall = sim.stall_at == n
        if sim.maildir is not None:
            sim.maildir.add(mail.data)
        if drop:
            server.transport.abort()  # taken, but the client never hears the 250 (RFC 1047)
            return "451 4.3.0 connection dropped"
        if stall:
            await asyncio.sleep(sim.stall_s)
        return f"250 2.0.0 Ok: queued as T{n}"


class _TrackedSMTP(SMTP):
    """Known while connected, so stop() can end sessions a client left open."""

    def __init__(self, live: set, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._live = live
        live.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._live.discard(self)
        super().connection_lost(exc)


class SmtpSim:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        maildir: str | Path | None = None,
        keep: bool = True,
        greylist: bool = False,
        reject: tuple[str, ...] = (),
        drop_at: int | None = None,
        stall_at: int | None = None,
        stall_s: float = 0.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the training mail server only listens on loopback, not {host!r}")
        self.host = host
        self.port = port
        self.keep = keep
        self.greylist = greylist
        self.reject = {a.lower() for a in reject}
        self.drop_at = drop_at  # the n-th message (1-based) is taken, then the connection dropped
        self.stall_at = stall_at  # the n-th message waits stall_s before its answer
        self.stall_s = stall_s
        self.tls_context = tls_context  # offer STARTTLS, and require it (as a relay that takes passwords does)
        self.maildir = mailbox.Maildir(str(maildir), create=True) if maildir else None
        self.received: list[ReceivedMail] = []
        self.count = 0
        self.connections = 0
        self.lock = threading.Lock()
        self._greylisted: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._protocols: set[SMTP] = set()

    def _factory(self) -> SMTP:
        with self.lock:
            self.connections += 1
        tls = {"tls_context": self.tls_context, "require_starttls": True} if self.tls_context else {}
        return _TrackedSMTP(
            self._protocols, _Handler(self), hostname="bin-training.invalid", ident="BIN training", **tls
        )

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smtp-sim", daemon=True)
        self._thread.start()
        listen = self._loop.create_server(self._factory, self.host, self.port)
        self._server = asyncio.run_coroutine_threadsafe(listen, self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        server, thread = self._server, self._thread
        assert server is not None and thread is not None  # start() set them with the loop

        async def shutdown() -> None:
            server.close()
            for proto in list(self._protocols):
                if isinstance(proto.transport, asyncio.Transport):
                    proto.transport.abort()
            await server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    def messages_for(self, address: str) -> list[EmailMessage]:
        with self.lock:
            mails = list(self.received)
        return [m.message for m in mails if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def __enter__(self) -> SmtpSim:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cmd_smtp_sim(args, settings) -> int:
    """`bin-console smtp-sim`: the training mail server in the foreground until Ctrl-C / SIGTERM."""
    stop = threading.Event()
    sim = SmtpSim(port=args.port, maildir=args.maildir, greylist=args.greylist, reject=tuple(args.reject))
    sim.start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    where = f"; messages kept in the Maildir {args.maildir}" if args.maildir else ""
    print(f"training mail server on 127.0.0.1:{sim.port} (nothing is relayed){where}", flush=True)
    try:
        stop.wait()
    finally:
        sim.stop()
        print(f"training mail server stopped after {sim.count} message(s)", file=sys.stderr)
    return 0
