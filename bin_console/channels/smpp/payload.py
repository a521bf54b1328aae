"""SMS payloads: a claimed outbox row -> the short_message of each part (GSM-7 / UCS-2, UDH).

The persistence layer hands out plain rows (bin_console.alerts.outbox.ClaimedRow); building the bytes
is the SMS channel's job. The part count of a row was fixed at create time from the same
encoder (alerts.create_alert -> encoding.analyse), and the concatenation reference by the claim.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from bin_console.alerts.outbox import ClaimedRow
from bin_console.channels.smpp.encoding import EncodedSms, add_udh, encode


class PartCountMismatch(ValueError):
    """The text now encodes to another number of parts than the row was created with."""


@dataclass(frozen=True)
class SmsWork:
    """One claimed SMS delivery, ready to submit."""

    row: ClaimedRow
    destination: str  # "32475123456" (international, no "+")
    data_coding: int
    parts: tuple[bytes, ...]  # full short_message per part, UDH included when there are several

    @property
    def delivery_id(self) -> int:
        return self.row.delivery_id

    @property
    def esm_class(self) -> int:
        return 0x40 if len(self.parts) > 1 else 0

    @property
    def expires_at(self) -> datetime | None:
        return self.row.expires_at

    def parts_to_send(self) -> list[int]:
        return self.row.parts_to_send()


@functools.lru_cache(maxsize=256)
def _encoded(text: str) -> EncodedSms:
    # one alert's text is built for every recipient: encode it once
    return encode(text)


def build(row: ClaimedRow) -> SmsWork:
    """Raises PartCountMismatch (the row's parts_total and acked parts would not fit)."""
    enc = _encoded(row.text)
    if len(enc.parts) != row.parts_total:
        raise PartCountMismatch(f"text encodes to {len(enc.parts)} parts, the row has {row.parts_total}")
    parts = add_udh(enc.parts, row.concat_ref or 0) if len(enc.parts) > 1 else enc.parts
    return SmsWork(
        row=row, destination=row.address.strip().lstrip("+"), data_coding=enc.data_coding, parts=tuple(parts)
    )
