"""Interop: a plain smpplib client against a non-smpplib SMSC (node-smpp server, tests/interop)."""

from __future__ import annotations

import re
import select
import time

import smpplib.client

from bin_console.channels.smpp.encoding import add_udh, decode, encode, split_udh


def _client(port: int):
    c = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    resps, delivered = [], []
    c.set_message_sent_handler(lambda pdu: resps.append(pdu))
    c.set_message_received_handler(lambda pdu: delivered.append(pdu))
    c.set_error_pdu_handler(lambda pdu: None)
    return c, resps, delivered


def _pump(c, predicate, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if select.select([c._socket], [], [], min(left, 0.1))[0]:
            c.read_once(auto_send_enquire_link=False)
    return True


def _reassemble(submits: list[dict], dest: str) -> list[str]:
    """Join the peer's logged parts per concatenation reference (as a handset would)."""
    groups: dict[tuple, dict[int, bytes]] = {}
    order: list[tuple] = []
    for s in submits:
        if s["destination"] != dest:
            continue
        info, body = split_udh(bytes.fromhex(s["short_message"]), s["esm_class"])
        key = (info.ref, info.total, s["data_coding"]) if info else ("single", s["message_id"], s["data_coding"])
        if key not in groups:
            groups[key] = {}
            order.append(key)
        groups[key][info.seq if info else 1] = body
    return [decode(b"".join(groups[k][i] for i in sorted(groups[k])), k[2]) for k in order]


def test_long_ucs2_and_gsm_through_node_peer(node_smsc):
    c, resps, delivered = _client(node_smsc.port)
    c.connect()
    c.bind_transceiver(system_id="bin", password="pw")
    dest = "32475123456"
    ucs2 = "Inbraak in de Kerkstraat — verdachte in grijze jas, België 🚨 Bel 101. " * 3
    gsm = "Verdachte wagen {BIN} gezien aan de Markt, nummerplaat 1-ABC-123 [blauw] €50 ~ ^ | \\ " * 3
    n = 0
    for ref, text in ((41, ucs2), (42, gsm)):
        enc = encode(text)
        parts = add_udh(enc.parts, ref)
        assert len(parts) > 1
        for p in parts:
            c.send_message(
                source_addr="POLITIE",
                source_addr_ton=5,
                source_addr_npi=0,
                destination_addr=dest,
                dest_addr_ton=1,
                dest_addr_npi=1,
                short_message=p,
                data_coding=enc.data_coding,
                esm_class=0x40,
                registered_delivery=1,
            )
            n += 1
    assert _pump(c, lambda: len(resps) == n and len(delivered) == n)
    assert all(r.status == 0 for r in resps)
    submits = node_smsc.wait_submits(n)
    assert len(submits) == n
    assert [s["message_id"] for s in submits] == [r.message_id.decode() for r in resps]
    assert {s["data_coding"] for s in submits[: len(encode(ucs2).parts)]} == {8}
    assert _reassemble(submits, dest) == [ucs2, gsm]
    # no part of the GSM message ends on a lone escape (the smpplib make_parts bug)
    assert not any(bytes.fromhex(s["short_message"]).endswith(b"\x1b") for s in submits)
    # the node peer's receipts parse the same way as the training SMSC's
    for r in delivered:
        assert r.esm_class & 0x3C == 0x04
        m = re.match(rb"id:(\w+) .*stat:(\w+)", r.short_message)
        assert m and m.group(2) == b"DELIVRD"
        assert m.group(1) == r.receipted_message_id
    c.unbind()
    c.disconnect()
