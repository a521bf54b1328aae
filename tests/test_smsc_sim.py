"""The training SMSC against a plain smpplib client over TCP on loopback."""

from __future__ import annotations

import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest
import smpplib.client
import smpplib.exceptions
from smpplib import smpp

from bin_console.channels.smpp.encoding import add_udh, decode, encode, split_udh
from bin_console.training.smsc_sim import SmscSim

DEST = "32475123456"


class Esme:
    """A plain smpplib client plus what it saw; read only when select() says readable."""

    def __init__(self, port: int, *, on_deliver=None) -> None:
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=20, allow_unknown_opt_params=True)
        self.resps: list = []
        self.errors: list = []
        self.delivered: list = []
        self._on_deliver = on_deliver
        self.client.set_message_sent_handler(lambda pdu: self.resps.append(pdu))
        self.client.set_message_received_handler(self._deliver)
        self.client.set_error_pdu_handler(self.errors.append)

    def _deliver(self, pdu):
        self.delivered.append(pdu)
        return self._on_deliver(pdu) if self._on_deliver else None

    def bind(self, mode: str = "transceiver", system_id: str = "bin", password: str = "pw") -> Esme:
        self.client.connect()
        getattr(self.client, f"bind_{mode}")(system_id=system_id, password=password)
        return self

    def submit(self, text_or_part, dest: str = DEST, **kw):
        payload = text_or_part if isinstance(text_or_part, bytes) else text_or_part.encode()
        kw.setdefault("registered_delivery", 1)
        return self.client.send_message(
            source_addr="POLITIE",
            source_addr_ton=5,
            source_addr_npi=0,
            destination_addr=dest,
            dest_addr_ton=1,
            dest_addr_npi=1,
            short_message=payload,
            **kw,
        )

    def submit_text(self, text: str, dest: str = DEST, ref: int = 1):
        enc = encode(text)
        parts = add_udh(enc.parts, ref)
        for p in parts:
            self.submit(p, dest, data_coding=enc.data_coding, esm_class=enc.esm_class)
        return len(parts)

    def pump(self, predicate, timeout: float = 20.0) -> bool:  # a deadline for what must come, not a delay
        deadline = time.monotonic() + timeout
        sock = self.client._socket
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([sock], [], [], min(left, 0.1))
            if readable:
                self.client.read_once(auto_send_enquire_link=False)
        return True

    def receipts(self):
        return [p for p in self.delivered if p.esm_class & 0x3C == 0x04]

    def mos(self):
        return [p for p in self.delivered if p.esm_class & 0x3C == 0]

    def close(self):
        try:
            self.client.disconnect()
        except Exception:
            pass


@pytest.fixture
def esmes():
    made: list[Esme] = []

    def make(port, **kw) -> Esme:
        e = Esme(port, **kw)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


RECEIPT_RE = re.compile(
    rb"^id:(\w+) sub:001 dlvrd:00[01] submit date:\d{10} done date:\d{10} stat:(DELIVRD|UNDELIV) err:\d{3} text:"
)


def test_bind_submit_receipt_and_record(smsc, esmes):
    e = esmes(smsc.port).bind()
    pdu = e.submit("Inbraak Kerkstraat", priority_flag=1, validity_period="000001000000000R")
    assert e.pump(lambda: e.resps and e.receipts())
    resp = e.resps[0]
    assert resp.status == 0 and resp.sequence == pdu.sequence
    mid = resp.message_id.decode()
    assert re.fullmatch(r"[0-9a-f]+", mid)
    r = e.receipts()[0]
    m = RECEIPT_RE.match(r.short_message)
    assert m and m.group(1).decode() == mid and m.group(2) == b"DELIVRD"
    assert r.receipted_message_id.decode() == mid and r.message_state == 2
    assert r.source_addr == DEST.encode() and r.destination_addr == b"POLITIE"
    assert smsc.wait_for(lambda: smsc.receipts_acked == 1)
    part = smsc.received[0]
    assert (part.destination, part.source, part.message_id) == (DEST, "POLITIE", mid)
    assert (part.priority_flag, part.validity_period, part.registered_delivery) == (1, "000001000000000R", 1)
    assert (part.source_addr_ton, part.source_addr_npi, part.dest_addr_ton, part.esm_class) == (5, 0, 1, 0)
    assert smsc.messages_for("+" + DEST) == ["Inbraak Kerkstraat"]


