"""search_term.is_start: rank without re-folding every matched label (the index is rebuilt by 0005).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("search_term") as batch:
        batch.add_column(sa.Column("is_start", sa.Boolean(), nullable=False, server_default=sa.false()))
    # No data step here: rebuild_terms is today's code and writes columns later revisions add, so the
    # terms are rebuilt by 0005, the revision that last changed what the index holds.


def downgrade() -> None:
    with op.batch_alter_table("search_term") as batch:
        batch.drop_column("is_start")
