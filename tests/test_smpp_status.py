"""SMPP status meanings and submit fields (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bin_console.channels.smpp.status import BIND_CONFIG, BIND_TRANSIENT, classify
from bin_console.channels.smpp.submit_sm import validity_for


def test_rbindfail_is_temporary_not_a_config_error():
    assert 0x0D not in BIND_CONFIG and 0x0D in BIND_TRANSIENT  # ESME_RBINDFAIL
    assert {0x0E, 0x0F} <= BIND_CONFIG  # wrong password / unknown system_id: the operator must act


def test_throttle_and_queue_full_are_throttles_bad_destination_is_permanent():
    got = [classify(c) for c in (0, 0x58, 0x14, 0x08, 0x0B)]
    assert got == ["ok", "throttle", "throttle", "transient", "permanent"]


def test_validity_is_absolute_utc_and_never_after_the_expiry():
    now = datetime(2026, 3, 5, 14, 7, 9, 900000, tzinfo=UTC)
    # 30 s left: the old relative form said "1 minute" (live 30 s after expiry)
    assert validity_for(60, now + timedelta(seconds=30.9), now) == "260305140740000+"  # 14:07:40.8 cut to :40
    assert validity_for(2, None, now) == "260305140909000+"
    brussels = timezone(timedelta(hours=1))
    assert validity_for(60, datetime(2026, 3, 5, 15, 30, tzinfo=brussels), now) == "260305143000000+"
