"""submit_sm fields (source and destination addressing, validity) and a fast submit_sm encoder."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import smpplib.consts as C


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
