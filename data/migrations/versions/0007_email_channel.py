"""E-mail channel: unsubscribe tokens, IMAP read position, e-mail replies (From address, Message-ID).

A downgrade keeps every reply: the From address of an e-mail reply does not fit 0006's 20-character
reply.source (PostgreSQL refuses to narrow the column over it), so it is cut to its first 20 characters
first; the reply's text, time and links stay. Which replies came by e-mail is lost with the channel
column.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_email_token",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=43), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name="fk_member_email_token_member_id_member", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_member_email_token"),
        sa.UniqueConstraint("token", name="uq_member_email_token_token"),
    )
    op.create_table(
        "imap_state",
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=False),
        sa.Column("last_uid", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", name="pk_imap_state"),
    )
    with op.batch_alter_table("reply") as batch:
        batch.alter_column(
            "source",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
            type_=sqlmodel.sql.sqltypes.AutoString(length=254),
            existing_nullable=False,
        )
        batch.add_column(
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default="sms")
        )
        batch.add_column(sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=True))
        batch.create_index("ix_reply_message_id", ["message_id"], unique=False)


def downgrade() -> None:
    op.execute("UPDATE reply SET source = substr(source, 1, 20) WHERE length(source) > 20")
    with op.batch_alter_table("reply") as batch:
        batch.drop_index("ix_reply_message_id")
        batch.drop_column("message_id")
        batch.drop_column("channel")
        batch.alter_column(
            "source",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=254),
            type_=sqlmodel.sql.sqltypes.AutoString(length=20),
            existing_nullable=False,
        )
    op.drop_table("imap_state")
    op.drop_table("member_email_token")
