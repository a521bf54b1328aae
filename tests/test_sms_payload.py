"""The SMS channel builds each part's bytes from a claimed outbox row (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bin_console.alerts.outbox import ClaimedRow
from bin_console.channels.smpp.payload import PartCountMismatch, build


def _row(text: str, parts_total: int, *, ref: int | None = 7, acked: frozenset[int] = frozenset()) -> ClaimedRow:
    return ClaimedRow(
        delivery_id=1,
        alert_id=1,
        channel="sms",
        address="+32470000000",
        text=text,
        language="nl",
        attempts=1,
        possible_duplicate=False,
        expires_at=datetime(2026, 12, 1, tzinfo=UTC),
        urgent=True,
        sender="ZONE5415",
        parts_total=parts_total,
        acked_parts=acked,
        concat_ref=ref,
    )


def test_long_gsm_text_gets_concatenation_udh_with_the_rows_reference():
    work = build(_row("x" * 200, 2, acked=frozenset({1})))
    assert work.destination == "32470000000" and work.data_coding == 0 and work.esm_class == 0x40
    assert [p[:6] for p in work.parts] == [bytes([5, 0, 3, 7, 2, 1]), bytes([5, 0, 3, 7, 2, 2])]
    assert work.parts_to_send() == [2]


def test_single_ucs2_part_has_no_udh():
    work = build(_row("Zoë is gezien", 1, ref=None))
    assert work.data_coding == 8 and work.esm_class == 0 and work.parts == ("Zoë is gezien".encode("utf-16-be"),)


def test_a_row_whose_part_count_disagrees_is_refused():
    with pytest.raises(PartCountMismatch):
        build(_row("x" * 200, 1))
