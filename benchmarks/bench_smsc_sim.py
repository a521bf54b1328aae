"""Throughput of the training SMSC against a plain windowed smpplib client (not collected by pytest).

Run: .venv/bin/python benchmarks/bench_smsc_sim.py [--messages 10000] [--window 50] [--receipts]
The SMSC runs in its own process (as it would for the send benchmark), so the two do not share a GIL.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import select
import time

import smpplib.client


def _serve(port_q, stop_ev, receipts: bool) -> None:
    from bin_console.training.smsc_sim import SmscSim

    sim = SmscSim(receipts=receipts)
    sim.start()
    port_q.put(sim.port)
    stop_ev.wait()
    sim.stop()
    port_q.put(time.process_time())  # CPU seconds the SMSC process used


def run(messages: int, window: int, receipts: bool, nodelay: bool = False) -> float:
    port_q, stop_ev = mp.Queue(), mp.Event()
    proc = mp.Process(target=_serve, args=(port_q, stop_ev, receipts), daemon=True)
    proc.start()
    port = port_q.get(timeout=10)
    c = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    acked = 0
    got_receipts = 0

    def sent(pdu):
        nonlocal acked
        assert pdu.status == 0, pdu.status
        acked += 1

    def received(pdu):
        nonlocal got_receipts
        got_receipts += 1

    c.set_message_sent_handler(sent)
    c.set_message_received_handler(received)
    c.connect()
    if nodelay:
        import socket

        c._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.bind_transceiver(system_id="bench", password="x")
    t0 = time.perf_counter()
    n = 0
    while acked < messages or (receipts and got_receipts < messages):
        while n < messages and n - acked < window:
            c.send_message(
                source_addr="POLITIE",
                source_addr_ton=5,
                destination_addr=f"32475{n:06d}",
                dest_addr_ton=1,
                dest_addr_npi=1,
                short_message=b"Inbraak Kerkstraat, bel 101",
                registered_delivery=1 if receipts else 0,
            )
            n += 1
        if select.select([c._socket], [], [], 5)[0]:
            c.read_once(auto_send_enquire_link=False)
        else:
            raise SystemExit(f"stalled at {acked} acks")
    rate = messages / (time.perf_counter() - t0)
    c.unbind()
    c.disconnect()
    stop_ev.set()
    sim_cpu = port_q.get(timeout=10)
    proc.join(10)
    print(f"SMSC process CPU: {sim_cpu:.2f} s, client CPU: {time.process_time():.2f} s")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--window", type=int, default=50)
    ap.add_argument("--receipts", action="store_true", help="ask for (and wait for) a receipt per message")
    ap.add_argument("--nodelay", action="store_true", help="TCP_NODELAY on the client socket")
    a = ap.parse_args()
    rate = run(a.messages, a.window, a.receipts, a.nodelay)
    what = (" incl. receipts" if a.receipts else "") + (", client TCP_NODELAY" if a.nodelay else "")
    print(f"{a.messages} submit_sm, window {a.window}{what}: {rate:,.0f} submit/s")


if __name__ == "__main__":
    main()