def test_long_messages_are_reassembled(smsc, esmes):
    e = esmes(smsc.port).bind()
    gsm = "Verdachte wagen {BIN} €50 " * 20
    ucs2 = "Cambriolage à côté de l’école 🚨 " * 9
    n = e.submit_text(gsm, ref=7) + e.submit_text(ucs2, ref=8) + e.submit_text("kort", ref=9)
    assert e.pump(lambda: len(e.resps) == n and len(e.receipts()) == n)
    assert len({p.message_id for p in smsc.received}) == n  # one id (and one receipt) per part
    assert smsc.messages_for(DEST) == [gsm, ucs2, "kort"]
    assert smsc.messages_for("32470000000") == []


def test_resent_part_makes_a_second_copy_and_incomplete_is_left_out(smsc, esmes):
    e = esmes(smsc.port).bind()
    parts = add_udh(encode("x" * 200).parts, 3)
    for p in (parts[0], parts[1], parts[1]):
        e.submit(p, esm_class=0x40, registered_delivery=0)
    assert e.pump(lambda: len(e.resps) == 3)
    assert smsc.messages_for(DEST) == ["x" * 200]  # the second copy of part 2 alone is incomplete
    e.submit(parts[0], esm_class=0x40, registered_delivery=0)
    assert e.pump(lambda: len(e.resps) == 4)
    assert smsc.messages_for(DEST) == ["x" * 200, "x" * 200]


@pytest.mark.parametrize(
    ("system_id", "password", "status"), [("bin", "wrong", 0x0E), ("other", "s3cret", 0x0F), ("bin", "s3cret", 0)]
)
def test_bind_credentials(smsc_factory, esmes, system_id, password, status):
    sim = smsc_factory(system_id="bin", password="s3cret")
    e = esmes(sim.port)
    if status:
        with pytest.raises(smpplib.exceptions.PDUError) as err:
            e.bind(system_id=system_id, password=password)
        assert err.value.args[1] == status
        assert sim.bound_count == 0
    else:
        e.bind(system_id=system_id, password=password)
        assert sim.wait_for(lambda: sim.bound_count == 1)


def test_submit_on_receiver_bind_is_refused(smsc, esmes):
    e = esmes(smsc.port).bind("receiver")
    # smpplib refuses locally; send the raw PDU to check the SMSC's answer
    pdu = smpp.make_pdu("submit_sm", client=e.client, source_addr="X", destination_addr=DEST, short_message=b"x")
    e.client._socket.sendall(pdu.generate())
    assert e.pump(lambda: e.errors)
    assert e.errors[0].status == 0x04 and smsc.received == []


def test_throttle_and_set_throttle(smsc_factory, esmes):
    sim = smsc_factory(throttle_tps=5)
    e = esmes(sim.port).bind()
    for i in range(30):
        e.submit(f"m{i}", registered_delivery=0)
    assert e.pump(lambda: len(e.resps) == 30)
    throttled = [r for r in e.resps if r.status == 0x58]
    assert throttled and len(throttled) == sim.throttled
    assert len(sim.received) == 30 - len(throttled)
    assert all(r.message_id is None for r in throttled)  # trap (b): failures reach the sent handler
    sim.set_throttle(0)
    for i in range(30):
        e.submit(f"n{i}", registered_delivery=0)
    assert e.pump(lambda: len(e.resps) == 60)
    assert all(r.status == 0 for r in e.resps[30:])


def test_failing_destinations(smsc_factory, esmes):
    sim = smsc_factory(fail_destinations=["+32470000099"])
    e = esmes(sim.port).bind()
    e.submit("x", dest="32470000099")
    e.submit("y")
    assert e.pump(lambda: len(e.resps) == 2)
    assert [r.status for r in e.resps] == [0x0B, 0]
    assert [p.destination for p in sim.received] == [DEST]


