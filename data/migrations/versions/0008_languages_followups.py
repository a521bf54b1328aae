"""Languages and follow-ups: network.language, alert_text versions, delivery.language, alert.follow_up_of
and the closing-message reminder's dismissal.

Alerts sent before this revision count as dismissed: an upgrade must not greet the dispatcher with a
reminder for every urgent alert ever sent.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("network") as batch:
        batch.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False, server_default="")
        )
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False, server_default="")
        )
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("follow_up_of", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reminder_dismissed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("reminder_dismissed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.create_foreign_key("fk_alert_follow_up_of_alert", "alert", ["follow_up_of"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_alert_follow_up_of", ["follow_up_of"], unique=False)
    op.create_table(
        "alert_text",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("parts_per_sms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], name="fk_alert_text_alert_id_alert", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alert_id", "language", name="pk_alert_text"),
    )
    alert = sa.table(
        "alert",
        sa.column("urgency", sa.String),
        sa.column("reminder_dismissed_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("reminder_dismissed_by", sa.String),
    )
    op.execute(
        alert.update()
        .where(alert.c.urgency == "urgent")
        .values(reminder_dismissed_at=datetime.now(UTC), reminder_dismissed_by="upgrade 0008")
    )


def downgrade() -> None:
    op.drop_table("alert_text")
    if op.get_bind().dialect.name == "sqlite":
        # Batch mode would recreate alert, delivery and network, and dropping the old table cascades
        # (foreign keys are on): every delivery, part and street would go. Native DROP COLUMN keeps
        # the rows; a column in a foreign key cannot be dropped that way, so follow_up_of stays
        # (unused by 0007's code, NULL for every alert that is not a follow-up).
        op.drop_index("ix_alert_follow_up_of", table_name="alert")
        for table, column in (
            ("alert", "reminder_dismissed_by"),
            ("alert", "reminder_dismissed_at"),
            ("delivery", "language"),
            ("network", "language"),
        ):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        return
    with op.batch_alter_table("alert") as batch:
        batch.drop_index("ix_alert_follow_up_of")
        batch.drop_constraint("fk_alert_follow_up_of_alert", type_="foreignkey")
        batch.drop_column("reminder_dismissed_by")
        batch.drop_column("reminder_dismissed_at")
        batch.drop_column("follow_up_of")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("network") as batch:
        batch.drop_column("language")
