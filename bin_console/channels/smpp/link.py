"""The SMPP wire adapter: smpplib's Client for one connection, owning its socket.

smpplib traps (shared notes/smpplib.md §0) handled here: unknown TLVs are tolerated
(``allow_unknown_opt_params=True`` given to the Client), no handler ever raises (the default error
handler would kill the read loop on one ESME_RTHROTTLED), and the per-instance logger is pinned to
INFO because smpplib's DEBUG output dumps every PDU in hex, the bind PDU with its password
included. One SmppLink per connection attempt (trap f). Nothing outside reaches into its socket:
select() gets ``socket``, writes go through ``sendall``/``respond``/``send_enquire_link``.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import smpplib.client
import smpplib.consts as C
import smpplib.smpp

WIRE_LOGGER = "bin_console.smpp.wire"
logging.getLogger(WIRE_LOGGER).setLevel(logging.INFO)  # never DEBUG: PDU dumps hold the password


class SmppLink(smpplib.client.Client):
    """A Client for one connection attempt, driven by SenderRunner's select loop (never read_once)."""

    # smpplib's (untyped) socket: set by connect(), None once closed
    _socket: Any

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        super().__init__(host, port, timeout=timeout, logger_name=WIRE_LOGGER, allow_unknown_opt_params=True)
        # Never the defaults: the default error handler raises out of the read loop.
        self.set_error_pdu_handler(lambda pdu: None)
        self.set_message_sent_handler(lambda pdu, **kw: None)
        self.set_message_received_handler(lambda pdu, **kw: None)

    def connect(self) -> None:
        super().connect()
        # Pipelined submits are small writes: without NODELAY, Nagle holds each one back until the
        # previous one is acked, and the SMSC's delayed ACK turns that into a stall per round trip.
        try:
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    @property
    def socket(self) -> socket.socket:
        """For select() only: reads go through read_pdu(), writes through sendall()/send_pdu()."""
        return self._socket

    def fileno(self) -> int:
        return self._socket.fileno()

    def sendall(self, data: bytes) -> None:
        """Write ready-made PDUs (encode_submit_sm) in one system call."""
        self._socket.sendall(data)

    def unbind_within(self, timeout: float) -> None:
        """Orderly unbind at shutdown, waiting at most `timeout` for the SMSC's unbind_resp."""
        self._socket.settimeout(timeout)
        self.unbind()

    def respond(self, command: str, sequence: int, status: int = 0) -> None:
        """Send a *_resp (deliver_sm_resp, enquire_link_resp, unbind_resp) for a received request."""
        pdu = smpplib.smpp.make_pdu(command, client=self, status=status)
        pdu.sequence = sequence
        self.send_pdu(pdu)

    def send_enquire_link(self) -> int:
        pdu = smpplib.smpp.make_pdu("enquire_link", client=self)
        self.send_pdu(pdu)
        return pdu.sequence

    def close_quietly(self) -> None:
        """Disconnect, ignoring every error (the link is already gone or going)."""
        try:
            if self._socket is not None:
                self._socket.close()
        except OSError:
            pass
        self._socket = None
        self.state = C.SMPP_CLIENT_STATE_CLOSED
