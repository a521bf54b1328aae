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
import struct
from typing import Any

import smpplib.client
import smpplib.consts as C
import smpplib.exceptions
import smpplib.smpp

WIRE_LOGGER = "bin_console.smpp.wire"
logging.getLogger(WIRE_LOGGER).setLevel(logging.INFO)  # never DEBUG: PDU dumps hold the password


_SUBMIT_SM_RESP = 0x80000004
_HEADER = struct.Struct(">LLLL")  # command_length, command_id, command_status, sequence_number
_RECV_BYTES = 65536


class SubmitResp:
    """A submit_sm_resp read by the fast path: the fields the sender uses, as smpplib names them."""

    __slots__ = ("status", "sequence", "message_id")
    command = "submit_sm_resp"

    def __init__(self, status: int, sequence: int, message_id: bytes) -> None:
        self.status = status
        self.sequence = sequence
        self.message_id = message_id

    def is_error(self) -> bool:  # as smpplib's PDU.is_error (its unbind() asks)
        return self.status != C.SMPP_ESME_ROK


class SmppLink(smpplib.client.Client):
    """A Client for one connection attempt, driven by SenderRunner's select loop (never read_once)."""

    # smpplib's (untyped) socket: set by connect(), None once closed
    _socket: Any

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        super().__init__(host, port, timeout=timeout, logger_name=WIRE_LOGGER, allow_unknown_opt_params=True)
        # bytes read from the socket, not yet parsed (after read_ready: at most one partial PDU)
        self._rbuf = bytearray()
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

    def sendall(self, data: bytes) -> None:
        """Write ready-made PDUs (encode_submit_sm) in one system call."""
        self._socket.sendall(data)

    # --- reading: buffered, so a burst of answers costs one recv(), not two per PDU ---------------
    # (every recv releases and retakes the GIL, which the sender's writer thread wants too)

    def read_ready(self) -> list:
        """After select() said readable: one recv(), then every complete PDU in the buffer (the
        rest of a partial one makes the socket readable again). EOF or a socket error raises."""
        self._fill()
        out = []
        while (pdu := self._next_buffered()) is not None:
            out.append(pdu)
        return out

    def read_pdu(self):
        """smpplib's blocking read (bind, unbind), from the same buffer as read_ready."""
        while (pdu := self._next_buffered()) is None:
            self._fill()
        return pdu

    def _fill(self) -> None:
        try:
            data = self._socket.recv(_RECV_BYTES)
        except TimeoutError:
            raise
        except OSError as exc:
            self.logger.warning(exc)
            raise smpplib.exceptions.ConnectionError() from None
        if not data:
            raise smpplib.exceptions.ConnectionError()
        self._rbuf += data

    def _next_buffered(self):
        buf = self._rbuf
        if len(buf) < 16:
            return None
        length, command_id, status, sequence = _HEADER.unpack_from(buf)
        if length < 16:
            raise smpplib.exceptions.PDUError("Broken PDU")
        if len(buf) < length:
            return None
        raw = bytes(buf[:length])
        del buf[:length]
        if command_id == _SUBMIT_SM_RESP:  # the hot path: ~1 per part sent
            end = raw.find(b"\0", 16)
            return SubmitResp(status, sequence, raw[16 : end if end >= 0 else length])
        pdu = smpplib.smpp.parse_pdu(raw, client=self, allow_unknown_opt_params=self.allow_unknown_opt_params)
        if not pdu.is_error() and pdu.command in C.STATE_SETTERS:
            self.state = C.STATE_SETTERS[pdu.command]
        return pdu

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
