"""Languages and follow-ups: network.language, alert_text versions, delivery.language, alert.follow_up_of
and the closing-message reminder's dismissal.

Alerts sent before this revision count as dismissed: an upgrade must not greet the dispatcher with a
reminder for every urgent alert ever sent.

On SQLite the foreign key on alert.follow_up_of makes Alembic recreate alert (batch mode). That is safe
only with foreign keys off, as data/schema.py runs every migration: with them on, DROP TABLE alert
deleted every delivery, delivery_part and alert_network row and nulled reply.alert_id. The batch table
keeps the constraint's name and ON DELETE SET NULL where a later batch migration reflects them (a native
ADD COLUMN ... REFERENCES would not: SQLAlchemy reflects an inline reference with neither).

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
    # network and delivery (parents of other tables) gain their columns by a native ADD COLUMN
    op.add_column(
        "network", sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False, server_default="")
    )
    op.add_column(
        "delivery", sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False, server_default="")
    )
    # The foreign key makes SQLite recreate alert (copy, DROP TABLE alert, rename): safe only with foreign
    # keys off, else the DROP deletes every delivery, part, alert_network and nulls reply.alert_id.
    _refuse_with_sqlite_foreign_keys_on("alert")
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
    _refuse_with_sqlite_foreign_keys_on("alert")
    with op.batch_alter_table("alert") as batch:
        batch.drop_index("ix_alert_follow_up_of")
        batch.drop_constraint("fk_alert_follow_up_of_alert", type_="foreignkey")
        batch.drop_column("reminder_dismissed_by")
        batch.drop_column("reminder_dismissed_at")
        batch.drop_column("follow_up_of")
    if op.get_bind().dialect.name == "sqlite":
        # native DROP COLUMN (SQLite 3.35): no need to recreate these two parent tables
        op.execute("ALTER TABLE delivery DROP COLUMN language")
        op.execute("ALTER TABLE network DROP COLUMN language")
    else:
        op.drop_column("delivery", "language")
        op.drop_column("network", "language")


def _refuse_with_sqlite_foreign_keys_on(table: str) -> None:
    """A batch migration recreates `table` on SQLite; with foreign keys on, its DROP TABLE cascades to
    every table referencing it. `bin-console db upgrade` (data/schema.py) turns them off first; a
    migration run any other way with them on stops here instead of deleting rows."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            f"revision 0008 recreates table {table}: SQLite's foreign keys must be off, or every row referencing "
            f"{table} is deleted; run it through `bin-console db upgrade` (data/schema.py)"
        )
