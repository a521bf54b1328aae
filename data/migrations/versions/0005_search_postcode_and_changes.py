"""Search: the matched street's postcode, Z-BIN kind terms, a change log for in-memory matchers, and
covering member indexes for the member list filters.

search_term.postcode lets a hit say which postcode its street is in; search_index_change lists every
network whose terms were rewritten, so each process's fuzzy matcher reloads only those. The terms of
every network are rebuilt here (same transaction), which fills the postcodes and the kind terms.
ix_member_network_name / ix_member_network_street gain the sort key and status, so the member list's
name, street and status filters read the index alone (data/members.py); ix_search_term_term gains
weight and is_start, so a broad search prefix is scored from the index alone (data/networks.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("search_term") as batch:
        batch.add_column(
            sa.Column("postcode", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default="")
        )
    op.create_table(
        "search_index_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_index_change")),
        sqlite_autoincrement=True,
    )
    _member_indexes(
        name=["network_id", "name_key", "id", "status"],
        street=["network_id", "street_key", "name_key", "id", "status"],
    )
    _term_index(["term", "network_id", "weight", "is_start"])
    # Data step: today's rebuild_terms writes exactly the columns this revision leaves. A later revision
    # that changes search_term must take this step over (as this one took it from 0003).
    from bin_console.data.search_index import rebuild_terms

    bind = op.get_bind()
    ids = [r[0] for r in bind.execute(sa.text("SELECT id FROM network"))]
    rebuild_terms(Session(bind=bind), ids)


def _member_indexes(*, name: list[str], street: list[str]) -> None:
    op.drop_index("ix_member_network_name", table_name="member")
    op.create_index("ix_member_network_name", "member", name, unique=False)
    op.drop_index("ix_member_network_street", table_name="member")
    op.create_index("ix_member_network_street", "member", street, unique=False)


def _term_index(columns: list[str]) -> None:
    op.drop_index("ix_search_term_term", table_name="search_term")
    op.create_index("ix_search_term_term", "search_term", columns, unique=False)


def downgrade() -> None:
    _term_index(["term", "network_id"])
    _member_indexes(name=["network_id", "name_key", "id"], street=["network_id", "street_key"])
    op.drop_table("search_index_change")
    with op.batch_alter_table("search_term") as batch:
        batch.drop_column("postcode")