@pytest.mark.parametrize(
    ("options", "text_id"),
    [
        ({"id_format": "decimal"}, lambda mid: mid),
        ({"id_format": "hex", "receipt_id_in_text": "other_base"}, lambda mid: str(int(mid, 16))),
        ({"id_format": "decimal", "receipt_id_in_text": "other_base"}, lambda mid: format(int(mid), "x")),
        ({"receipt_id_in_text": "zero_padded"}, lambda mid: mid.rjust(10, "0")),
    ],
)
def test_receipt_id_variants(smsc_factory, esmes, options, text_id):
    sim = smsc_factory(**options)
    e = esmes(sim.port).bind()
    e.submit("x")
    assert e.pump(lambda: e.resps and e.receipts())
    mid = e.resps[0].message_id.decode()
    if options.get("id_format") == "decimal":
        assert mid.isdigit()
    got = RECEIPT_RE.match(e.receipts()[0].short_message).group(1).decode()
    assert got == text_id(mid)
    if options.get("receipt_id_in_text", "same") != "same":
        assert got != mid
    assert e.receipts()[0].receipted_message_id.decode() == mid


def test_message_ids_unique_across_simulators(smsc_factory, esmes):
    ids = []
    for _ in range(2):
        sim = smsc_factory()
        e = esmes(sim.port).bind()
        e.submit("x", registered_delivery=0)
        assert e.pump(lambda e=e: e.resps)
        ids.append(e.resps[0].message_id)
    assert ids[0] != ids[1]  # a database that outlives one simulator must not see an id twice


def test_receipt_without_tlvs(smsc_factory, esmes):
    sim = smsc_factory(receipt_tlv=False)
    e = esmes(sim.port).bind()
    e.submit("x")
    assert e.pump(lambda: e.receipts())
    r = e.receipts()[0]
    assert r.receipted_message_id is None and r.message_state is None
    assert RECEIPT_RE.match(r.short_message)


def test_undeliverable_share_and_failure_only_receipts(smsc_factory, esmes):
    sim = smsc_factory(undeliverable=0.25)
    e = esmes(sim.port).bind()
    for i in range(8):
        e.submit(f"m{i}")
    for i in range(8):
        e.submit(f"f{i}", registered_delivery=2)  # receipt on failure only
    assert e.pump(lambda: len(e.resps) == 16 and len(e.receipts()) == 10)
    stats = [RECEIPT_RE.match(r.short_message).group(2) for r in e.receipts()]
    assert stats.count(b"UNDELIV") == 4
    assert {r.message_state for r in e.receipts() if b"UNDELIV" in r.short_message} == {5}
    assert {r.message_state for r in e.receipts() if b"DELIVRD" in r.short_message} == {2}


def test_receipt_redelivered_until_acknowledged(smsc, esmes):
    answers = iter([0x64, 0x64])
    e = esmes(smsc.port, on_deliver=lambda pdu: next(answers, None)).bind()
    e.submit("x")
    assert e.pump(lambda: len(e.receipts()) == 3)
    assert len({r.receipted_message_id for r in e.receipts()}) == 1
    assert smsc.wait_for(lambda: smsc.receipts_acked == 1)
    assert smsc.receipts_sent == 3


def test_receipts_wait_for_a_receiver(smsc, esmes):
    tx = esmes(smsc.port).bind("transmitter")
    tx.submit("x")
    assert tx.pump(lambda: tx.resps)
    assert tx.delivered == []
    rx = esmes(smsc.port).bind("receiver")
    assert rx.pump(lambda: rx.receipts())
    assert rx.receipts()[0].receipted_message_id == tx.resps[0].message_id


def test_inject_mo_short_and_long(smsc, esmes):
    e = esmes(smsc.port).bind()
    smsc.inject_mo("+32470111222", "STOP")
    long_text = "Ik heb een verdachte wagen gezien in de Kerkstraat, een grijze Golf. Geïnformeerd? " * 3
    smsc.inject_mo("32470111333", long_text)
    n_long = len(encode(long_text).parts)
    assert e.pump(lambda: len(e.mos()) == 1 + n_long)
    first = e.mos()[0]
    assert (first.source_addr, first.data_coding, first.short_message) == (b"32470111222", 0, b"STOP")
    parts = e.mos()[1:]
    assert all(p.esm_class & 0x40 and p.data_coding == 8 for p in parts)
    split = [split_udh(p.short_message, p.esm_class) for p in parts]
    assert [info.seq for info, _ in split] == list(range(1, n_long + 1))
    assert decode(b"".join(body for _, body in split), 8) == long_text
    assert smsc.wait_for(lambda: smsc.mo_acked == 1 + n_long)


