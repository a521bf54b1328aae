"""The sender against a non-smpplib SMSC (node `smpp` server, tests/interop/smsc.js)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sender_helpers import alert, make_network, mobile, open_count, runner, states, wait_until

from bin_console.channels.smpp.encoding import decode, split_udh

SMSC_JS = Path(__file__).parent / "interop" / "smsc.js"
TEXT = "Interop: verdachte persoon in de Stationsstraat, bel 101. " * 3  # 2 GSM-7 parts


@pytest.mark.skipif(not SMSC_JS.exists(), reason="tests/interop/smsc.js is not in this checkout")
def test_sender_against_node_smpp_peer(sqlite_db, request):
    peer = request.getfixturevalue("node_smsc")
    net = make_network(sqlite_db, 50)
    alert(sqlite_db, net, TEXT)

    class _Port:
        port = peer.port

    r = runner(sqlite_db, _Port, window=5)
    r.start()
    try:
        assert wait_until(lambda: open_count(sqlite_db) == 0, 30), (states(sqlite_db), r.state, r.detail)
        # its receipts (node-smpp's encoding of ids and TLVs) match our parts
        assert wait_until(lambda: states(sqlite_db).get("delivered", 0) == 50, 20), states(sqlite_db)
    finally:
        r.stop()
    c = states(sqlite_db)
    assert c["submitted"] + c["delivered"] == 50, c
    subs = peer.wait_submits(100)
    assert len(subs) == 100
    by_dest: dict[str, list[tuple[int, bytes]]] = {}
    for sub in subs:
        assert sub["esm_class"] == 0x40 and sub["data_coding"] == 0 and sub["registered_delivery"] == 1
        info, body = split_udh(bytes.fromhex(sub["short_message"]), sub["esm_class"])
        by_dest.setdefault(sub["destination"], []).append((info.seq, body))
    assert set(by_dest) == {mobile(i).lstrip("+") for i in range(50)}
    for parts in by_dest.values():
        assert decode(b"".join(body for _, body in sorted(parts)), 0) == TEXT
