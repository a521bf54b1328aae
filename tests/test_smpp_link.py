"""SmppLink's buffered reader over a real socket pair: the same PDUs smpplib would parse, however
the bytes arrive (one recv for a burst, PDUs split across reads)."""

from __future__ import annotations

import socket

import pytest
import smpplib.client
import smpplib.exceptions
import smpplib.smpp

from bin_console.channels.smpp.link import SmppLink, SubmitResp

_PEER = smpplib.client.Client("127.0.0.1", 0)  # never connected: only numbers the PDUs it makes


def _pdu(command: str, seq: int, **fields) -> bytes:
    p = smpplib.smpp.make_pdu(command, client=_PEER, **fields)
    p.sequence = seq
    return p.generate()


@pytest.fixture
def link():
    ours, peer = socket.socketpair()
    ours.settimeout(5)
    lk = SmppLink("127.0.0.1", 0)
    lk._socket = ours  # what connect() would have set: this is our end of a real connection
    yield lk, peer
    lk.close_quietly()
    peer.close()


def test_a_burst_of_answers_parses_as_smpplib_does_in_one_read(link):
    lk, peer = link
    wire = [
        _pdu("submit_sm_resp", 7, message_id="abc123"),
        _pdu("submit_sm_resp", 8, status=0x58),  # throttled: no message id
        _pdu("enquire_link", 9),
        _pdu("deliver_sm", 10, source_addr="32470000001", short_message=b"STOP", esm_class=0),
        _pdu("submit_sm_resp", 11, message_id="0A1B"),
    ]
    peer.sendall(b"".join(wire))
    got = []
    while len(got) < len(wire):
        got.extend(lk.read_ready())
    assert [p.command for p in got] == [
        "submit_sm_resp",
        "submit_sm_resp",
        "enquire_link",
        "deliver_sm",
        "submit_sm_resp",
    ]
    assert [p.sequence for p in got] == [7, 8, 9, 10, 11]
    for raw, p in zip(wire, got, strict=True):
        ref = smpplib.smpp.parse_pdu(raw, client=_PEER, allow_unknown_opt_params=True)
        assert int(p.status or 0) == int(ref.status or 0)
        if p.command == "submit_sm_resp":
            assert isinstance(p, SubmitResp)
            assert p.message_id == (ref.message_id or b"")
            assert p.is_error() == ref.is_error()
    assert got[3].short_message == b"STOP"


def test_pdus_split_across_reads_wait_for_their_rest(link):
    lk, peer = link
    raw = _pdu("submit_sm_resp", 1, message_id="m1") + _pdu("submit_sm_resp", 2, message_id="m2")
    peer.sendall(raw[:5])
    assert lk.read_ready() == []  # a header is not there yet
    peer.sendall(raw[5:30])
    first = lk.read_ready()
    assert [(p.sequence, p.message_id) for p in first] == [(1, b"m1")]
    peer.sendall(raw[30:])
    assert [(p.sequence, p.message_id) for p in lk.read_ready()] == [(2, b"m2")]
    # smpplib's blocking read (bind, unbind) takes from the same buffer
    peer.sendall(_pdu("unbind_resp", 3)[:10])
    peer.sendall(_pdu("unbind_resp", 3)[10:])
    assert lk.read_pdu().command == "unbind_resp"


def test_end_of_stream_raises(link):
    lk, peer = link
    peer.close()
    with pytest.raises(smpplib.exceptions.ConnectionError):
        lk.read_ready()