def test_mo_queued_until_a_receiver_binds(smsc, esmes):
    smsc.inject_mo("32470111222", "Bedankt")
    e = esmes(smsc.port).bind()
    assert e.pump(lambda: e.mos())
    assert e.mos()[0].short_message == b"Bedankt"


def test_drop_link_now(smsc, esmes):
    e = esmes(smsc.port).bind()
    assert smsc.wait_for(lambda: smsc.bound_count == 1)
    smsc.drop_link()
    with pytest.raises(smpplib.exceptions.ConnectionError):
        e.pump(lambda: False, timeout=20)  # ends at the ConnectionError
    assert smsc.wait_for(lambda: smsc.bound_count == 0)
    again = esmes(smsc.port).bind()  # the SMSC itself keeps listening
    again.submit("x")
    assert again.pump(lambda: again.resps)


def test_drop_after_accepts_but_never_answers(smsc, esmes):
    e = esmes(smsc.port).bind()
    smsc.drop_link(drop_after=2)
    e.submit("m0", registered_delivery=0)
    e.submit("m1", registered_delivery=0)
    with pytest.raises(smpplib.exceptions.ConnectionError):
        e.pump(lambda: False, timeout=20)  # ends at the ConnectionError
    assert [r.status for r in e.resps] == [0]
    assert [p.short_message for p in smsc.received] == [b"m0", b"m1"]  # m1 accepted, its resp lost
    assert e.resps[0].message_id.decode() == smsc.received[0].message_id


def test_receipt_of_a_dropped_resp_comes_after_reconnect(smsc, esmes):
    e = esmes(smsc.port).bind()
    smsc.drop_link(drop_after=1)
    e.submit("m0")
    with pytest.raises(smpplib.exceptions.ConnectionError):
        e.pump(lambda: False, timeout=20)  # ends at the ConnectionError
    assert e.resps == []
    again = esmes(smsc.port).bind()
    assert again.pump(lambda: again.receipts())
    assert again.receipts()[0].receipted_message_id.decode() == smsc.received[0].message_id


def test_unanswered_receipt_redelivered_after_reconnect(smsc, esmes):
    e = esmes(smsc.port, on_deliver=lambda pdu: 0x64).bind()  # never acknowledges
    e.submit("x")
    assert e.pump(lambda: e.receipts())
    smsc.drop_link()
    e.close()
    again = esmes(smsc.port).bind()
    assert again.pump(lambda: again.receipts())
    assert smsc.wait_for(lambda: smsc.receipts_acked == 1)


def test_blackhole_stops_answering(smsc, esmes):
    e = esmes(smsc.port).bind()
    smsc.blackhole()
    e.submit("x")
    e.client.send_pdu(smpp.make_pdu("enquire_link", client=e.client))
    assert not e.pump(lambda: e.resps, timeout=0.5)  # an application deadline is all that notices
    assert smsc.received == []
    smsc.blackhole(False)
    e.submit("y")
    assert e.pump(lambda: e.resps)


def test_smsc_unbind_reaches_the_client(smsc, esmes):
    e = esmes(smsc.port).bind()
    assert smsc.wait_for(lambda: smsc.bound_count == 1)
    seen = []
    orig = e.client.read_pdu

    def spy():
        pdu = orig()
        seen.append(pdu.command)
        return pdu

    e.client.read_pdu = spy
    smsc.send_unbind()
    assert e.pump(lambda: "unbind" in seen)


def test_stop_does_not_hang_on_a_client_that_stopped_reading(smsc_factory):
    sim = smsc_factory()
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    bind = smpp.make_pdu("bind_transceiver", client=smpplib.client.Client("x", 1), system_id="a", password="b")
    s.sendall(bind.generate())
    assert sim.wait_for(lambda: sim.bound_count == 1)
    stuck = threading.Event()
    injected = [0]

    def flood():  # MOs the client never reads, until the SMSC's sendall blocks
        while not stuck.is_set():
            sim.inject_mo("32470000001", "antwoord " * 150)
            injected[0] += 1

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 20
        last = -1
        while injected[0] != last:  # blocked = no progress for a while
            assert time.monotonic() < deadline, "the SMSC never blocked on the full socket"
            last = injected[0]
            time.sleep(0.3)
    finally:
        stuck.set()  # the flood ends even when the test fails
    sim.stop()  # returns: close() wakes the blocked sendall
    t.join(timeout=10)
    assert not t.is_alive()
    s.close()


