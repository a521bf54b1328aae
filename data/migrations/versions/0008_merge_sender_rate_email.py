"""Merge the two heads made in parallel: 0006 (sender_status.rate_tps) and 0007 (the e-mail channel).

Both branches started from the schema of 0004/0005 and touch different tables, so joining them
needs no schema change; without this revision `alembic upgrade head` refuses (two heads).

Revision ID: 0008
Revises: 0006, 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = ("0006", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
