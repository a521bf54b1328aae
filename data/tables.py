"""The models' Core tables, typed, for bulk SQL (executemany inserts and updates on the Table).

SQLModel sets `__table__` on every table model when the class is made, but declares it to no type
checker, so each is read here once with the one ignore that gap needs.
"""

from __future__ import annotations

from sqlalchemy import Table

from .models import (
    Alert,
    AlertText,
    Delivery,
    DeliveryPart,
    Member,
    MemberEmailToken,
    MoFragment,
    NetworkStreet,
    ReceiptOrphan,
)

ALERT: Table = Alert.__table__  # type: ignore[attr-defined]
ALERT_TEXT: Table = AlertText.__table__  # type: ignore[attr-defined]
DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]
DELIVERY_PART: Table = DeliveryPart.__table__  # type: ignore[attr-defined]
MEMBER: Table = Member.__table__  # type: ignore[attr-defined]
MEMBER_EMAIL_TOKEN: Table = MemberEmailToken.__table__  # type: ignore[attr-defined]
MO_FRAGMENT: Table = MoFragment.__table__  # type: ignore[attr-defined]
NETWORK_STREET: Table = NetworkStreet.__table__  # type: ignore[attr-defined]
RECEIPT_ORPHAN: Table = ReceiptOrphan.__table__  # type: ignore[attr-defined]
