"""The smpplib Client as the sender uses it, plus the SMPP 3.4 status table and submit-field helpers.

smpplib traps (shared notes/smpplib.md §0) handled here: unknown TLVs are tolerated
(``allow_unknown_opt_params=True`` given to the Client), no handler ever raises (the default error
handler would kill the read loop on one ESME_RTHROTTLED), an SMSC ``unbind`` is answered, and the
per-instance logger is pinned to INFO because smpplib's DEBUG output dumps every PDU in hex,
the bind PDU with its password included. One Client per connection attempt (trap f).
"""

from __future__ import annotations

import logging
import socket
import struct
from datetime import UTC, datetime, timedelta

import smpplib.client
import smpplib.consts as C
import smpplib.smpp

WIRE_LOGGER = "bin_console.smpp.wire"
logging.getLogger(WIRE_LOGGER).setLevel(logging.INFO)  # never DEBUG: PDU dumps hold the password

# --- status codes ------------------------------------------------------------------------------

THROTTLE = frozenset({C.SMPP_ESME_RTHROTTLED, C.SMPP_ESME_RMSGQFUL})
TRANSIENT = frozenset(
    {
        C.SMPP_ESME_RSYSERR,
        C.SMPP_ESME_RINVBNDSTS,  # the session is in a bad state: resubmit on a fresh bind
        C.SMPP_ESME_RX_T_APPN,
        C.SMPP_ESME_RINVSCHED,
        C.SMPP_ESME_RUNKNOWNERR,
    }
)
# RBINDFAIL is not here: SMSCs send it for passing states too (session limit reached, maintenance)
BIND_CONFIG = frozenset({C.SMPP_ESME_RINVPASWD, C.SMPP_ESME_RINVSYSID})
BIND_TRANSIENT = frozenset({C.SMPP_ESME_RALYBND, C.SMPP_ESME_RSYSERR, C.SMPP_ESME_RTHROTTLED, C.SMPP_ESME_RBINDFAIL})

# Readable meanings for the dispatcher (smpplib's DESCRIPTIONS are terse and some are missing).
_MEANING = {
    C.SMPP_ESME_RINVMSGLEN: "message length invalid",
    C.SMPP_ESME_RINVCMDLEN: "command length invalid",
    C.SMPP_ESME_RINVCMDID: "invalid command",
    C.SMPP_ESME_RINVBNDSTS: "not bound for this command",
    C.SMPP_ESME_RALYBND: "already bound (the SMSC still holds an old session)",
    C.SMPP_ESME_RINVPRTFLG: "invalid priority flag",
    C.SMPP_ESME_RINVREGDLVFLG: "invalid registered-delivery flag",
    C.SMPP_ESME_RSYSERR: "SMSC system error",
    C.SMPP_ESME_RINVSRCADR: "sender (source address) refused",
    C.SMPP_ESME_RINVDSTADR: "invalid destination number",
    C.SMPP_ESME_RINVMSGID: "invalid message id",
    C.SMPP_ESME_RBINDFAIL: "bind refused",
    C.SMPP_ESME_RINVPASWD: "wrong password",
    C.SMPP_ESME_RINVSYSID: "unknown system_id",
    C.SMPP_ESME_RMSGQFUL: "SMSC queue full",
    C.SMPP_ESME_RINVSERTYP: "invalid service type",
    C.SMPP_ESME_RINVESMCLASS: "invalid esm_class",
    C.SMPP_ESME_RSUBMITFAIL: "submit failed (SMSC refused the message)",
    C.SMPP_ESME_RINVSRCTON: "invalid sender TON",
    C.SMPP_ESME_RINVSRCNPI: "invalid sender NPI",
    C.SMPP_ESME_RINVDSTTON: "invalid destination TON",
    C.SMPP_ESME_RINVDSTNPI: "invalid destination NPI",
    C.SMPP_ESME_RINVSYSTYP: "invalid system_type",
    C.SMPP_ESME_RTHROTTLED: "throttled (sending faster than the contract allows)",
    C.SMPP_ESME_RINVSCHED: "invalid scheduled delivery time",
    C.SMPP_ESME_RINVEXPIRY: "invalid validity period",
    C.SMPP_ESME_RX_T_APPN: "temporary application error",
    C.SMPP_ESME_RX_P_APPN: "permanent application error",
    C.SMPP_ESME_RX_R_APPN: "message rejected by the SMSC application",
    C.SMPP_ESME_RINVOPTPARSTREAM: "error in optional parameters",
    C.SMPP_ESME_ROPTPARNOTALLWD: "optional parameter not allowed",
    C.SMPP_ESME_RINVPARLEN: "invalid parameter length",
    C.SMPP_ESME_RMISSINGOPTPARAM: "optional parameter missing",
    C.SMPP_ESME_RINVOPTPARAMVAL: "invalid optional parameter value",
    C.SMPP_ESME_RDELIVERYFAILURE: "delivery failure",
    C.SMPP_ESME_RUNKNOWNERR: "unknown SMSC error",
}