def test_smsc_enquire_link_is_answered_by_smpplib(smsc, esmes):
    e = esmes(smsc.port).bind()
    assert smsc.wait_for(lambda: smsc.bound_count == 1)
    smsc.send_enquire_link()
    e.pump(lambda: smsc.enquire_link_resps == 1)
    assert smsc.enquire_link_resps == 1


def _raw(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def _read_pdu(s: socket.socket) -> tuple[int, int, int, bytes]:
    head = b""
    while len(head) < 16:
        chunk = s.recv(16 - len(head))
        if not chunk:
            raise ConnectionError("closed")
        head += chunk
    length, cmd, status, seq = struct.unpack(">LLLL", head)
    body = b""
    while len(body) < length - 16:
        body += s.recv(length - 16 - len(body))
    return cmd, status, seq, body


def test_malformed_pdus_get_generic_nack(smsc, esmes):
    with _raw(smsc.port) as s:
        s.sendall(struct.pack(">LLLL", 16, 0x00000099, 0, 42))  # unknown command id
        assert _read_pdu(s)[:3] == (0x80000000, 0x03, 42)
        s.sendall(struct.pack(">LLLL", 17, 0x00000004, 0, 43) + b"\xff")  # truncated submit_sm
        cmd, status, seq, _ = _read_pdu(s)
        assert (cmd, seq) in ((0x80000000, 43), (0x80000004, 43))
        assert status != 0 or cmd == 0x80000004
        s.sendall(struct.pack(">LLLL", 8, 0x15, 0, 44))  # impossible command_length: nack, close
        assert _read_pdu(s)[:2] == (0x80000000, 0x02)
        assert s.recv(1) == b""
    e = esmes(smsc.port).bind()  # still serving
    e.submit("x")
    assert e.pump(lambda: e.resps and e.resps[0].status == 0)


def test_random_garbage_never_kills_the_link(smsc):
    rnd = random.Random(20261128)
    commands = [0x1, 0x2, 0x4, 0x9, 0x15, 0x80000005, 0x103, 0x21, 0x3, 0x12345678]  # not unbind (0x6)
    with _raw(smsc.port) as s:
        bind = smpp.make_pdu("bind_transceiver", client=smpplib.client.Client("x", 1), system_id="a", password="b")
        bind.sequence = 1
        s.sendall(bind.generate())
        assert _read_pdu(s)[:2] == (0x80000009, 0)
        for seq in range(2, 400):
            body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 120)))
            s.sendall(struct.pack(">LLLL", 16 + len(body), rnd.choice(commands), 0, seq) + body)
        s.sendall(struct.pack(">LLLL", 16, 0x15, 0, 9999))  # enquire_link after the garbage
        deadline = time.monotonic() + 10
        while True:  # skip the answers to the garbage; the link must still answer this one
            cmd, status, seq, _ = _read_pdu(s)
            if (cmd, seq) == (0x80000015, 9999):
                break
            assert time.monotonic() < deadline
    assert smsc.wait_for(lambda: smsc.enquire_links >= 1)


def test_latency_delays_but_keeps_order(smsc_factory, esmes):
    sim = smsc_factory(latency_ms=30)
    e = esmes(sim.port).bind()
    seqs = [e.submit(f"m{i}").sequence for i in range(20)]
    assert e.pump(lambda: len(e.resps) == 20 and len(e.receipts()) == 20)
    assert [r.sequence for r in e.resps] == seqs


def test_start_stop_idempotent_and_port_zero():
    sim = SmscSim(port=0)
    try:
        sim.start()
        sim.start()
        assert sim.port > 0
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5):
            pass
    finally:
        sim.stop()
    sim.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()


def test_ten_thousand_windowed_submits(smsc, esmes, capsys):
    """The send benchmark's peer must keep up: 10,000 submits through a window of 50."""
    e = esmes(smsc.port).bind()
    total, window, sent = 10_000, 50, 0
    t0 = time.perf_counter()
    while len(e.resps) < total:
        while sent < total and sent - len(e.resps) < window:
            e.submit(f"m{sent}", registered_delivery=0)
            sent += 1
        need = sent if sent == total else sent - window + 1  # room for one more, or all at the end
        assert e.pump(lambda need=need: len(e.resps) >= need, timeout=10)
    rate = total / (time.perf_counter() - t0)
    assert all(r.status == 0 for r in e.resps)
    assert len({r.message_id for r in e.resps}) == total == len(smsc.received)
    with capsys.disabled():
        print(f"\nsmsc_sim: {total} submit_sm through a window of {window}: {rate:,.0f}/s")


