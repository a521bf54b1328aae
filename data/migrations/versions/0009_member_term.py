"""Member name word-start index: table member_term, kept current by triggers on member.

The name filter's later-word test ("bos" finds "Jan Van den Bossche") scanned every member of the
network (instr over ix_member_network_name); with one row per later word it is a range scan. The
triggers fill it from every write to member (insert, delete, a change of name_key, network_id or
status), so no writer can forget it: the console, the importer's executemany, the demo, tests.

A folded name_key is a-z, 0-9 and single spaces; a term is the key from the character after a space
to its end. SQLite (no series function inside a trigger) enumerates the key's positions with
json_each over an array of length(name_key) + 1 zeros; PostgreSQL uses generate_series, once per
statement for inserts and deletes.

SQLite batch mode recreates a table and drops its triggers: a later migration that batch-alters
member must call create_triggers() from here again (tests/test_member_terms.py checks they exist).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "network_id, term, member_id, name_key, status, street_key"


def _sqlite_positions(row: str) -> str:
    """FROM/WHERE selecting p.key for every space of row.name_key that a word follows (0-based)."""
    return (
        f"FROM json_each('[' || replace(hex(zeroblob(length({row}.name_key))), '00', '0,') || '0]') AS p "
        f"WHERE substr({row}.name_key, p.key + 1, 1) = ' ' AND p.key + 1 < length({row}.name_key)"
    )


def _sqlite_insert(row: str) -> str:
    return (
        f"INSERT INTO member_term ({_COLUMNS}) SELECT {row}.network_id, substr({row}.name_key, p.key + 2), "
        f"{row}.id, {row}.name_key, {row}.status, {row}.street_key {_sqlite_positions(row)}"
    )


def _sqlite_delete(row: str) -> str:
    return (
        f"DELETE FROM member_term WHERE network_id = {row}.network_id AND member_id = {row}.id AND term IN "
        f"(SELECT substr({row}.name_key, p.key + 2) {_sqlite_positions(row)})"
    )


def _pg_terms(row: str) -> str:
    return f"FROM generate_series(1, length({row}.name_key) - 1) AS p WHERE substr({row}.name_key, p, 1) = ' '"


_PG_FUNCTION = f"""
CREATE FUNCTION member_term_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM member_term WHERE network_id = OLD.network_id AND member_id = OLD.id
        AND term IN (SELECT substr(OLD.name_key, p + 1) {_pg_terms("OLD")});
    INSERT INTO member_term ({_COLUMNS})
        SELECT NEW.network_id, substr(NEW.name_key, p + 1), NEW.id, NEW.name_key, NEW.status, NEW.street_key
        {_pg_terms("NEW")};
    RETURN NULL;
END
$$
"""

# Inserts and deletes are set-based, once per statement over its transition table: a row-level
# plpgsql call per member doubled the time of a 50,000-row import. An update keeps the row trigger:
# PostgreSQL allows no transition table with a column list, and its WHEN skips unchanged rows.
_PG_ROWS = (
    "FROM {rows} AS r CROSS JOIN LATERAL generate_series(1, length(r.name_key) - 1) AS p "
    "WHERE substr(r.name_key, p, 1) = ' '"
)
_PG_STATEMENT_FUNCTIONS = (
    f"""
CREATE FUNCTION member_term_insert_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_term ({_COLUMNS})
        SELECT r.network_id, substr(r.name_key, p + 1), r.id, r.name_key, r.status, r.street_key
        {_PG_ROWS.format(rows="new_rows")};
    RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION member_term_delete_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM member_term AS t USING (
        SELECT r.network_id, r.id, substr(r.name_key, p + 1) AS term {_PG_ROWS.format(rows="old_rows")}
    ) AS d WHERE t.network_id = d.network_id AND t.term = d.term AND t.member_id = d.id;
    RETURN NULL;
END
$$
""",
)
_PG_FUNCTIONS = ("member_term_sync", "member_term_insert_rows", "member_term_delete_rows")

_CHANGED = (
    "OLD.id IS NOT NEW.id OR OLD.network_id IS NOT NEW.network_id OR OLD.name_key IS NOT NEW.name_key "
    "OR OLD.status IS NOT NEW.status OR OLD.street_key IS NOT NEW.street_key"
)
TRIGGERS = ("member_term_insert", "member_term_delete", "member_term_update")


def create_triggers() -> None:
    """The triggers that keep member_term current (also for a later migration that recreates member)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE TRIGGER member_term_insert AFTER INSERT ON member BEGIN {_sqlite_insert('NEW')}; END")
        op.execute(f"CREATE TRIGGER member_term_delete AFTER DELETE ON member BEGIN {_sqlite_delete('OLD')}; END")
        op.execute(
            "CREATE TRIGGER member_term_update AFTER UPDATE OF id, network_id, name_key, status, street_key ON member "
            f"WHEN {_CHANGED} BEGIN {_sqlite_delete('OLD')}; {_sqlite_insert('NEW')}; END"
        )
        return
    op.execute(_PG_FUNCTION)
    for sql in _PG_STATEMENT_FUNCTIONS:
        op.execute(sql)
    op.execute(
        "CREATE TRIGGER member_term_insert AFTER INSERT ON member REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION member_term_insert_rows()"
    )
    op.execute(
        "CREATE TRIGGER member_term_delete AFTER DELETE ON member REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION member_term_delete_rows()"
    )
    op.execute(
        "CREATE TRIGGER member_term_update AFTER UPDATE OF id, network_id, name_key, status, street_key ON member "
        f"FOR EACH ROW WHEN ({_CHANGED.replace('IS NOT', 'IS DISTINCT FROM')}) EXECUTE FUNCTION member_term_sync()"
    )


def drop_triggers() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else " ON member"))
    if not sqlite:
        for name in _PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def _folded_key() -> sa.types.TypeEngine:
    """As models.folded_key: byte order on PostgreSQL, so prefix range scans are correct."""
    return sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "member_term",
        sa.Column("network_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("term", _folded_key(), nullable=False),
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name_key", _folded_key(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("street_key", _folded_key(), nullable=False),
        sa.PrimaryKeyConstraint("network_id", "term", "member_id", name="pk_member_term"),
        sqlite_with_rowid=False,
    )
    # the members already stored, in one statement
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"INSERT INTO member_term ({_COLUMNS}) SELECT m.network_id, substr(m.name_key, p.key + 2), m.id, "
            "m.name_key, m.status, m.street_key FROM member AS m, " + _sqlite_positions("m").replace("FROM ", "", 1)
        )
    else:
        op.execute(
            f"INSERT INTO member_term ({_COLUMNS}) SELECT m.network_id, substr(m.name_key, p + 1), m.id, m.name_key, "
            "m.status, m.street_key FROM member AS m "
            "CROSS JOIN LATERAL generate_series(1, length(m.name_key) - 1) AS p WHERE substr(m.name_key, p, 1) = ' '"
        )
    create_triggers()
    # street_key in the name index: the name filter learns which of its members the street matches
    _name_index(["network_id", "name_key", "id", "status", "street_key"])


def _name_index(columns: list[str]) -> None:
    op.drop_index("ix_member_network_name", table_name="member")
    op.create_index("ix_member_network_name", "member", columns, unique=False)


def downgrade() -> None:
    _name_index(["network_id", "name_key", "id", "status"])
    drop_triggers()
    op.drop_table("member_term")