def status_name(status: int) -> str:
    for name in dir(C):
        if name.startswith("SMPP_ESME_") and getattr(C, name) == status:
            return name[len("SMPP_") :]
    return f"0x{status:08X}"


def status_meaning(status: int) -> str:
    """'ESME_RINVDSTADR (0x0B): invalid destination number' — short enough for delivery.error."""
    text = _MEANING.get(status) or C.DESCRIPTIONS.get(status, "unknown status")
    return f"{status_name(status)} (0x{status:02X}): {text}"[:200]


def classify(status: int) -> str:
    """'ok' | 'throttle' | 'transient' | 'permanent' for a submit_sm_resp / generic_nack status."""
    if status == C.SMPP_ESME_ROK:
        return "ok"
    if status in THROTTLE:
        return "throttle"
    if status in TRANSIENT:
        return "transient"
    return "permanent"


# --- submit_sm fields -----------------------------------------------------------------------------


def source_fields(sender: str) -> dict:
    """Alphanumeric sender (<= 11 chars, not all digits): TON 5 / NPI 0; else international number."""
    s = (sender or "").strip()
    digits = s.lstrip("+")
    if digits.isdigit():
        return {"source_addr": digits, "source_addr_ton": C.SMPP_TON_INTL, "source_addr_npi": C.SMPP_NPI_ISDN}
    return {"source_addr": s[:11], "source_addr_ton": C.SMPP_TON_ALNUM, "source_addr_npi": C.SMPP_NPI_UNK}


def destination(address: str) -> str:
    """E.164 '+32475123456' -> '32475123456' (international, TON 1 / NPI 1, no '+')."""
    return address.strip().lstrip("+")


def relative_validity(minutes: float) -> str:
    """SMPP 3.4 relative time 'YYMMDDhhmmss000R' for a duration (at least one minute)."""
    total = max(60, int(minutes * 60))
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    mins, secs = divmod(rem, 60)
    years, days = divmod(days, 365)
    months, days = divmod(days, 30)
    return f"{min(years, 99):02d}{months:02d}{days:02d}{hours:02d}{mins:02d}{secs:02d}000R"


def absolute_validity(when: datetime) -> str:
    """SMPP 3.4 §7.1.1 absolute time 'YYMMDDhhmmsstnnp' in UTC: tenths 0, nn = 00 quarter hours
    from UTC, p '+'. Seconds are cut, never rounded up."""
    when = when.astimezone(UTC) if when.tzinfo is not None else when
    return when.strftime("%y%m%d%H%M%S") + "000+"


def validity_for(validity_minutes: float, expires_at: datetime | None, now: datetime) -> str:
    """Validity never beyond the alert's expiry: the SMSC drops a stale alert too. Absolute, so
    the SMSC cannot deliver it after expires_at (a relative time has whole minutes at best and
    was rounded up to one)."""
    until = now + timedelta(minutes=float(validity_minutes))
    if expires_at is not None:
        exp = expires_at if expires_at.tzinfo is not None else expires_at.replace(tzinfo=UTC)
        until = min(until, exp)
    return absolute_validity(until)


# --- the client -------------------------------------------------------------------------------------


class SmppLink(smpplib.client.Client):
    """A Client for one connection attempt, driven by SenderRunner's select loop (never read_once)."""

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


# --- fast submit_sm encoder -------------------------------------------------------------------------
# smpplib builds a PDU through generic per-field reflection (~0.3 ms a PDU, the sender's hottest
# path). submit_sm's mandatory body is fixed (SMPP 3.4 §4.4.1), so it is packed directly here;
# tests/test_sender.py checks it is byte-identical to smpplib's generate() for the same fields.

_SUBMIT_SM = 0x00000004


def _cstr(value: str, max_len: int) -> bytes:
    return value.encode("latin-1")[: max_len - 1] + b"\0"


def encode_submit_sm(
    sequence: int,
    *,
    source_addr: str,
    source_addr_ton: int,
    source_addr_npi: int,
    destination_addr: str,
    short_message: bytes,
    dest_addr_ton: int = 1,
    dest_addr_npi: int = 1,
    esm_class: int = 0,
    priority_flag: int = 0,
    validity_period: str = "",
    registered_delivery: int = 0,
    data_coding: int = 0,
    service_type: str = "",
) -> bytes:
    if len(short_message) > 254:
        raise ValueError("short_message longer than 254 octets: split it (encoding.encode)")
    body = b"".join(
        (
            _cstr(service_type, 6),
            bytes((source_addr_ton, source_addr_npi)),
            _cstr(source_addr, 21),
            bytes((dest_addr_ton, dest_addr_npi)),
            _cstr(destination_addr, 21),
            bytes((esm_class, 0, priority_flag)),  # esm_class, protocol_id, priority_flag
            b"\0",  # schedule_delivery_time: immediate
            _cstr(validity_period, 17),
            bytes((registered_delivery, 0, data_coding, 0, len(short_message))),
            short_message,
        )
    )
    return struct.pack(">IIII", 16 + len(body), _SUBMIT_SM, 0, sequence) + body
