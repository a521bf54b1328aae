"""sender_status.rate_tps: the send rate the sender's flow control learnt, for the status line.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sender_status") as batch:
        batch.add_column(sa.Column("rate_tps", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sender_status") as batch:
        batch.drop_column("rate_tps")
