"""search_term.is_start: rank without re-folding every matched label; rebuild the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("search_term") as batch:
        batch.add_column(sa.Column("is_start", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Data step: existing rows do not know their position; rebuild them (same transaction).
    from bin_console.data.search_index import rebuild_terms

    bind = op.get_bind()
    ids = [r[0] for r in bind.execute(sa.text("SELECT id FROM network"))]
    rebuild_terms(Session(bind=bind), ids)


def downgrade() -> None:
    with op.batch_alter_table("search_term") as batch:
        batch.drop_column("is_start")
