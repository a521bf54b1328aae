"""The sender against a non-smpplib SMSC (node `smpp` server, tests/interop/smsc.js)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sender_helpers import alert, make_network, mobile, open_count, runner, states, wait_until

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
    finally:
        r.stop()
    c = states(sqlite_db)
    assert c["submitted"] + c["delivered"] == 50, c
    subs = peer.wait_submits(100)
    assert len(subs) == 100
    dests = {str(s.get("destination_addr") or s.get("dest") or "") for s in subs}
    if dests != {""}:
        assert {mobile(i).lstrip("+") for i in range(50)} <= {d.lstrip("+") for d in dests}
