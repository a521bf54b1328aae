"""Training SMSC on loopback: the console's practice peer and the tests' real SMPP counterpart.

One reader thread per connection, one scheduler thread for delayed work (latency, receipt
redelivery). PDUs are parsed and built with smpplib's own classes (smpplib.smpp.make_pdu /
parse_pdu), so the simulator speaks exactly the dialect the sender is written against.

It behaves like the SMSCs described in notes/smpplib.md: receipts in the usual text format plus the
receipted_message_id / message_state TLVs (optionally without TLVs, or with the id written in the
other base or zero-padded in the text), throttling (ESME_RTHROTTLED), permanent failures for chosen
destinations, abrupt link drops (also "accepted but the resp never came"), a blackhole that stops
answering, receipt redelivery when the ESME does not answer ESME_ROK, and queued deliveries while no
receiver is bound. `received` and `messages_for()` are the tests' ground truth.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import itertools
import logging
import random
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smpplib import command_codes, smpp

from bin_console.channels.smpp.encoding import add_udh, decode, encode, split_udh

log = logging.getLogger("bin_console.training.smsc_sim")

ESME_ROK = 0x00
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVDSTADR = 0x0B
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RTHROTTLED = 0x58

MAX_PDU = 64 * 1024  # larger command_length is garbage: we cannot resync, so nack and close
RECEIPT_RETRY_S = 0.2  # redeliver a deliver_sm answered with an error after this long
RECEIPT_MAX_TRIES = 20
STOP_TIMEOUT_S = 5.0  # stop() waits at most this long in all for its threads (they are daemons)

# Message ids are unique across every simulator of a process and (very likely) across restarts: a
# real SMSC never hands out the same id twice to one account, and a training or test database that
# outlives one simulator would otherwise match a new receipt to an old message.
_GLOBAL_IDS = itertools.count(random.randrange(1 << 24, 1 << 28))

_BIND_MODES = {"bind_transmitter": "tx", "bind_receiver": "rx", "bind_transceiver": "trx"}
_RECEIPT_TEXT_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?'-/()+=#%&*")


@dataclass(frozen=True)
class SubmittedPart:
    """One accepted submit_sm, as it arrived."""

    destination: str
    source: str
    data_coding: int
    esm_class: int
    short_message: bytes  # raw, including the UDH when esm_class has 0x40
    message_id: str
    priority_flag: int
    validity_period: str
    registered_delivery: int
    source_addr_ton: int
    source_addr_npi: int
    dest_addr_ton: int
    dest_addr_npi: int
    system_id: str
    sar: tuple[int, int, int] | None = None  # (ref, total, seq) from the SAR TLVs, if used
    peer_port: int = 0  # the client's TCP port: tells apart parts sent by different senders
    # time.monotonic() when it was accepted (CLOCK_MONOTONIC: comparable across processes on Linux)
    accepted_at: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def dest(self) -> str:
        return self.destination

    @property
    def payload(self) -> bytes:
        return self.short_message

    @property
    def body(self) -> bytes:
        """The payload without its UDH."""
        return split_udh(self.short_message, self.esm_class)[1]

    def text(self) -> str:
        """This part's own text (a concatenated message: see SmscSim.messages_for)."""
        return decode(self.body, self.data_coding)


# What training members answer (the last one opts out: the demo shows the STOP path too).
TRAINING_REPLIES = (
    "Gezien: man met zwarte jas liep richting station.",
    "Hier niets gezien, licht staat aan.",
    "Vu une voiture grise qui roulait lentement rue de l'Eglise.",
    "Buurman heeft camerabeelden, mag ik die doorsturen?",
    "STOP",
)


