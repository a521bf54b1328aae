"""Index deliveries by address: a reply is linked to the latest alert that number received.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_delivery_address", "delivery", ["address", "alert_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_delivery_address", table_name="delivery")
