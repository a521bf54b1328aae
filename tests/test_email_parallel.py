"""Parallel SMTP sessions (`[smtp] connections`): one pace, one writer, and a session that drops
loses nothing and doubles nothing. Against a real aiosmtpd server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from bin_console.data.models import Delivery
from mail_fixtures import email_of, make_email_network, smtp_settings, wait_until
from sqlalchemy import select
from test_email_send import _run, _send

from bin_console.channels.email.driver import EmailSender


@dataclass(frozen=True)
class Seen:
    peer: tuple  # the client's (address, port): which session it came over
    rcpt: str
    message_id: str
    at: float


class DroppingRelay:
    """Records every message with the session it came over. `drop_rcpt_at`: the n-th RCPT (1-based,
    over all sessions) aborts its connection before any answer (nothing was sent: no duplicate
    risk); `drop_data_at`: the n-th message is taken, then the connection aborted before the 250
    (RFC 1047: the client cannot know it arrived)."""

    def __init__(self, *, drop_rcpt_at: int | None = None, drop_data_at: int | None = None) -> None:
        self.drop_rcpt_at, self.drop_data_at = drop_rcpt_at, drop_data_at
        self.lock = threading.Lock()
        self.rcpts = 0
        self.datas = 0
        self.seen: list[Seen] = []
        self.peers: set[tuple] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpts += 1
            drop = self.rcpts == self.drop_rcpt_at
            self.peers.add(session.peer)
        if drop:
            server.transport.abort()
            return "421 4.3.0 gone"  # never reaches the client: the connection is closed
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        content = bytes(envelope.content)
        mid = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in content.split(b"\r\n")
                if line.startswith(b"Message-ID:")
            ),
            "",
        )
        with self.lock:
            self.datas += 1
            drop = self.datas == self.drop_data_at
            self.seen.extend(Seen(session.peer, r, mid, time.monotonic()) for r in envelope.rcpt_tos)
        if drop:
            server.transport.abort()
            return "451 4.3.0 dropped"
        return f"250 2.0.0 Ok: queued as P{len(self.seen)}"


@pytest.fixture
def relay_factory():
    started: list[Controller] = []

    def make(**kw) -> tuple[DroppingRelay, Controller]:
        handler = DroppingRelay(**kw)
        with socket.socket() as probe:  # aiosmtpd's Controller checks it listens: it needs the port itself
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        ctl = Controller(handler, hostname="127.0.0.1", port=port)
        ctl.start()
        started.append(ctl)
        return handler, ctl

    yield make
    for ctl in started:
        ctl.stop()


class _Port:
    def __init__(self, ctl: Controller) -> None:
        self.port = ctl.port


def test_two_sessions_one_drops_before_and_one_inside_data_nobody_lost_nothing_doubled_unflagged(db, relay_factory):
    n = 60
    net = make_email_network(db, n)
    relay, ctl = relay_factory(drop_rcpt_at=7, drop_data_at=25)
    alert_id = _send(db, net)
    p = _run(db, smtp_settings(_Port(ctl), connections=2), alert_id)

    assert p.counts == {"submitted": n}
    assert len(relay.peers) >= 3  # two sessions, and at least one of them came back after its drop
    copies = Counter(s.rcpt for s in relay.seen)
    assert set(copies) == {email_of(i) for i in range(n)}  # nobody lost
    twice = [a for a, k in copies.items() if k > 1]
    # only the message taken just before its connection was aborted (no 250 heard) went twice:
    # with the same Message-ID, and it is the only row flagged; the drop before DATA sent nothing twice
    assert len(twice) == 1 and copies[twice[0]] == 2
    assert len({s.message_id for s in relay.seen if s.rcpt == twice[0]}) == 1
    with db.read() as s:
        rows = {d.address: d for d in s.scalars(select(Delivery).where(Delivery.alert_id == alert_id))}
    assert [a for a, d in rows.items() if d.possible_duplicate] == twice
    ids = {s.rcpt: s.message_id for s in relay.seen}
    assert all(ids[a].startswith(f"<bin.{alert_id}.{d.id}.") for a, d in rows.items())  # + the member's tag


def test_both_sessions_send_and_share_one_pace(db, relay_factory):
    n, per_minute = 24, 600  # 10 a second for the sender, not 10 per session
    net = make_email_network(db, n)
    relay, ctl = relay_factory()
    alert_id = _send(db, net)
    p = _run(db, smtp_settings(_Port(ctl), connections=2, max_per_minute=per_minute), alert_id)
    assert p.counts == {"submitted": n}
    assert len(relay.peers) == 2 and len({s.peer for s in relay.seen}) == 2  # both sessions sent
    times = sorted(s.at for s in relay.seen)
    rate = (len(times) - 1) / (times[-1] - times[0]) * 60
    assert rate <= per_minute * 1.1, rate  # one shared pace (two would give about 1,200/min)
    assert Counter(s.rcpt for s in relay.seen).most_common(1)[0][1] == 1


def test_a_sender_stopped_mid_alert_hands_back_what_it_held_and_the_next_one_finishes(db, relay_factory):
    n = 300
    net = make_email_network(db, n)
    relay, ctl = relay_factory()
    alert_id = _send(db, net)
    sender = EmailSender(db, smtp_settings(_Port(ctl), connections=2), password=None, poll_s=0.05)
    sender.start()
    try:
        wait_until(lambda: len(relay.seen) >= 20, 30, "the sender to get going")
    finally:
        sender.stop()
    with db.read() as s:
        states = Counter(s.scalars(select(Delivery.state).where(Delivery.alert_id == alert_id)))
        flagged = s.scalars(select(Delivery.id).where(Delivery.possible_duplicate.is_(True))).all()
    assert "submitting" not in states  # every claimed row was released or settled
    assert states["submitted"] == len(relay.seen) and not flagged
    p = _run(db, smtp_settings(_Port(ctl), connections=2), alert_id)
    assert p.counts == {"submitted": n}
    assert Counter(Counter(s.rcpt for s in relay.seen).values()) == {1: n}  # each member once


def test_a_session_still_inside_data_when_stop_returns_stores_its_answer_itself(db, smtp_sim_factory):
    net = make_email_network(db, 5)
    sim = smtp_sim_factory(stall_at=1, stall_s=2.5)  # the first message waits 2.5 s for its 250
    alert_id = _send(db, net)
    sender = EmailSender(db, smtp_settings(sim, timeout=2.0), password=None, poll_s=0.05)
    sender.start()
    wait_until(lambda: sim.count >= 1, 20, "the first message to reach DATA")
    sender.stop(timeout=0.2)  # returns (and stops the writer) while the session waits for the 250
    assert sender._writer is None

    def settled():
        with db.read() as s:
            rows = s.scalars(select(Delivery).where(Delivery.alert_id == alert_id)).all()
        return rows if all(r.state != "submitting" for r in rows) else None

    rows = wait_until(settled, 20, "the late session to hand its rows back")
    # the one inside DATA is flagged (it may have arrived), the others are back in the queue unflagged
    assert sorted((r.state, r.possible_duplicate) for r in rows) == [("queued", False)] * 4 + [("queued", True)]