class _ParseClient:
    """smpplib numbers every request PDU it builds, parsed ones too; parsing must not use ours."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


class _SeqClient:
    """Sequence numbers for the PDUs the SMSC originates (deliver_sm, unbind)."""

    def __init__(self) -> None:
        self.sequence = 0
        self._lock = threading.Lock()

    def next_sequence(self) -> int:
        with self._lock:
            self.sequence = self.sequence + 1 if self.sequence < 0x7FFFFFFF else 1
            return self.sequence


@dataclass
class _Delivery:
    """A deliver_sm (receipt or MO) that must reach a receiver and be answered with ESME_ROK."""

    kind: str  # "receipt" | "mo"
    fields: dict[str, Any]
    message_id: str | None = None
    system_id: str | None = None
    tries: int = 0


_templates = threading.local()


def _pdu(name: str, sequence: int, status: int = ESME_ROK, **fields: Any) -> bytes:
    """Build a PDU with smpplib's classes. One template object per (command, field set) and thread
    is reused: constructing a smpplib Command costs more than generating it, and the hot path
    (submit_sm_resp, receipt deliver_sm) builds thousands per second."""
    if status != ESME_ROK and name.endswith("_resp"):
        # an error response carries no body (SMPP 3.4 §4.1), so the ESME sees message_id None
        return struct.pack(">LLLL", 16, command_codes.get_command_code(name), status, sequence)
    cache = getattr(_templates, "cache", None)
    if cache is None:
        cache = _templates.cache = {}
    key = (name, tuple(sorted(fields)))
    pdu = cache.get(key)
    if pdu is None:
        pdu = cache[key] = smpp.make_pdu(name, client=_ParseClient())
    for field, value in fields.items():
        setattr(pdu, field, value)
    # smpplib ignores `sequence=` for responses (its getter already returns a number), so set it here
    pdu.sequence = sequence
    pdu.status = status
    return pdu.generate()


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


class _Conn:
    def __init__(self, sim: SmscSim, sock: socket.socket, peer: Any) -> None:
        self.sim = sim
        self.sock = sock
        self.peer = peer
        self.mode: str | None = None  # tx | rx | trx once bound
        self.system_id = ""
        self.seq = _SeqClient()
        self.send_lock = threading.Lock()
        self.state_lock = threading.Lock()
        self.closed = False
        self.pending: dict[int, _Delivery] = {}  # deliver_sm sequence -> what it carried
        self.thread = threading.Thread(target=self._run, name=f"smsc-sim-conn-{peer[1]}", daemon=True)

    @property
    def can_receive(self) -> bool:
        return not self.closed and self.mode in ("rx", "trx")

    def send(self, data: bytes) -> bool:
        if not data:
            return True
        with self.send_lock:
            if self.closed:
                return False
            try:
                self.sock.sendall(data)
                return True
            except OSError as exc:
                log.info("send to %s failed: %s", self.peer, exc)
        self.close()
        return False

    def close(self, abrupt: bool = False) -> None:
        # not under send_lock: a sendall blocked on a client that stopped reading holds it, and
        # the shutdown below is what wakes that sendall up
        with self.state_lock:
            if self.closed:
                return
            self.closed = True
        try:
            if abrupt:  # RST instead of FIN, like a crashed SMSC or a cut line
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # SHUT_RD only wakes our reader thread (Linux does not release a socket another
                # thread is blocked in); the close below then sends the RST. A blocked sendall
                # needs SHUT_WR as well.
                self.sock.shutdown(socket.SHUT_RD if not self.send_lock.locked() else socket.SHUT_RDWR)
            else:
                self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.sim._conn_closed(self)

    def _run(self) -> None:
        buf = bytearray()
        try:
            while not self.closed:
                try:
                    chunk = self.sock.recv(256 * 1024)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                out: list[bytes] = []
                while len(buf) >= 4 and not self.closed:
                    (length,) = struct.unpack_from(">L", buf)
                    if length < 16 or length > MAX_PDU:
                        seq = struct.unpack_from(">L", buf, 12)[0] if len(buf) >= 16 else 0
                        log.warning("bad command_length %d from %s: generic_nack and close", length, self.peer)
                        out.append(_pdu("generic_nack", seq, ESME_RINVCMDLEN))
                        self.send(b"".join(out))
                        self.close()
                        return
                    if len(buf) < length:
                        break
                    data = bytes(buf[:length])
                    del buf[:length]
                    try:
                        action = self.sim._handle(self, data, out)
                    except Exception:  # never let one odd PDU kill the link
                        log.exception("error handling a PDU from %s", self.peer)
                        seq = struct.unpack_from(">L", data, 12)[0]
                        out.append(_pdu("generic_nack", seq, ESME_RSYSERR))
                        action = None
                    if action == "close":
                        self.send(b"".join(out))
                        self.close()
                        return
                    if action == "drop":
                        self.send(b"".join(out))
                        self.sim._drop_all(abrupt=False)
                        return
                self.send(b"".join(out))
        finally:
            self.close()


class SmscSim:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        system_id: str | None = None,
        password: str | None = None,
        undeliverable: float = 0.0,
        latency_ms: float = 0.0,
        throttle_tps: float = 0.0,
        id_format: str = "hex",
        receipts: bool = True,
        receipt_id_in_text: str = "same",
        receipt_tlv: bool = True,
        fail_destinations: list[str] | tuple[str, ...] = (),
        mo_destination: str = "8850",
        id_start: int | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        auto_reply: float = 0.0,
        auto_reply_delay_s: float = 3.0,
    ) -> None:
        if id_format not in ("hex", "decimal"):
            raise ValueError("id_format must be 'hex' or 'decimal'")
        if receipt_id_in_text not in ("same", "other_base", "zero_padded"):
            raise ValueError("receipt_id_in_text must be 'same', 'other_base' or 'zero_padded'")
        self.host = host
        self.port = port
        self.system_id = system_id
        self.password = password
        self.undeliverable = undeliverable
        self.latency_ms = latency_ms
        self.id_format = id_format
        self.receipts = receipts
        self.receipt_id_in_text = receipt_id_in_text
        self.receipt_tlv = receipt_tlv
        self.fail_destinations = {d.lstrip("+") for d in fail_destinations}
        self.mo_destination = mo_destination
        self.on_event = on_event
        # Training: a share of delivered messages draws a member reply a few seconds later (some of
        # them STOP), so the demo's inbox and opt-out path have something to show.
        self.auto_reply = auto_reply
        self.auto_reply_delay_s = auto_reply_delay_s
        self._reply_acc = 0.0
        self._reply_texts = itertools.cycle(TRAINING_REPLIES)

        self.received: list[SubmittedPart] = []
        self._by_dest: dict[str, list[SubmittedPart]] = {}  # messages_for() per member, fast
        self.receipts_sent = 0  # deliver_sm receipts written to a socket (redeliveries included)
        self.receipts_acked = 0  # ... answered with ESME_ROK
        self.mo_acked = 0
        self.throttled = 0  # submit_sm answered ESME_RTHROTTLED
        self.binds = 0  # successful binds
        self.enquire_links = 0  # enquire_link received from ESMEs (answered)
        self.enquire_link_resps = 0  # answers to our send_enquire_link()

        self._cond = threading.Condition()  # guards state below; notified on every change
        self._version = 0  # bumped with every notify, so wait_for() never sleeps through a change
        self._conns: list[_Conn] = []
        self._undelivered: deque[_Delivery] = deque()  # waiting for a receiver to bind
        self._ids = _GLOBAL_IDS if id_start is None else itertools.count(id_start)
        self._mo_ref = itertools.count(1)
        self._undeliv_acc = 0.0
        self._drop_after: int | None = None
        self._blackhole = False
        self._tps = 0.0
        self._tokens = 0.0
        self._tokens_at = 0.0
        self.set_throttle(throttle_tps)

        self._lifecycle = threading.Lock()
        self._lsock: socket.socket | None = None
        self._running = False
        self._accept_thread: threading.Thread | None = None
        self._sched: list[tuple[float, int, Callable[[], None]]] = []
        self._sched_seq = itertools.count()
        self._sched_cond = threading.Condition()
        self._sched_thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        with self._lifecycle:
            if self._running:
                return
            lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind((self.host, self.port))
            lsock.listen(64)
            lsock.settimeout(0.2)  # the accept loop checks _running this often
            self._lsock = lsock
            self.port = lsock.getsockname()[1]
            self._running = True
            self._accept_thread = threading.Thread(target=self._accept_loop, name="smsc-sim-accept", daemon=True)
            self._sched_thread = threading.Thread(target=self._sched_loop, name="smsc-sim-sched", daemon=True)
            self._accept_thread.start()
            self._sched_thread.start()
            log.info("SMSC simulator listening on %s:%d", self.host, self.port)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Close the listener and every link, then wait for the threads with ONE deadline for all.

        Each link is closed before any thread is awaited (a close wakes its reader and a blocked
        sendall), so the wait is short; the deadline bounds it whatever a client does, and the threads
        are daemons, so a process that stops the simulator always gets to exit.
        """
        with self._lifecycle:
            if not self._running:
                return
            self._running = False
            deadline = time.monotonic() + timeout
            with self._sched_cond:
                self._sched.clear()
                self._sched_cond.notify_all()
            if self._lsock is not None:
                self._lsock.close()
            threads = [t for t in (self._accept_thread, self._sched_thread) if t is not None]
            if self._accept_thread is not None:  # first, so no link accepted meanwhile is missed below
                self._accept_thread.join(timeout=timeout)
            with self._cond:
                conns = list(self._conns)
            for c in conns:
                c.close()
            threads += [c.thread for c in conns if c.thread is not threading.current_thread()]
            for t in threads:
                t.join(timeout=max(0.0, deadline - time.monotonic()))
            left = [t.name for t in threads if t.is_alive()]
            if left:
                log.warning("SMSC simulator on port %d stopped; threads still ending: %s", self.port, left)
            else:
                log.info("SMSC simulator on port %d stopped", self.port)

    def __enter__(self) -> SmscSim:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- controls for tests and training ---------------------------------------------------
    def set_throttle(self, tps: float) -> None:
        """Answer ESME_RTHROTTLED to submits beyond `tps` per second (0 = unlimited)."""
        with self._cond:
            self._tps = float(tps or 0.0)
            self._tokens = max(1.0, self._tps)  # a full second of burst, then the steady rate
            self._tokens_at = time.monotonic()

    def drop_link(self, drop_after: int | None = None) -> None:
        """Close every connection abruptly (RST). With drop_after=N: answer the next N-1 submits
        normally, accept (record) the Nth and close every link (FIN) before its submit_sm_resp."""
        if drop_after is not None:
            if drop_after < 1:
                raise ValueError("drop_after counts submits from 1")
            with self._cond:
                self._drop_after = drop_after
            return
        self._drop_all()

    def blackhole(self, enabled: bool = True) -> None:
        """Stop answering anything (binds, enquire_links, submits) while keeping the sockets open:
        a peer that vanished behind a NAT. Only an application deadline notices."""
        with self._cond:
            self._blackhole = enabled
            self._changed()

    def send_unbind(self) -> None:
        """SMSC-initiated unbind on every bound link (smpplib only logs it; the sender must cope)."""
        for c in self._bound():
            c.send(_pdu("unbind", c.seq.next_sequence()))

    def send_enquire_link(self) -> None:
        """SMSC-initiated keep-alive on every bound link; answers are counted in enquire_link_resps."""
        for c in self._bound():
            c.send(_pdu("enquire_link", c.seq.next_sequence()))

    def inject_mo(self, source: str, text: str, *, destination: str | None = None) -> None:
        """A member's reply: deliver_sm(s) from `source` to the bound receiver, GSM-7 or UCS-2,
        long texts concatenated with an 8-bit-reference UDH. Queued until a receiver binds."""
        enc = encode(text)
        parts = add_udh(enc.parts, next(self._mo_ref) & 0xFF)
        esm = 0x40 if len(parts) > 1 else 0
        for part in parts:
            fields = dict(
                source_addr=source.lstrip("+"),
                source_addr_ton=1,
                source_addr_npi=1,
                destination_addr=destination or self.mo_destination,
                esm_class=esm,
                data_coding=enc.data_coding,
                short_message=part,
            )
            self._deliver(_Delivery("mo", fields))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until predicate() is true (re-checked on every SMSC event); False on timeout."""
        deadline = time.monotonic() + timeout
        # the predicate runs outside the lock (it may query a database, and the SMSC threads must
        # not wait for that); the version counter makes sure no change is slept through
        while True:
            with self._cond:
                seen = self._version
            if predicate():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._cond:
                if self._version == seen:  # nothing happened while the predicate ran
                    self._cond.wait(min(left, 0.05))

    @property
    def bound_count(self) -> int:
        return len(self._bound())

    def messages_for(self, dest: str) -> list[str]:
        """Complete texts sent to `dest` (with or without '+'), concatenated parts reassembled, in
        the order their first part arrived. A part sent twice (a re-sent in-flight part) opens a
        second copy of its message; incomplete messages are left out."""
        dest = dest.lstrip("+")
        with self._cond:
            parts = list(self._by_dest.get(dest, []))
        messages: list[tuple[int, str]] = []
        groups: list[dict[str, Any]] = []
        for order, p in enumerate(parts):
            info, body = split_udh(p.short_message, p.esm_class)
            concat = (info.ref, info.total, info.seq) if info else p.sar
            if concat is None or concat[1] <= 1:
                messages.append((order, decode(body, p.data_coding)))
                continue
            ref, total, seq = concat
            key = (p.source, ref, total, p.data_coding)
            group = next((g for g in groups if g["key"] == key and seq not in g["parts"]), None)
            if group is None:
                group = {"key": key, "parts": {}, "order": order}
                groups.append(group)
            group["parts"][seq] = body
        for g in groups:
            total = g["key"][2]
            if len(g["parts"]) == total and all(i in g["parts"] for i in range(1, total + 1)):
                # join bytes first: a sender that cut an escape or surrogate pair still reads right
                payload = b"".join(g["parts"][i] for i in range(1, total + 1))
                messages.append((g["order"], decode(payload, g["key"][3])))
        return [text for _, text in sorted(messages, key=lambda m: m[0])]

    # ---- internals -------------------------------------------------------------------------
    def _changed(self) -> None:
        """Call with self._cond held after any state change: wakes wait_for()."""
        self._version += 1
        self._cond.notify_all()

    def _event(self, kind: str, **info: Any) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, info)
            except Exception:  # a printing callback must not break the SMSC
                log.exception("on_event callback failed")

    def _bound(self) -> list[_Conn]:
        with self._cond:
            return [c for c in self._conns if c.mode and not c.closed]

    def _accept_loop(self) -> None:
        lsock = self._lsock
        assert lsock is not None
        while self._running:
            try:
                sock, peer = lsock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(self, sock, peer)
            with self._cond:
                if not self._running:
                    sock.close()
                    break
                self._conns.append(conn)
                self._changed()
            log.info("connection from %s:%d", *peer[:2])
            conn.thread.start()

    def _conn_closed(self, conn: _Conn) -> None:
        with self._cond:
            if conn in self._conns:
                self._conns.remove(conn)
            orphans = list(conn.pending.values())
            conn.pending.clear()
            self._changed()
        for d in orphans:  # never answered: the SMSC keeps them and redelivers on the next bind
            self._deliver(d)
        log.info("connection from %s:%d closed", *conn.peer[:2])
        self._event("closed", peer=conn.peer)

    def _drop_all(self, abrupt: bool = True) -> None:
        # drop_after closes with a FIN so the responses written before it still arrive: the test
        # then knows exactly which submit was accepted without an answer.
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            c.close(abrupt=abrupt)
        log.info("dropped %d link(s)", len(conns))
        self._event("dropped", links=len(conns))

    def _schedule(self, delay_s: float, fn: Callable[[], None]) -> None:
        with self._sched_cond:
            heapq.heappush(self._sched, (time.monotonic() + delay_s, next(self._sched_seq), fn))
            self._sched_cond.notify()

    def _sched_loop(self) -> None:
        while self._running:
            with self._sched_cond:
                while self._running and (not self._sched or self._sched[0][0] > time.monotonic()):
                    wait = self._sched[0][0] - time.monotonic() if self._sched else 1.0
                    self._sched_cond.wait(max(0.0, min(wait, 1.0)))
                if not self._running:
                    return
                _, _, fn = heapq.heappop(self._sched)
            try:
                fn()
            except Exception:
                log.exception("scheduled SMSC action failed")

    def _next_id(self) -> str:
        n = next(self._ids)
        return format(n, "x") if self.id_format == "hex" else str(n)

    def _take_token(self) -> bool:
        if self._tps <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(max(1.0, self._tps), self._tokens + (now - self._tokens_at) * self._tps)
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _handle(self, conn: _Conn, data: bytes, out: list[bytes]) -> str | None:
        """Handle one PDU; responses go to `out` (sent as one write). Returns "close"/"drop"/None."""
        _, cmd_id, status, seq = struct.unpack_from(">LLLL", data)
        with self._cond:
            if self._blackhole:
                return None
        if cmd_id == 0x80000005:  # deliver_sm_resp: the header says all we need (hot path)
            self._on_deliver_resp(conn, seq, status)
            return None
        try:
            pdu = smpp.parse_pdu(data, client=_ParseClient(), allow_unknown_opt_params=True)
        except Exception as exc:
            log.warning("unparseable PDU 0x%08x from %s: %s", cmd_id, conn.peer, exc)
            out.append(_pdu("generic_nack", seq, ESME_RINVCMDID if "nknown" in str(exc) else ESME_RINVCMDLEN))
            return None
        name = pdu.command
        if name in _BIND_MODES:
            return self._on_bind(conn, pdu, name, seq, out)
        if name == "enquire_link":
            with self._cond:
                self.enquire_links += 1
            out.append(_pdu("enquire_link_resp", seq))
            return None
        if name == "unbind":
            out.append(_pdu("unbind_resp", seq))
            return "close"
        if name == "submit_sm":
            return self._on_submit(conn, pdu, seq, out)
        if name == "deliver_sm_resp":
            self._on_deliver_resp(conn, seq, status)
            return None
        if name == "query_sm":
            out.append(_pdu("query_sm_resp", seq, message_id=_s(pdu.message_id), message_state=2, error_code=0))
            return None
        if name == "enquire_link_resp":
            with self._cond:
                self.enquire_link_resps += 1
                self._changed()
            return None
        if name in ("generic_nack", "unbind_resp"):
            if name == "generic_nack":
                log.warning("generic_nack 0x%x from %s for sequence %d", status, conn.peer, seq)
            return None
        log.warning("unsupported command %s from %s", name, conn.peer)
        out.append(_pdu("generic_nack", seq, ESME_RINVCMDID))
        return None

    def _on_bind(self, conn: _Conn, pdu: Any, name: str, seq: int, out: list[bytes]) -> str | None:
        resp = name + "_resp"
        system_id, password = _s(pdu.system_id), _s(pdu.password)
        if conn.mode is not None:
            out.append(_pdu(resp, seq, ESME_RALYBND, system_id="bin-sim"))
            return None
        if self.system_id is not None and system_id != self.system_id:
            log.warning("bind refused: unknown system_id from %s", conn.peer)
            out.append(_pdu(resp, seq, ESME_RINVSYSID, system_id="bin-sim"))
            return None
        if self.password is not None and password != self.password:
            log.warning("bind refused: wrong password for system_id %r", system_id)
            out.append(_pdu(resp, seq, ESME_RINVPASWD, system_id="bin-sim"))
            return None
        # The bind_resp must be on the wire before anything else can pick this link as a receiver:
        # smpplib takes the first PDU after its bind as the bind's answer.
        out.append(_pdu(resp, seq, system_id="bin-sim"))
        conn.send(b"".join(out))
        out.clear()
        with self._cond:
            conn.mode = _BIND_MODES[name]
            conn.system_id = system_id
            self.binds += 1
            self._changed()
        log.info("%s from %s as %r", name, conn.peer, system_id)
        self._event("bind", mode=conn.mode, system_id=system_id)
        if conn.can_receive:
            self._flush_undelivered()  # receipts and MOs kept while no receiver was bound
        return None

    def _on_submit(self, conn: _Conn, pdu: Any, seq: int, out: list[bytes]) -> str | None:
        if conn.mode not in ("tx", "trx"):
            out.append(_pdu("submit_sm_resp", seq, ESME_RINVBNDSTS))
            return None
        dest = _s(pdu.destination_addr)
        if not dest or dest.lstrip("+") in self.fail_destinations:
            out.append(_pdu("submit_sm_resp", seq, ESME_RINVDSTADR))
            self._event("rejected", destination=dest, status=ESME_RINVDSTADR)
            return None
        with self._cond:
            if not self._take_token():
                self.throttled += 1
                self._changed()
                out.append(_pdu("submit_sm_resp", seq, ESME_RTHROTTLED))
                return None
        short_message = pdu.short_message or b""
        if not short_message and getattr(pdu, "message_payload", None):
            short_message = pdu.message_payload
        sar = None
        if pdu.sar_msg_ref_num is not None and pdu.sar_total_segments and pdu.sar_segment_seqnum:
            sar = (pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum)
        message_id = self._next_id()
        part = SubmittedPart(
            destination=dest,
            source=_s(pdu.source_addr),
            data_coding=pdu.data_coding or 0,
            esm_class=pdu.esm_class or 0,
            short_message=bytes(short_message),
            message_id=message_id,
            priority_flag=pdu.priority_flag or 0,
            validity_period=_s(pdu.validity_period),
            registered_delivery=pdu.registered_delivery or 0,
            source_addr_ton=pdu.source_addr_ton or 0,
            source_addr_npi=pdu.source_addr_npi or 0,
            dest_addr_ton=pdu.dest_addr_ton or 0,
            dest_addr_npi=pdu.dest_addr_npi or 0,
            system_id=conn.system_id,
            sar=sar,
            peer_port=conn.peer[1],
        )
        want = part.registered_delivery & 0x03
        receipt = None
        if self.receipts and want in (1, 2):
            ok = not self._draw_undeliverable()
            if want == 1 or not ok:  # 2 = receipt on failure only
                receipt = self._receipt(part, ok, conn)
        if receipt is not None and ok and self._draw_reply(part):
            text = next(self._reply_texts)
            self._schedule(self.auto_reply_delay_s, functools.partial(self.inject_mo, part.destination, text))
        drop = False
        with self._cond:
            self._by_dest.setdefault(part.destination.lstrip("+"), []).append(part)
            self.received.append(part)
            if self._drop_after is not None:
                self._drop_after -= 1
                if self._drop_after <= 0:
                    self._drop_after = None
                    drop = True
                    if receipt is not None:
                        # accepted is accepted: its receipt comes on the next bind, for an id the
                        # ESME never learnt (the orphan case of notes/smpplib.md §4.5)
                        self._undelivered.append(receipt)
            self._changed()
        self._event("submit", part=part)
        if drop:
            log.info("dropping the links after accepting message %s, before its submit_sm_resp", message_id)
            return "drop"
        resp = _pdu("submit_sm_resp", seq, message_id=message_id)
        if self.latency_ms > 0:

            def later() -> None:
                conn.send(resp)
                if receipt is not None:  # even if the resp was lost with the link
                    self._deliver(receipt, prefer=conn)

            self._schedule(self.latency_ms / 1000.0, later)
        else:
            out.append(resp)
            if receipt is not None:
                # after the resp in the same write, unless another link is the receiver
                self._deliver(receipt, prefer=conn, out=out)
        return None

    def _draw_reply(self, part: SubmittedPart) -> bool:
        """Deterministic share of delivered messages (counted once, on their last part) that reply."""
        if self.auto_reply <= 0:
            return False
        info = split_udh(part.short_message, part.esm_class)[0]
        if info is not None and info.seq != info.total:
            return False
        with self._cond:
            self._reply_acc += self.auto_reply
            if self._reply_acc >= 1.0 - 1e-9:
                self._reply_acc -= 1.0
                return True
            return False

    def _draw_undeliverable(self) -> bool:
        """Deterministic share: exactly round(n * undeliverable) of n receipts say UNDELIV."""
        if self.undeliverable <= 0:
            return False
        with self._cond:
            self._undeliv_acc += self.undeliverable
            if self._undeliv_acc >= 1.0 - 1e-9:
                self._undeliv_acc -= 1.0
                return True
            return False

    def _receipt(self, part: SubmittedPart, ok: bool, conn: _Conn) -> _Delivery:
        mid = part.message_id
        if self.receipt_id_in_text == "other_base":
            text_id = str(int(mid, 16)) if self.id_format == "hex" else format(int(mid), "x")
        elif self.receipt_id_in_text == "zero_padded":
            text_id = mid.rjust(max(10, len(mid) + 1), "0")
        else:
            text_id = mid
        stamp = time.strftime("%y%m%d%H%M")
        sample = "".join(c if c in _RECEIPT_TEXT_OK else "." for c in part.text()[:20])
        stat, err, dlvrd, state = ("DELIVRD", "000", "001", 2) if ok else ("UNDELIV", "001", "000", 5)
        text = (
            f"id:{text_id} sub:001 dlvrd:{dlvrd} submit date:{stamp} done date:{stamp} "
            f"stat:{stat} err:{err} text:{sample}"
        )
        fields: dict[str, Any] = dict(
            source_addr=part.destination,
            source_addr_ton=part.dest_addr_ton,
            source_addr_npi=part.dest_addr_npi,
            destination_addr=part.source,
            dest_addr_ton=part.source_addr_ton,
            dest_addr_npi=part.source_addr_npi,
            esm_class=0x04,
            data_coding=0,
            short_message=text.encode("ascii"),
        )
        if self.receipt_tlv:
            fields["receipted_message_id"] = mid
            fields["message_state"] = state
        return _Delivery("receipt", fields, message_id=mid, system_id=conn.system_id)

    def _pick_receiver(self, d: _Delivery, prefer: _Conn | None) -> _Conn | None:
        if prefer is not None and prefer.can_receive:
            return prefer
        with self._cond:
            rx = [c for c in self._conns if c.can_receive]
        same = [c for c in rx if d.system_id is None or c.system_id == d.system_id]
        return (same or rx)[0] if same or rx else None

    def _deliver(self, d: _Delivery, prefer: _Conn | None = None, out: list[bytes] | None = None) -> None:
        conn = self._pick_receiver(d, prefer)
        if conn is None:
            with self._cond:
                self._undelivered.append(d)
                self._changed()
            return
        seq = conn.seq.next_sequence()
        data = _pdu("deliver_sm", seq, **d.fields)
        d.tries += 1
        with self._cond:
            conn.pending[seq] = d
            if d.kind == "receipt":
                self.receipts_sent += 1
            self._changed()
        if out is not None and conn is prefer:
            out.append(data)
        elif not conn.send(data):
            pass  # close() moved conn.pending (this one included) back to the queue

    def _flush_undelivered(self) -> None:
        with self._cond:
            items = list(self._undelivered)
            self._undelivered.clear()
        for d in items:
            self._deliver(d)

    def _on_deliver_resp(self, conn: _Conn, seq: int, status: int) -> None:
        with self._cond:
            d = conn.pending.pop(seq, None)
            if d is not None and status == ESME_ROK:
                if d.kind == "receipt":
                    self.receipts_acked += 1
                else:
                    self.mo_acked += 1
            self._changed()
        if d is None or status == ESME_ROK:
            return
        if d.tries >= RECEIPT_MAX_TRIES:
            log.warning("giving up on a %s after %d tries (last status 0x%x)", d.kind, d.tries, status)
            return
        log.info("%s answered 0x%x: redelivering", d.kind, status)
        self._schedule(RECEIPT_RETRY_S, lambda: self._deliver(d))


def _mask(number: str) -> str:
    return "..." + number[-3:] if len(number) > 3 else "..."  # ASCII: TERM=linux consoles


def cmd_smsc_sim(args: Any, settings: Any) -> int:
    """`bin-console smsc-sim`: run the training SMSC in the foreground on 127.0.0.1."""

    def show(kind: str, info: dict[str, Any]) -> None:
        # no member data: only the destination's last three digits, never the text
        if kind == "submit":
            p: SubmittedPart = info["part"]
            udh, _ = split_udh(p.short_message, p.esm_class)
            part = f" part {udh.seq}/{udh.total}" if udh else ""
            print(f"submit_sm to {_mask(p.destination)} dc={p.data_coding}{part} -> id {p.message_id}", flush=True)
        elif kind == "rejected":
            print(f"submit_sm to {_mask(info['destination'])} rejected (0x{info['status']:02X})", flush=True)
        elif kind == "bind":
            print(f"bound ({info['mode']}) as {info['system_id']!r}", flush=True)
        elif kind in ("closed", "dropped"):
            print(f"link {kind}", flush=True)

    sim = SmscSim(
        "127.0.0.1",
        args.port,
        undeliverable=args.undeliverable,
        latency_ms=args.latency_ms,
        throttle_tps=args.throttle_tps,
        auto_reply=args.auto_reply,
        on_event=show,
    )
    # SIGINT (Ctrl+C) and SIGTERM only set an event: no KeyboardInterrupt lands in the middle of start
    # or stop, and the main thread always reaches the bounded sim.stop() below.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        sim.start()
    except OSError as exc:
        print(f"bin-console smsc-sim: cannot listen on 127.0.0.1:{args.port}: {exc}")
        return 2
    print(f"Training SMSC listening on 127.0.0.1:{sim.port} (no real SMS is sent). Ctrl+C stops.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
        print(
            f"stopped: {len(sim.received)} submit_sm accepted, {sim.receipts_acked} receipts acknowledged", flush=True
        )
    return 0


__all__ = ["SmscSim", "SubmittedPart", "cmd_smsc_sim"]