@pytest.fixture
def sim_cli(tmp_path):
    """`bin-console smsc-sim` in a child process; ends it by PID after a bounded wait, whatever happens."""
    env = dict(os.environ, BIN_CONSOLE_DB=f"sqlite:///{tmp_path / 'x.db'}", PYTHONUNBUFFERED="1")
    env.pop("BIN_CONSOLE_CONFIG", None)
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no developer config file
    started: list[subprocess.Popen] = []

    def start(*options: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bin_console", "smsc-sim", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # a Ctrl+C in the test runner's terminal is not its signal
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()


def _stop(proc: subprocess.Popen, signum: int) -> str:
    """Signal the simulator and collect its output; a bounded wait (the fixture kills it after a failure)."""
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=20)
    return out


def test_cli_runs_in_foreground_and_masks_numbers(sim_cli):
    proc = sim_cli("--undeliverable", "1")
    try:
        line = proc.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert m, line
        e = Esme(int(m.group(1))).bind()
        e.submit("Inbraak", dest="32475123456")
        assert e.pump(lambda: e.receipts())
        assert b"UNDELIV" in e.receipts()[0].short_message
        e.client.unbind()
        e.close()
        lines = []
        while not any("submit_sm" in x for x in lines):
            lines.append(proc.stdout.readline())
        text = "".join(lines)
        assert "...456" in text and "32475123456" not in text and "Inbraak" not in text
    finally:
        out = _stop(proc, signal.SIGINT)
    assert proc.returncode == 0, out
    assert "stopped: 1 submit_sm accepted" in out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_stops_on_a_signal_with_clients_still_bound(sim_cli, esmes, signum):
    """Clients that never unbind and leave their receipts unread do not keep the simulator running."""
    proc = sim_cli()
    m = re.search(r"127\.0\.0\.1:(\d+)", proc.stdout.readline())
    assert m
    port = int(m.group(1))
    bound = [esmes(port).bind() for _ in range(3)]
    for e in bound:
        e.submit("test", dest="32475123456")
    # Each submit answered before the signal: the count below is the simulator's, not a race with the wire.
    for e in bound:
        assert e.pump(lambda e=e: e.resps)
    assert bound[0].pump(lambda: bound[0].receipts())
    out = _stop(proc, signum)
    assert proc.returncode == 0, out
    assert "stopped: 3 submit_sm accepted" in out


def test_training_auto_reply_answers_a_share_of_delivered_messages():
    """The demo's training SMSC makes some members reply (one of them STOP) so the inbox has work."""
    import smpplib.client
    import smpplib.consts

    from bin_console.training.smsc_sim import TRAINING_REPLIES, SmscSim

    got: list[tuple[str, bytes]] = []
    with SmscSim(auto_reply=0.5, auto_reply_delay_s=0.05) as sim:
        c = smpplib.client.Client("127.0.0.1", sim.port, allow_unknown_opt_params=True)

        def on_rx(pdu):
            if not (pdu.esm_class or 0) & 0x04:  # not a receipt: a member reply
                got.append((pdu.source_addr.decode(), pdu.short_message))

        c.set_message_received_handler(on_rx)
        c.connect()
        c.bind_transceiver(system_id="training", password="x")
        for i in range(4):
            c.send_message(
                source_addr="POLITIE",
                source_addr_ton=5,
                destination_addr=f"3247000000{i}",
                dest_addr_ton=1,
                dest_addr_npi=1,
                short_message=b"test",
                registered_delivery=1,
            )
        deadline = time.monotonic() + 20  # ends once both replies came
        while len(got) < 2 and time.monotonic() < deadline:
            c.read_once()
        c.unbind()
        c.disconnect()
    assert len(got) == 2  # exactly half of 4 delivered messages
    assert {src for src, _ in got} <= {f"3247000000{i}" for i in range(4)}
    assert all(body.decode() in TRAINING_REPLIES for _, body in got)
