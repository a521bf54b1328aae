"""Folded search keys compare byte-wise on PostgreSQL; index for landline lookups.

Prefix lookups on folded keys are range scans (key >= q AND key < q || U+FFFF). Under a
locale collation (en_US, nl_BE) PostgreSQL orders spaces and punctuation by language rules, so
the range can miss keys that start with q. COLLATE "C" makes the order byte-wise, on any server.
SQLite already compares byte-wise (BINARY): nothing to do there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, length)
FOLDED_KEYS = [
    ("network", "name_key", 120),
    ("network_street", "street_key", 120),
    ("search_term", "term", 160),
    ("member", "name_key", 120),
    ("member", "street_key", 120),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length in FOLDED_KEYS:
            op.alter_column(
                table,
                column,
                type_=sa.String(length, collation="C"),
                existing_type=sa.String(length),
                existing_nullable=False,
                postgresql_using=f'{column} COLLATE "C"',
            )
    op.create_index("ix_member_network_landline", "member", ["network_id", "landline"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_member_network_landline", table_name="member")
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length in FOLDED_KEYS:
            op.alter_column(
                table,
                column,
                type_=sa.String(length),
                existing_type=sa.String(length, collation="C"),
                existing_nullable=False,
            )
